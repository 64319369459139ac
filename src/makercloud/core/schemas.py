"""Building blocks shared by every API schema: strict request bodies, bounded text and ids, money, people."""

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from ninja import Field, Schema
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, ConfigDict

# Ids are 64-bit on every database we run on; a larger number is "not found", never an overflow.
MAX_ID = 2**63 - 1
# PostgreSQL refuses NUL in text; refusing it at the edge keeps a bad string from becoming a 500.
NO_NUL = r"^[^\x00]*$"


class Input(Schema):
    """Request bodies refuse fields they do not know, so a typo is an error and not a silent no-op."""

    model_config = ConfigDict(extra="forbid")


def _email(value: str) -> str:
    try:
        validate_email(value)
    except DjangoValidationError as error:
        raise ValueError("not a valid e-mail address") from error
    return value


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _rfc3339(value: Any) -> Any:
    # pydantic would read a bare number as seconds since 1970; the contract is RFC 3339 text
    if isinstance(value, str) and not _RFC3339.match(value):
        raise ValueError("expected an RFC 3339 date-time with a time zone, such as 2026-11-29T12:00:00Z")
    if isinstance(value, int | float):
        raise ValueError("expected an RFC 3339 date-time with a time zone, not a number")
    return value


def _utc(value: datetime) -> datetime:
    # any offset Python accepts (up to ±23:59) is read, but PostgreSQL refuses offsets beyond ±15:59: store UTC
    try:
        return value.astimezone(UTC)
    except OverflowError as error:
        raise ValueError("the date-time is out of range") from error


Instant = Annotated[AwareDatetime, BeforeValidator(_rfc3339), AfterValidator(_utc)]
"""A point in time on the API: RFC 3339 with a time zone, nothing else; read as UTC."""
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Name = Annotated[str, Field(min_length=1, max_length=120, pattern=NO_NUL)]
LongText = Annotated[str, Field(max_length=10_000, pattern=NO_NUL)]
Email = Annotated[str, Field(max_length=254, json_schema_extra={"format": "email"}), AfterValidator(_email)]


class MoneyOut(Schema):
    amount: int = Field(..., description="Integer minor units (fen for CNY, cents for EUR).")
    currency: str = Field(..., description="ISO 4217 code.")


class PersonRef(Schema):
    """A person as others see them: never their e-mail address."""

    id: int
    name: str
