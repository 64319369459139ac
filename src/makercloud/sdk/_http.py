"""What the client and the OAuth helper share: the base URL, errors from responses, Retry-After."""

import email.utils
import time
from typing import Any

import httpx

from makercloud.sdk.errors import ApiError

USER_AGENT = "makercloud-sdk/0.1"


def root_of(base_url: str) -> str:
    """The platform's origin (and path prefix, if any) without a trailing slash or `/api/v1`."""
    root = base_url.rstrip("/")
    if root.endswith("/api/v1"):
        root = root[: -len("/api/v1")]
    return root


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); None when absent or unreadable."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def body_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def error_of(response: httpx.Response) -> ApiError:
    return ApiError.from_response(
        response.status_code, body_of(response), retry_after=retry_after(response), reason=response.reason_phrase
    )
