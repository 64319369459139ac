"""The embedded default: one process, SQLite, in-process broker and jobs (`makercloud up`)."""

from makercloud.config.settings.base import *  # noqa: F403
from makercloud.config.settings.base import env_flag

# `makercloud up` is a development machine and the demo: webhooks may go to receivers on 127.0.0.1 (the example app
# in examples/) unless MAKERCLOUD_WEBHOOK_ALLOW_PRIVATE=0. A platform that others reach runs the production settings.
WEBHOOK_ALLOW_PRIVATE = env_flag("MAKERCLOUD_WEBHOOK_ALLOW_PRIVATE", default=True)
