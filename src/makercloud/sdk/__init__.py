"""makercloud's Python SDK: a small typed client of the open API for makers' apps and scripts.

- `Client` — devices (twin, desired state, actions, invocations), telemetry and events, grants, apps, webhooks;
  every refusal an `ApiError` carrying the RFC 9457 problem; 429 retried after Retry-After (bounded).
- `OAuthFlow` — the authorisation code flow with PKCE S256: authorise, exchange, refresh (rotating), revoke.
- `verify_webhook` — Standard Webhooks verification of a delivery, returning the event.

It needs only httpx and standardwebhooks (no Django): `from makercloud.sdk import Client`. See docs/sdk.md.
"""

from makercloud.sdk.client import Client
from makercloud.sdk.errors import ApiError
from makercloud.sdk.models import DeviceEvent, Grant, Invocation, TelemetryPoint, Twin, WebhookEvent
from makercloud.sdk.oauth import AuthorizationRequest, OAuthFlow, Tokens, code_challenge, code_verifier
from makercloud.sdk.webhooks import WebhookVerificationError, verify_webhook

__all__ = [
    "ApiError",
    "AuthorizationRequest",
    "Client",
    "DeviceEvent",
    "Grant",
    "Invocation",
    "OAuthFlow",
    "TelemetryPoint",
    "Tokens",
    "Twin",
    "WebhookEvent",
    "WebhookVerificationError",
    "code_challenge",
    "code_verifier",
    "verify_webhook",
]
