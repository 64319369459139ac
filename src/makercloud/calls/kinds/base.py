"""What every kind shares: the hook protocol the engine calls, and checks of the JSON in calls and responses."""

import re
from datetime import date
from typing import Any, ClassVar
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

from makercloud.accounts.models import Organisation, User
from makercloud.calls.kinds.errors import InvalidKindRules, InvalidResponse
from makercloud.calls.models.engine import Call, Response
from makercloud.core.errors import DomainError
from makercloud.core.money import Money

URL = re.compile(r"^https?://[^\s\x00-\x1f\x7f]+$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_MINOR = 10**15


class Kind:
    """A kind of call. The engine (calls.services.engine) calls these hooks with keyword arguments."""

    name: ClassVar[str] = ""
    sealed: ClassVar[bool] = False
    owner_picks: ClassVar[bool] = True

    def validate_call(self, *, call: Call) -> None:
        """Check (and complete with published defaults) the kind's rules before they are published or amended."""

    def eligible(self, *, call: Call, person: User, organisation: Organisation | None) -> bool | None:
        return None

    def validate_response(self, *, call: Call, content: dict[str, Any], person: User,
                          organisation: Organisation | None) -> dict[str, Any] | None:
        return None

    def evaluate(self, *, call: Call) -> list[Response]:
        from makercloud.calls.services.engine import valid_responses

        return valid_responses(call)

    def award(self, *, call: Call, response: Response, actor: User | None) -> None:
        """The award's effects beyond the engine's (rewards, points, tranches)."""


# Checks ----------------------------------------------------------------------------------------------------------


def _fail(error: type[DomainError], message: str) -> DomainError:
    return error(detail=message)


def text(data: dict[str, Any], key: str, *, required: bool = True, max_length: int = 10_000,
         error: type[DomainError] = InvalidResponse) -> str:
    value = data.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str) or "\x00" in value:
        raise _fail(error, _("%(field)s must be text.") % {"field": key})
    value = value.strip()
    if required and not value:
        raise _fail(error, _("Fill in %(field)s.") % {"field": key})
    if len(value) > max_length:
        raise _fail(error, _("%(field)s is longer than %(max)s characters.") % {"field": key, "max": max_length})
    return value


def whole(data: dict[str, Any], key: str, *, minimum: int = 0, maximum: int = MAX_MINOR, required: bool = True,
          error: type[DomainError] = InvalidResponse) -> int | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise _fail(error, _("%(field)s must be a whole number.") % {"field": key})
    if value < minimum or value > maximum:
        raise _fail(error, _("%(field)s must be between %(min)s and %(max)s.") % {
            "field": key, "min": minimum, "max": maximum})
    return value


def money(data: dict[str, Any], key: str, *, required: bool = True,
          error: type[DomainError] = InvalidKindRules) -> Money | None:
    """{"minor": 12000, "currency": "CNY"}: integer minor units, never a float."""
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, dict) or set(value) != {"minor", "currency"}:
        raise _fail(error, _("%(field)s must be an amount: {\"minor\": whole number, \"currency\": \"CNY\"}.") % {
            "field": key})
    minor, currency = value["minor"], value["currency"]
    if not isinstance(minor, int) or isinstance(minor, bool) or not 0 < minor <= MAX_MINOR:
        raise _fail(error, _("%(field)s must be a positive whole number of minor units.") % {"field": key})
    if not isinstance(currency, str) or not CURRENCY.match(currency):
        raise _fail(error, _("%(field)s needs an ISO 4217 currency code.") % {"field": key})
    return Money(minor, currency)


def day(data: dict[str, Any], key: str, *, required: bool = True,
        error: type[DomainError] = InvalidKindRules) -> date | None:
    value = data.get(key)
    if value is None and not required:
        return None
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else _bad_day()
    except ValueError:
        raise _fail(error, _("%(field)s must be a date (YYYY-MM-DD).") % {"field": key}) from None


def _bad_day() -> date:
    raise ValueError


def web_address(value: Any) -> bool:
    """An http(s) address with a host, at most 500 characters: what a page may show as a link. `javascript:`,
    `data:` and the like are not, nor `https:///path` or an address with spaces or control characters."""
    if not isinstance(value, str) or len(value) > 500 or not URL.match(value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an unbalanced [ in the host
        return False
    return parts.scheme in {"http", "https"} and bool(parts.hostname)


def links(data: dict[str, Any], key: str = "links", *, error: type[DomainError] = InvalidResponse) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or len(value) > 10:
        raise _fail(error, _("%(field)s must be a list of at most 10 addresses.") % {"field": key})
    for item in value:
        if not web_address(item):
            raise _fail(error, _("%(field)s must hold http(s) addresses.") % {"field": key})
    return list(value)


def only(data: dict[str, Any], allowed: set[str], *, error: type[DomainError] = InvalidResponse) -> None:
    unknown = set(data) - allowed
    if unknown:
        raise _fail(error, _("Unknown fields: %(fields)s.") % {"fields": ", ".join(sorted(unknown))})
