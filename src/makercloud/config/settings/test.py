"""Tests: the same stack, with fast password hashing, jobs run inline and mail kept in memory."""

import os
import tempfile

os.environ.setdefault("MAKERCLOUD_DATA_DIR", tempfile.mkdtemp(prefix="makercloud-test-"))

from makercloud.config.settings.base import *  # noqa: F403
from makercloud.config.settings.base import HUEY

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
HUEY = {**HUEY, "immediate": True}
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
