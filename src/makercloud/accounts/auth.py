"""How the API knows who is asking: a browser session (all scopes) or a personal access token (its scopes)."""

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from makercloud.accounts import services


class TokenAuth(HttpBearer):
    def __init__(self, scope: str | None = None) -> None:
        super().__init__()
        self.scope = scope

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        pat = services.token_authenticate(raw=token)
        if pat is None:
            return None
        if self.scope and self.scope not in pat.scopes:
            return None
        request.user = pat.person
        request.token = pat  # type: ignore[attr-defined]
        return pat.person


class Session(SessionAuth):
    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        return user if user is not None and user.is_authenticated else None


def requires(scope: str | None = None) -> list[Any]:
    """Authentication for an operation: a signed-in session, or a token that carries `scope`."""
    return [Session(), TokenAuth(scope)]
