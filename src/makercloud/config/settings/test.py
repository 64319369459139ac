"""Tests: the same stack, with fast password hashing, jobs run inline and mail kept in memory."""

import os
import tempfile
import uuid

os.environ.setdefault("MAKERCLOUD_DATA_DIR", tempfile.mkdtemp(prefix="makercloud-test-"))

from makercloud.config.settings.base import *  # noqa: F403
from makercloud.config.settings.base import CACHES, DATA_DIR, DATABASES, HUEY

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not Django's shared-cache in-memory database: tests where the gateway's or the server's threads write
    # while the test reads then see WAL and the busy timeout, as in production, instead of "table is locked".
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
HUEY = {**HUEY, "immediate": True}
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
# The test receivers listen on 127.0.0.1; the SSRF guard's tests turn this off where they test it.
WEBHOOK_ALLOW_PRIVATE = True
if CACHES["default"]["BACKEND"].endswith("RedisCache"):
    # Each test process counts its own rate-limit windows (token ids repeat across test databases), unless
    # MAKERCLOUD_CACHE_PREFIX names the one that a test shares with a second process on purpose.
    CACHES["default"]["KEY_PREFIX"] = os.environ.get("MAKERCLOUD_CACHE_PREFIX") or f"test-{uuid.uuid4().hex[:12]}"
