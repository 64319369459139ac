"""`{{ link|web_address }}`: the services store only http(s) links (calls.services.engine._links); rows written before
that check was there are still shown as text, never as a link a click would run."""

from typing import Any

from django import template

from makercloud.calls.kinds.base import web_address as is_web_address

register = template.Library()


@register.filter
def web_address(value: Any) -> bool:
    return is_web_address(value)
