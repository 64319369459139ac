from typing import Any

from django.http import HttpRequest

from makercloud.accounts import selectors

SECTIONS = {"ventures": "ventures", "timeline": "timeline", "dashboard": "dashboard", "profile": "account",
            "tokens": "account"}


def navigation(request: HttpRequest) -> dict[str, Any]:
    """What the layout needs on every page: is the person an operator, and which section is open."""
    user = getattr(request, "user", None)
    match = getattr(request, "resolver_match", None)
    section = ""
    if match is not None:
        section = SECTIONS.get(match.namespace, "") or SECTIONS.get(match.url_name or "", "")
    return {
        "is_operator": selectors.is_operator(person=user) if user is not None else False,
        "nav_section": section,
    }
