"""Laundry assistant — a maker's app on makercloud: it tells you when your washer has finished.

    python assistant.py setup   --platform URL --maker-token PAT --venture "Laundry Lab"
    python assistant.py connect                  # a person authorises the app for their washer
    python assistant.py run                      # listen for webhooks; notify when a wash is done

`setup` registers the app (a public OAuth client: PKCE, no secret) and subscribes its webhook endpoint to
device.event and grant.revoked; `connect` prints the consent URL, waits on a local callback for the person's answer
and exchanges the code; `run` verifies every webhook's signature and, when a granted washer reports `cycleFinished`,
notifies its person. makercloud has no notification API for apps yet, so the assistant uses its own channel: a line
on stdout and in an inbox file. State (ids, the webhook secret, the tokens) is kept in a JSON file readable only by
you. See README.md.
"""

import argparse
import contextlib
import json
import os
import threading
from collections import deque
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from makercloud.sdk import ApiError, Client, OAuthFlow, Tokens, WebhookVerificationError, verify_webhook

SCOPES = ["devices:read", "events:subscribe"]  # only what it needs: see the washer, hear its events
FINISHED = "cycleFinished"  # the washer model's event (src/makercloud/web/demo_devices.json)


def say(line: str) -> None:
    print(line, flush=True)


# State ----------------------------------------------------------------------------------------------------------


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def save(path: Path, state: dict[str, Any]) -> None:
    path.touch(mode=0o600, exist_ok=True)  # it holds the webhook secret and the tokens
    path.write_text(json.dumps(state, indent=2))


def flow_of(state: dict[str, Any]) -> OAuthFlow:
    return OAuthFlow(state["platform"], client_id=state["client_id"], redirect_uri=state["redirect_uri"],
                     scopes=SCOPES)


# setup: register the app and its webhook endpoint (the maker) ------------------------------------------------


def setup(args: argparse.Namespace) -> None:
    with Client(args.platform, args.maker_token) as maker:
        venture_id = venture_id_of(maker, args.venture)
        redirect_uri = f"http://127.0.0.1:{args.callback_port}/callback"
        app = maker.apps.register(venture_id, name=args.name, redirect_uris=[redirect_uri], scopes=SCOPES,
                                  description="Tells you when your wash is done.")
        maker.apps.submit(app["id"])
        endpoint = maker.webhooks.create(app["id"], args.webhook_url, ["device.event", "grant.revoked"],
                                         description=args.name)
    save(args.state, {"platform": args.platform, "app_id": app["id"], "client_id": app["client_id"],
                      "redirect_uri": redirect_uri, "webhook_url": args.webhook_url, "webhook_secret":
                      endpoint.get("secret"), "tokens": None})
    say(f"Registered app {app['id']} (client id {app['client_id']}) and submitted it for review.")
    say(f"Webhooks for device.event and grant.revoked go to {args.webhook_url}.")
    say("Next: an operator approves it (Developers → Review), then run `connect`.")


def venture_id_of(maker: Client, venture: str) -> int:
    if venture.isdigit():
        return int(venture)
    for found in maker.pages("/ventures"):
        if found["name"] == venture:
            return int(found["id"])
    raise SystemExit(f"No venture named {venture!r}.")


# connect: the person's consent (the OAuth flow) ---------------------------------------------------------------


def connect(args: argparse.Namespace) -> None:
    state = load(args.state)
    flow = flow_of(state)
    request = flow.authorize()
    say("Open this address in a browser, sign in and choose your washer:")
    say(f"  {request.url}")
    callback = _one_callback(urlsplit(state["redirect_uri"]))
    try:
        tokens = flow.exchange(request, callback)
    except ApiError as error:
        raise SystemExit(f"Not connected: {error.detail} ({error.code})") from None
    state["tokens"] = tokens.to_dict()
    save(args.state, state)
    with Client(state["platform"], tokens.access_token) as app:
        washers = [device["name"] for device in app.devices.list()]
    say(f"Connected. The assistant sees: {', '.join(washers) or 'no device'}.")


