from typing import Any

from django.http import HttpRequest

from makercloud.accounts import selectors


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {"is_operator": selectors.is_operator(person=user) if user is not None else False}
