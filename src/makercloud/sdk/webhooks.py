"""Verifying makercloud's webhooks (Standard Webhooks, through the `standardwebhooks` library)."""

import json
from collections.abc import Mapping
from typing import Any

import standardwebhooks
from standardwebhooks.webhooks import WebhookVerificationError as _LibraryError

from makercloud.sdk.models import WebhookEvent


class WebhookVerificationError(_LibraryError):
    """The request is not a genuine, fresh makercloud webhook (missing or wrong signature, too old or too new, or a
    body that is not an event). Answer it with 400 and act on nothing in it."""


def verify_webhook(secret: str, headers: Mapping[str, str], body: bytes | str) -> WebhookEvent:
    """Check the webhook-signature of `body` (the raw bytes as received — not re-serialised JSON) with the endpoint's
    `whsec_…` secret, and the webhook-timestamp (within 5 minutes); return the event or raise
    `WebhookVerificationError`.

    During a secret rotation makercloud signs with both secrets, so either one verifies. De-duplicate on the event's
    `id` (the webhook-id): deliveries are at least once.
    """
    plain = {str(k).lower(): str(v) for k, v in headers.items()}
    try:
        document: Any = standardwebhooks.Webhook(secret).verify(body, plain)
    except _LibraryError as error:
        raise WebhookVerificationError(str(error)) from error
    except (ValueError, TypeError) as error:  # a malformed signature header or a body that is not JSON
        raise WebhookVerificationError(f"Malformed webhook: {error}") from error
    if not isinstance(document, dict) or not isinstance(document.get("type"), str):
        raise WebhookVerificationError("The body is not a webhook event ({type, timestamp, data}).")
    data = document.get("data")
    return WebhookEvent(id=plain["webhook-id"], type=document["type"], timestamp=str(document.get("timestamp", "")),
                        data=data if isinstance(data, dict) else {"value": data})


def parse_event(body: bytes | str) -> dict[str, Any]:
    """The body as JSON, unverified — for logging only; never act on it before `verify_webhook`."""
    return dict(json.loads(body))
