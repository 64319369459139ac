"""How the API knows who is asking: a browser session (all scopes) or a personal access token (its scopes).

A request that carries `Authorization: Bearer …` is decided by the token alone: an unusable token is a 401 and a
token without the operation's scope a 403, even when a session cookie comes along. Besides personal access tokens,
the authenticators named in settings.API_BEARER_AUTHENTICATORS are asked (an app's OAuth access token, in
developers.oauth): such a principal carries its own scopes, may call only operations that name one of them, and puts
its grant on the request (`request.grant`) and on the person (`app_grant`), which narrows every device read to it.
Without a bearer token, the session decides (with Django's CSRF check on unsafe methods). Public reads also let
anonymous callers through.

Async operations (an invocation with `?wait=`) authenticate a token on the executor's thread pool (`in_pool`), not on
asgiref's single thread-sensitive thread that every sync view and `sync_to_async` call shares: a hundred concurrent
invocations would otherwise queue behind each other there. The check itself is the same.
"""

import time
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import connections
from django.http import HttpRequest
from django.utils.module_loading import import_string
from ninja.security import HttpBearer, SessionAuth
from ninja.utils import check_csrf

from makercloud.accounts import services
from makercloud.accounts.errors import CsrfFailed, InsufficientScope, InvalidToken, TokenNotAccepted
from makercloud.accounts.models import User


def _connections_checked() -> None:
    """Django's `close_old_connections` for a pool thread: drop a connection that failed or outlived a positive
    CONN_MAX_AGE. Otherwise a pool thread keeps its connection (one per thread; the pool is small and bounded)."""
    for connection in connections.all(initialized_only=True):
        if connection.in_atomic_block:
            continue
        expired = connection.close_at is not None and connection.settings_dict["CONN_MAX_AGE"] != 0 and (
            time.monotonic() >= connection.close_at
        )
        if connection.errors_occurred or expired:
            connection.close_if_unusable_or_obsolete()


def in_pool[**P, R](function: Callable[P, R], *, request: HttpRequest) -> Callable[P, Awaitable[R]]:
    """`function` (sync, database work) as a coroutine: on the event loop's thread pool (thread_sensitive=False)
    when the request came through an ASGI server; else (WSGI, Django's test client) on the request's own thread,
    which already is the request's alone and holds its connection (and a test's transaction).

    For async handlers only, and only for self-contained work: nothing may span two calls (no open transaction).
    """
    if not hasattr(request, "scope"):
        return sync_to_async(function)

    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        _connections_checked()
        return function(*args, **kwargs)

    return sync_to_async(checked, thread_sensitive=False)


class TokenAuth(HttpBearer):
    def __init__(self, scope: str | None = None, *, accepted: bool = True, pooled: bool = False) -> None:
        super().__init__()
        self.scope = scope
        self.accepted = accepted
        self.is_async = pooled  # django-ninja awaits what `authenticate` returns (async operations only)

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        if self.is_async:
            return in_pool(self._authenticate, request=request)(request, token)
        return self._authenticate(request, token)

    def _authenticate(self, request: HttpRequest, token: str) -> Any:
        pat = services.token_authenticate(raw=token)
        if pat is None:
            return self._authenticate_other(request, token)
        if not self.accepted:
            raise TokenNotAccepted()
        if self.scope and self.scope not in pat.scopes:
            raise InsufficientScope(
                detail=f"This operation needs a token with the scope {self.scope!r}; this one has "
                f"{', '.join(pat.scopes) or 'none'}.",
                scope=self.scope,
            )
        request.user = pat.person
        request.token = pat  # type: ignore[attr-defined]
        return pat.person


    def _authenticate_other(self, request: HttpRequest, token: str) -> Any:
        """A bearer token that is no personal access token: an app's, or unknown (401)."""
        for authenticate in _bearer_authenticators():
            principal = authenticate(token)
            if principal is None:
                continue
            if not self.accepted:
                raise TokenNotAccepted(detail="An app's token cannot do this; only the person, signed in, can.")
            if self.scope is None and not principal.unscoped_operations:
                raise InsufficientScope(
                    detail="An app's token may call only operations of the scopes apps are granted.", scope=""
                )
            if self.scope == "profile" and request.method not in {"GET", "HEAD", "OPTIONS"}:
                raise InsufficientScope(detail="An app may read your profile, never change it.", scope="profile")
            if self.scope and self.scope not in principal.scopes:
                raise InsufficientScope(
                    detail=f"This operation needs the scope {self.scope!r}; the app was granted "
                    f"{', '.join(principal.scopes) or 'none'}.",
                    scope=self.scope,
                )
            request.user = principal.person
            request.token = principal.token  # type: ignore[attr-defined]
            request.grant = principal.grant  # type: ignore[attr-defined]
            return principal.person
        raise InvalidToken()


_authenticators: list[Callable[[str], Any]] | None = None


def _bearer_authenticators() -> list[Callable[[str], Any]]:
    global _authenticators
    if _authenticators is None:
        _authenticators = [import_string(name) for name in getattr(settings, "API_BEARER_AUTHENTICATORS", [])]
    return _authenticators


class Session(SessionAuth):
    def _get_key(self, request: HttpRequest) -> str | None:
        if check_csrf(request) is not None:  # Django's check: safe methods always pass
            if request.user.is_authenticated:
                raise CsrfFailed(detail="Send the value of the csrftoken cookie in the X-CSRFToken header.")
            return None  # no session to protect: answer 401, not a CSRF error
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        return user if user is not None and user.is_authenticated else None


class Anonymous:
    """Lets a caller without credentials through to a public read, as an AnonymousUser."""

    openapi_optional = True

    def __call__(self, request: HttpRequest) -> AnonymousUser:
        return AnonymousUser()


def requires(scope: str | None = None) -> list[Any]:
    """Authentication for an operation: a signed-in session, or a token that carries `scope`."""
    return [TokenAuth(scope), Session()]


def requires_async(scope: str | None = None) -> list[Any]:
    """`requires`, for an async operation: a bearer token is checked on the thread pool (see `in_pool`)."""
    return [TokenAuth(scope, pooled=True), Session()]


def optional(scope: str) -> list[Any]:
    """A public read: anyone may call it; a session or a token with `scope` shows the caller's own data too."""
    return [TokenAuth(scope), Session(), Anonymous()]


def session_only() -> list[Any]:
    """Operations a token may not do to itself, such as minting more tokens: only a signed-in session."""
    return [TokenAuth(accepted=False), Session()]


def caller(request: HttpRequest) -> User:
    """The person behind an operation that requires authentication."""
    return request.auth  # type: ignore[attr-defined]


def viewer(request: HttpRequest) -> User | None:
    """The person behind a public read, or None for an anonymous caller."""
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, User) else None
