"""Scale-out: PostgreSQL, an external broker and job store, TLS in front. Everything from the environment."""

import os

from makercloud.config.settings.base import *  # noqa: F403
from makercloud.config.settings.base import PUBLIC_URL

if not os.environ.get("MAKERCLOUD_SECRET_KEY"):
    raise RuntimeError("production settings need MAKERCLOUD_SECRET_KEY")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = PUBLIC_URL.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365 if SESSION_COOKIE_SECURE else 0
MAILERS = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": os.environ.get("MAKERCLOUD_SMTP_HOST", "localhost"),
            "port": int(os.environ.get("MAKERCLOUD_SMTP_PORT", "25")),
            "use_tls": os.environ.get("MAKERCLOUD_SMTP_TLS", "") == "1",
        },
    }
}
