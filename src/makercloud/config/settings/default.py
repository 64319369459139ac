"""The embedded default: one process, SQLite, in-process broker and jobs (`makercloud up`)."""

from makercloud.config.settings.base import *  # noqa: F403
