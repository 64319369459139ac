"""Cursor pagination for API lists (`limit`, `cursor`): stable under inserts, no page counting."""

import base64
import binascii
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Schema
from ninja.pagination import PaginationBase

from makercloud.core.errors import InvalidInput
from makercloud.core.schemas import MAX_ID


class InvalidCursor(InvalidInput):
    type = "invalid-cursor"
    title = "The cursor is not valid"


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        last_id = int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise InvalidCursor(detail="Pass back the next_cursor of the previous page, unchanged.") from error
    if not 1 <= last_id <= MAX_ID:
        raise InvalidCursor(detail="Pass back the next_cursor of the previous page, unchanged.")
    return last_id


class CursorPage(PaginationBase):
    """Newest first by id; `next_cursor` is null on the last page."""

    class Input(Schema):
        limit: int = Field(50, ge=1, le=200, description="How many items, at most 200.")
        cursor: str | None = Field(
            None, max_length=40, pattern=r"^[A-Za-z0-9_-]*$", description="The next_cursor of the previous page."
        )

    class Output(Schema):
        items: list[Any]
        next_cursor: str | None = Field(..., description="Pass it as `cursor` for the next page; null on the last.")

    items_attribute = "items"

    def paginate_queryset(
        self, queryset: QuerySet, pagination: Input, request: HttpRequest | None = None, **params: Any
    ) -> dict[str, Any]:
        queryset = queryset.order_by("-pk")
        if pagination.cursor:
            queryset = queryset.filter(pk__lt=decode_cursor(pagination.cursor))
        items = list(queryset[: pagination.limit + 1])
        more = len(items) > pagination.limit
        items = items[: pagination.limit]
        return {"items": items, "next_cursor": encode_cursor(items[-1].pk) if more else None}
