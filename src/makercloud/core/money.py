"""Money in integer minor units of an ISO 4217 currency. Never a float."""

from dataclasses import dataclass
from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision

from makercloud.core.errors import DomainError


class CurrencyMismatch(DomainError):
    type = "currency-mismatch"
    title = "Amounts are in different currencies"


class InvalidMoney(DomainError):
    type = "invalid-money"
    title = "Not a valid amount of money"


@dataclass(frozen=True, slots=True)
class Money:
    minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise InvalidMoney(detail=f"amount must be an integer number of minor units, not {self.minor!r}")
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise InvalidMoney(detail=f"{self.currency!r} is not an ISO 4217 currency code")

    def _same(self, other: "Money") -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(detail=f"{self.currency} and {other.currency}")

    def __add__(self, other: "Money") -> "Money":
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: "Money") -> "Money":
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> "Money":
        return Money(-self.minor, self.currency)

    def allocate(self, weights: list[int], *, start: int = 0) -> list["Money"]:
        """Split by integer weights without losing or inventing a minor unit.

        Each part gets floor(amount × weight / total); the units left over go one each to the parts with the largest
        remainders, ties broken by position counted from `start` (so callers can rotate who wins a tie).
        """
        if not weights or any(w < 0 for w in weights) or sum(weights) == 0:
            raise InvalidMoney(detail="weights must be non-negative integers with a positive sum")
        total = sum(weights)
        sign = -1 if self.minor < 0 else 1
        amount = abs(self.minor)
        parts = [amount * w // total for w in weights]
        remainders = [amount * w % total for w in weights]
        left = amount - sum(parts)
        n = len(weights)
        order = sorted(range(n), key=lambda i: (-remainders[i], (i - start) % n))
        for i in order[:left]:
            parts[i] += 1
        return [Money(sign * p, self.currency) for p in parts]

    @property
    def decimal(self) -> Decimal:
        return Decimal(self.minor).scaleb(-get_currency_precision(self.currency))

    def format(self, locale: str = "en") -> str:
        return format_currency(self.decimal, self.currency, locale=locale.replace("-", "_"))

    def as_json(self) -> dict[str, int | str]:
        return {"amount": self.minor, "currency": self.currency}
