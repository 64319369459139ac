"""The `makercloud` command (DESIGN §5)."""

import argparse
import os
import sys
from collections.abc import Sequence


def _setup(data_dir: str | None = None) -> None:
    if data_dir:
        os.environ["MAKERCLOUD_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "makercloud.config.settings.default")
    import django

    django.setup()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="makercloud", description="The makercloud open platform.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = commands.add_parser("up", help="run everything in one process on the embedded default")
    up.add_argument("--demo", action="store_true", help="seed the demo world (idempotent)")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=8000)
    up.add_argument(
        "--mqtt-port", type=int, default=None,
        help="embedded broker port; 0 picks a free one; default 1883, or a free one if 1883 is taken",
    )
    up.add_argument("--data-dir", default=None, help="where SQLite, jobs, mail and the secret key live")

    serve = commands.add_parser("serve", help="the web server and API only")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)

    gateway = commands.add_parser("gateway", help="the MQTT ingest gateway only (run N of them to scale out)")
    gateway.add_argument("--mqtt-url", default=None, help="the broker; default MAKERCLOUD_MQTT_URL")
    gateway.add_argument("--client-id", default="makercloud-gateway", help="fixed per process: its session")
    gateway.add_argument("--shared", action="store_true", help="MQTT 5 shared subscriptions ($share/makercloud/…)")
    gateway.add_argument("--batch-size", type=int, default=2000)
    gateway.add_argument("--rate-limit", type=float, default=20.0, help="messages/s per device, sustained")
    gateway.add_argument("--burst", type=float, default=200.0, help="messages per device in a burst")
    gateway.add_argument("--offline-after", type=float, default=300.0, help="seconds of silence until offline")
    gateway.add_argument("--mosquitto-dir", default=None, help="keep Mosquitto's password and ACL files here")
    gateway.add_argument("--mosquitto-pid", default=None, help="Mosquitto's pid file: SIGHUP it when they change")
    gateway.add_argument("--mosquitto-once", action="store_true", help="write the Mosquitto files and exit")

    simulate = commands.add_parser("simulate", help="virtual devices of a device model, in its venture's sandbox")
    simulate.add_argument("--model", required=True, help="a device model id or key")
    simulate.add_argument("--count", type=int, default=10)
    simulate.add_argument("--rate", type=float, default=0.2, help="telemetry messages/s per device")
    simulate.add_argument("--mqtt-url", default=None, help="the broker; default MAKERCLOUD_MQTT_URL")

    commands.add_parser("worker", help="the job worker and scheduler only")
    commands.add_parser("migrate", help="apply database migrations")
    commands.add_parser("demo", help="seed the demo world into the configured database (idempotent)")

    user = commands.add_parser("user", help="manage people").add_subparsers(dest="action", required=True)
    create = user.add_parser("create", help="create a person")
    create.add_argument("--email", required=True)
    create.add_argument("--password", required=True)
    create.add_argument("--name", default="")
    create.add_argument("--operator", action="store_true", help="make them a platform operator")

    token = commands.add_parser("token", help="personal access tokens").add_subparsers(dest="action", required=True)
    token_create = token.add_parser("create", help="create a token and print it once")
    token_create.add_argument("--email", required=True)
    token_create.add_argument("--name", default="cli")
    token_create.add_argument("--scope", action="append", dest="scopes", help="repeat for several; default all")

    ledger = commands.add_parser("ledger", help="the ledger's journal").add_subparsers(dest="action", required=True)
    ledger.add_parser("verify", help="recompute the hash chain and name the first broken link")
    ledger_export = ledger.add_parser("export", help="export the journal (the whole ledger or one venture's books)")
    ledger_export.add_argument("--format", choices=["beancount"], default="beancount")
    ledger_export.add_argument("--venture", default=None, help="one venture's books, by its short name (slug)")
    ledger_export.add_argument("--output", default=None, help="write to this file; default standard output")

    manage = commands.add_parser("manage", help="Django's manage.py", add_help=False)
    manage.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _setup(getattr(args, "data_dir", None))
    from makercloud.config import runner

    return runner.dispatch(args)


if __name__ == "__main__":
    sys.exit(main())
