"""Settings shared by every deployment; `default` (embedded), `production` and `test` refine them."""

import hashlib
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from makercloud.config import environment

PACKAGE_DIR = Path(__file__).resolve().parent.parent.parent
DATA_DIR = environment.data_dir()
SECRET_KEY = environment.secret_key(DATA_DIR)
DEBUG = False
ALLOWED_HOSTS = [h for h in os.environ.get("MAKERCLOUD_ALLOWED_HOSTS", "*").split(",") if h]
PUBLIC_URL = os.environ.get("MAKERCLOUD_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = [PUBLIC_URL]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "huey.contrib.djhuey",
    "ninja",
    "oauth2_provider",
    "makercloud.core",
    "makercloud.accounts",
    "makercloud.ventures",
    "makercloud.devices",
    "makercloud.gateway",
    "makercloud.ledger",
    "makercloud.developers",
    "makercloud.automations",
    "makercloud.notifications",
    "makercloud.calls",
    "makercloud.contracts",
    "makercloud.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "makercloud.config.urls"
ASGI_APPLICATION = "makercloud.config.asgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "makercloud.web.context.navigation",
            ],
        },
    },
]


def _database(url: str | None) -> dict[str, Any]:
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "makercloud.sqlite3",
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            },
        }
    config: dict[str, Any] = dict(dj_database_url.parse(url))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
    elif config["ENGINE"] == "django.db.backends.postgresql":
        # Under ASGI every sync view runs on a thread of its own, so persistent per-thread connections pile up
        # until PostgreSQL refuses clients. A bounded psycopg pool per process instead (CONN_MAX_AGE stays 0).
        pool_size = int(os.environ.get("MAKERCLOUD_DB_POOL_SIZE", "20"))
        config["OPTIONS"] = {"pool": {"min_size": 1, "max_size": pool_size, "timeout": 10}}
    return config


DATABASES = {"default": _database(os.environ.get("DATABASE_URL"))}


def env_flag(name: str, *, default: bool) -> bool:
    """A yes/no setting from the environment: 1/true/yes/on or 0/false/no/off; unset or empty: `default`."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name} must be 1 or 0, not {value!r}")


def _cache_prefix(database: dict[str, Any]) -> str:
    """One key prefix per database: the processes of one platform share their counts, and platforms (or test runs)
    sharing one Redis keep theirs apart — their app and token ids repeat."""
    where = f"{database.get('HOST') or ''}:{database.get('PORT') or ''}/{database['NAME']}"
    return "makercloud-" + hashlib.sha256(where.encode()).hexdigest()[:12]


def _caches(url: str) -> dict[str, Any]:
    """Django's cache (the API's rate-limit windows): per process unless MAKERCLOUD_CACHE_URL names a Redis that
    every process shares."""
    if not url:
        return {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "makercloud"}}
    if urlsplit(url).scheme in {"redis", "rediss", "unix"}:
        return {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": url,
                "KEY_PREFIX": os.environ.get("MAKERCLOUD_CACHE_PREFIX") or _cache_prefix(DATABASES["default"]),
                # A Redis that hangs slows each API call of an app by at most this, then the limits are skipped.
                "OPTIONS": {"socket_connect_timeout": 1.0, "socket_timeout": 1.0},
            }
        }
    raise ValueError(f"MAKERCLOUD_CACHE_URL must be redis://host:6379/1 (or rediss://, unix://), not {url!r}")


CACHES = _caches(os.environ.get("MAKERCLOUD_CACHE_URL", ""))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "web:dashboard"
LOGOUT_REDIRECT_URL = "web:landing"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = False

# Bodies larger than this are refused (413 on the API) before anything is parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

# On the embedded default, mail is written to files in the data dir's outbox (password resets, invitations).
MAILERS = {
    "default": {
        "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "OPTIONS": {"file_path": str(DATA_DIR / "outbox")},
    }
}
DEFAULT_FROM_EMAIL = "makercloud <no-reply@makercloud.local>"

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy on every response (defence in depth against injected markup): scripts only from our own
# origin (and <script nonce="{{ csp_nonce }}">), no inline or eval'd script, no plugins, no framing. Styles allow
# 'unsafe-inline' because templates use style="…" attributes and <style> blocks (htmx's own is off: base.html); data:
# images are Swagger UI's icons.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}


def _huey(url: str) -> dict:
    parts = urlsplit(url)
    consumer = {"workers": 2, "worker_type": "thread"}
    if parts.scheme == "sqlite":
        return {"huey_class": "huey.SqliteHuey", "name": "makercloud", "filename": parts.path, "consumer": consumer}
    if parts.scheme in {"redis", "rediss"}:
        return {"huey_class": "huey.RedisHuey", "name": "makercloud", "url": url, "consumer": consumer}
    raise ValueError(f"MAKERCLOUD_JOBS_URL must be sqlite:///path or redis://host, not {url!r}")


HUEY = _huey(environment.jobs_url(DATA_DIR))

# OAuth 2 for maker apps (developers.oauth; docs/apps.md): authorization code with PKCE S256 only, refresh-token
# rotation with reuse detection, tokens stored only as checksums, every RFC 9700 switch on.
OAUTH_ISSUER = os.environ.get("MAKERCLOUD_PUBLIC_URL", "").rstrip("/")  # empty: the request's own origin
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"  # named, so that migrations can depend on it
OAUTH2_PROVIDER = {
    "SCOPES": {
        "devices:read": "See chosen devices",
        "devices:control": "Operate chosen devices",
        "telemetry:read": "Read chosen devices' telemetry and events",
        "events:subscribe": "Follow chosen devices live",
        "profile": "See name and e-mail address",
    },
    "DEFAULT_SCOPES": ["devices:read"],
    "SCOPES_BACKEND_CLASS": "makercloud.developers.oauth.AppScopes",
    "OAUTH2_VALIDATOR_CLASS": "makercloud.developers.oauth.Validator",
    "OAUTH2_SERVER_CLASS": "makercloud.developers.oauth.S256Server",
    "PKCE_REQUIRED": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"],  # http only for localhost (checked when an app is saved)
    "ALLOW_URI_WILDCARDS": False,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    "REFRESH_TOKEN_EXPIRE_SECONDS": 60 * 60 * 24 * 90,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    "REQUEST_APPROVAL_PROMPT": "force",
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": False,  # http stays for loopback redirect URIs (RFC 8252)
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "refresh_token"],
    "OIDC_ISS_ENDPOINT": OAUTH_ISSUER,
}
API_BEARER_AUTHENTICATORS = ["makercloud.developers.oauth.bearer_authenticate"]  # besides personal access tokens
# Per-minute request limits of app tokens (429 with Retry-After beyond them).
OAUTH_RATE_LIMIT_PER_TOKEN = int(os.environ.get("MAKERCLOUD_OAUTH_RATE_PER_TOKEN", "120"))
OAUTH_RATE_LIMIT_PER_APP = int(os.environ.get("MAKERCLOUD_OAUTH_RATE_PER_APP", "6000"))
# Webhooks go only to public internet addresses (SSRF guard, docs/webhooks.md); 1 allows loopback and private
# networks too. The embedded default (development, the demo) allows them unless set to 0.
WEBHOOK_ALLOW_PRIVATE = env_flag("MAKERCLOUD_WEBHOOK_ALLOW_PRIVATE", default=False)
MQTT_URL = environment.mqtt_url()

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"makercloud": {"level": "INFO"}},
}
