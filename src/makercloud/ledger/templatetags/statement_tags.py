"""Template filters of the statement pages: money in the reader's language, ratios as percentages."""

from decimal import Decimal

from django import template
from django.utils.translation import get_language

from makercloud.core.money import Money

register = template.Library()


@register.filter
def money(minor: int | None, currency: str) -> str:
    """Minor units as the reader's language writes money (¥220.00, CN¥220.00); an em dash for none."""
    if minor is None:
        return "—"
    return Money(int(minor), currency).format((get_language() or "en").replace("-hans", "_Hans"))


@register.filter
def percent(ratio: Decimal | None) -> str:
    if ratio is None:
        return "—"
    return f"{(ratio * 100).quantize(Decimal('0.1'))}%"


@register.filter
def signed(value: int | None) -> str:
    return "—" if value is None else f"{value:+d}"
