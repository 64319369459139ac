from ninja import Schema
from pydantic import ConfigDict


class Input(Schema):
    """Request bodies refuse fields they do not know, so a typo is an error and not a silent no-op."""

    model_config = ConfigDict(extra="forbid")


class MoneyOut(Schema):
    amount: int
    currency: str
