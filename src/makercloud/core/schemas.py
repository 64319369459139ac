"""Building blocks shared by every API schema: strict request bodies, bounded text and ids, money, people."""

from typing import Annotated

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from ninja import Field, Schema
from pydantic import AfterValidator, ConfigDict

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
