"""`{% unread_notifications %}`: the number of unread notifications of the signed-in person, for the navigation."""

from typing import Any

from django import template

from makercloud.notifications import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notifications(context: dict[str, Any]) -> int:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return 0
    return selectors.unread_count(person=user)
