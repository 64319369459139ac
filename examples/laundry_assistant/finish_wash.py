"""Play a washer finishing its cycle: publish its `cycleFinished` event over MQTT, as the appliance would.

The demo's virtual washers send telemetry but no events, so this stands in for one. It needs the device's MQTT
password: the venture's maker rotates it (shown once), which takes the washer over from the demo's virtual appliance
until `make run` restarts.

    python finish_wash.py --platform URL --maker-token PAT --device "Family washer" \
        --mqtt mqtt://127.0.0.1:1883
"""

import argparse
import json
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from assistant import venture_id_of

from makercloud.sdk import Client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", default="http://127.0.0.1:8000")
    parser.add_argument("--maker-token", required=True, help="the venture's maker: devices:read, devices:manage")
    parser.add_argument("--venture", default="Laundry Lab", help="the venture's id or name")
    parser.add_argument("--device", required=True, help="the washer's id or name")
    parser.add_argument("--mqtt", default="mqtt://127.0.0.1:1883", help="the broker `makercloud up` printed")
    parser.add_argument("--programme", default="eco")
    parser.add_argument("--minutes", type=int, default=58)
    args = parser.parse_args()

    with Client(args.platform, args.maker_token) as maker:
        fleet = maker.pages(f"/ventures/{venture_id_of(maker, args.venture)}/devices")
        found = [d["id"] for d in fleet if args.device in (d["id"], d["name"])]
        if not found:
            raise SystemExit(f"The venture {args.venture!r} has no device {args.device!r}.")
        device_id = found[0]
        secret = maker.request("POST", f"/devices/{device_id}/secret")["secret"]

    broker = urlsplit(args.mqtt)
    washer = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=device_id, protocol=paho.MQTTv311)
    washer.username_pw_set(device_id, secret)
    washer.connect(broker.hostname or "127.0.0.1", broker.port or 1883)
    washer.loop_start()
    event = {"data": {"programme": args.programme, "minutes": args.minutes}}
    washer.publish(f"devices/{device_id}/events/cycleFinished", json.dumps(event), qos=1).wait_for_publish(10)
    washer.loop_stop()
    washer.disconnect()
    print(f"{device_id}: cycleFinished ({args.programme}, {args.minutes} min) sent.")


if __name__ == "__main__":
    main()
