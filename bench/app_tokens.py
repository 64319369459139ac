"""What an app's OAuth token costs on the API: requests/s of GET /api/v1/devices/{id} with a personal access token
and with an app's access token (grant look-up, grant-narrowed device query, rate-limit windows, usage counting), in
the same run and server.

Starts `makercloud up` in a scratch data dir to set up a device through the API, stops it, adds an approved app, a
grant of the device and an access token for the same operator (directly in the database: the OAuth flow itself is
not what is measured), then serves the data dir with uvicorn (rate limits raised out of the way, so every request is
still counted against them) and hammers the URL with C keep-alive connections for S seconds per token.

    .venv/bin/python bench/app_tokens.py [--concurrency 32] [--seconds 5] [--postgres]
"""

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import time

from invocations_platform import BIN, POSTGRES, Platform, free_port, load, setup
from twin_reads import hammer

APP_SETUP = """
import json, secrets
from datetime import timedelta
from django.utils import timezone
from oauth2_provider.models import AccessToken, set_token_value
from makercloud.developers.models import Grant
from makercloud.developers.services import clients
from makercloud.devices.models import Device

device = Device.objects.get(pk=DEVICE)
person = device.organisation.memberships.order_by("id").first().person
app, _secret = clients.app_register(actor=person, venture=device.organisation, name="Bench app", client_type="public",
                                    redirect_uris=["http://127.0.0.1/cb"], scopes=["devices:read"])
clients.app_submit(actor=person, app=app)
clients.app_review(actor=person, app=app, decision="approve")
grant = Grant.objects.create(app=app, person=person, scopes=["devices:read"])
grant.devices.set([device])
raw = secrets.token_urlsafe(30)
token = AccessToken(user=person, application=app.application, scope="devices:read",
                    expires=timezone.now() + timedelta(hours=1))
set_token_value(token, raw)
token.save()
print(json.dumps({"token": raw, "app": app.pk}))
"""

COUNTED = """
from django.db.models import Sum
from makercloud.developers.models import AppUsage
print(AppUsage.objects.filter(app_id=APP).aggregate(calls=Sum("calls"))["calls"] or 0)
"""


def manage_shell(env: dict[str, str], code: str) -> str:
    done = subprocess.run([str(BIN / "makercloud"), "manage", "shell", "-c", code], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return done.stdout.strip().splitlines()[-1]


def wait_listening(port: int, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"uvicorn did not listen on {port}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--postgres", nargs="?", const=POSTGRES, help=f"a PostgreSQL server (default {POSTGRES})")
    args = parser.parse_args()
    platform = Platform(postgres=args.postgres)
    try:
        [(device_id, _secret)] = asyncio.run(setup(platform))
    finally:
        platform.process.terminate()
        platform.process.wait(10)
    made = json.loads(manage_shell(platform.env, APP_SETUP.replace("DEVICE", repr(device_id))))
    port = free_port()
    env = {**platform.env, "MAKERCLOUD_OAUTH_RATE_PER_TOKEN": "1000000000",
           "MAKERCLOUD_OAUTH_RATE_PER_APP": "1000000000"}
    server = subprocess.Popen([str(BIN / "uvicorn"), "makercloud.config.asgi:application", "--port", str(port),
                               "--lifespan", "off", "--log-level", "warning"], env=env)
    path = f"/api/v1/devices/{device_id}"
    results = {}
    try:
        wait_listening(port)
        for name, token in (("personal access token", platform.token), ("app token (OAuth grant)", made["token"])):
            asyncio.run(hammer(port, token, path, 4, 1))  # warm up
            results[name] = asyncio.run(hammer(port, token, path, args.concurrency, args.seconds))
        time.sleep(6)  # past the usage counters' flush interval
        asyncio.run(hammer(port, made["token"], path, 1, 0.2))  # one more call flushes what was counted
    finally:
        server.terminate()
        server.wait(10)
    counted = int(manage_shell(platform.env, COUNTED.replace("APP", str(made["app"]))))
    platform.stop()
    print(f"GET {path.replace(device_id, '{id}')}, {args.concurrency} keep-alive connections, {args.seconds:.0f} s "
          f"each, one uvicorn worker, {'PostgreSQL' if args.postgres else 'SQLite'}")
    for name, (rate, p50, errors) in results.items():
        print(f"  {name:26} {rate:7.0f} req/s  p50 {p50:.1f} ms  errors {errors}")
    ratio = results["app token (OAuth grant)"][0] / results["personal access token"][0]
    print(f"  app / personal = {ratio:.2f}; API calls counted in the app's usage: {counted}")
    print(f"  {load()}")
    sys.exit(0)


if __name__ == "__main__":
    main()