def _one_callback(redirect: Any) -> str:
    """Serve the redirect URI until the browser comes back to it once; the full URL it came back to."""
    received: list[str] = []

    class Callback(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if urlsplit(self.path).path != redirect.path:
                self.send_error(404)
                return
            received.append(f"{redirect.scheme}://{redirect.netloc}{self.path}")
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.end_headers()
            self.wfile.write(b"Laundry assistant: you can close this window.\n")

        def log_message(self, *args: Any) -> None:
            pass

    with HTTPServer((redirect.hostname, redirect.port), Callback) as server:
        while not received:
            server.handle_request()
    return received[0]


# run: verified webhooks → notifications -----------------------------------------------------------------------


class Assistant:
    def __init__(self, state_path: Path, inbox: Path) -> None:
        self.state_path = state_path
        self.state = load(state_path)
        self.inbox = inbox
        self.seen: deque[str] = deque(maxlen=1000)  # deliveries are at least once: de-duplicate on webhook-id
        self.lock = threading.Lock()

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        """One webhook request → the HTTP status to answer."""
        try:
            event = verify_webhook(self.state["webhook_secret"], headers, body)
        except WebhookVerificationError as error:
            say(f"Refused a webhook that is not genuine: {error}")
            return 400
        with self.lock:
            if event["id"] in self.seen:
                return 204
            self.seen.append(event["id"])
            data = event["data"]
            if event["type"] == "device.event" and data.get("event") == FINISHED:
                self.notify(data["device_id"], data.get("data") or {})
            elif event["type"] == "grant.revoked":
                self.state["tokens"] = None
                save(self.state_path, self.state)
                say("The person disconnected the assistant: its tokens are forgotten.")
        return 204

    def notify(self, device_id: str, finished: dict[str, Any]) -> None:
        name = self._washer_name(device_id)
        programme = finished.get("programme") or "wash"
        minutes = f" after {finished['minutes']} minutes" if finished.get("minutes") is not None else ""
        text = f"Your {name} has finished its {programme} programme{minutes}: time to take the laundry out."
        say(f"NOTIFY {text}")
        with self.inbox.open("a", encoding="utf-8") as inbox:
            inbox.write(f"{datetime.now().astimezone().isoformat(timespec='seconds')} {text}\n")

    def _washer_name(self, device_id: str) -> str:
        """The washer's name from its twin, with the app's token (renewed and stored as it rotates)."""
        if not self.state.get("tokens"):
            return "washer"

        def keep(tokens: Tokens) -> None:
            self.state["tokens"] = tokens.to_dict()
            save(self.state_path, self.state)

        try:
            with Client.for_app(flow_of(self.state), Tokens.from_dict(self.state["tokens"]), on_refresh=keep) as app:
                return str(app.devices.get(device_id)["name"])
        except ApiError as error:
            say(f"(could not read the washer: {error})")
            return "washer"


def run(args: argparse.Namespace) -> None:
    assistant = Assistant(args.state, args.inbox)
    address = urlsplit(assistant.state["webhook_url"])

    class Webhooks(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(assistant.handle(dict(self.headers.items()), body))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    with HTTPServer((address.hostname or "127.0.0.1", address.port or 80), Webhooks) as server:
        say(f"Listening for webhooks on {assistant.state['webhook_url']}")
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C stops it
            server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Laundry assistant: tells you when your wash is done.")
    parser.add_argument("--state", type=Path, default=Path(os.environ.get("LAUNDRY_STATE", "laundry-assistant.json")))
    commands = parser.add_subparsers(dest="command", required=True)
    first = commands.add_parser("setup", help="register the app and its webhook endpoint (the maker)")
    first.add_argument("--platform", default="http://127.0.0.1:8000")
    first.add_argument("--maker-token", required=True, help="a personal access token with apps:write")
    first.add_argument("--venture", required=True, help="the venture's id or name")
    first.add_argument("--name", default="Laundry assistant (example)", help="the app's name on the consent screen")
    first.add_argument("--callback-port", type=int, default=8765)
    first.add_argument("--webhook-url", default="http://127.0.0.1:8766/webhooks")
    commands.add_parser("connect", help="a person authorises the app for their washer")
    listen = commands.add_parser("run", help="listen for webhooks and notify when a wash is done")
    listen.add_argument("--inbox", type=Path, default=Path("laundry-notifications.txt"))
    args = parser.parse_args(argv)
    {"setup": setup, "connect": connect, "run": run}[args.command](args)


if __name__ == "__main__":
    main()
