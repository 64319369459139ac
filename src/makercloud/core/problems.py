"""RFC 9457 problem details: the one place where errors become HTTP responses on the API."""

import json
import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, ClassVar

from asgiref.sync import iscoroutinefunction
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError
from ninja.parser import Parser

from makercloud.core.errors import DomainError

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "https://makercloud.dev/problems/"


class ErrorItem(Schema):
    loc: list[str | int]
    msg: str


class Problem(Schema):
    """An RFC 9457 problem detail. `type` is stable: clients branch on it, never on `title` or `detail`."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ErrorItem] | None = None


class UnsupportedMediaType(DomainError):
    type = "unsupported-media-type"
    title = "Send the body as application/json"
    status = 415


class MalformedBody(DomainError):
    type = "malformed-body"
    title = "The request body is not valid JSON"
    status = 400


class Unauthenticated(DomainError):
    """No usable credentials. `challenge` is the WWW-Authenticate value (RFC 6750 §3)."""

    type = "unauthenticated"
    title = "Sign in or send a valid bearer token"
    status = 401
    challenge: ClassVar[str] = 'Bearer realm="makercloud"'


def problem(
    *, status: int, type: str, title: str, detail: str = "", headers: dict[str, str] | None = None, **extra: Any
) -> HttpResponse:
    body = {"type": TYPE_BASE + type, "title": title, "status": status, "detail": detail or title, **extra}
    response = JsonResponse(body, status=status, content_type=CONTENT_TYPE, json_dumps_params={"ensure_ascii": False})
    for name, value in (headers or {}).items():
        response[name] = value
    return response


class JsonParser(Parser):
    """Bodies are JSON objects sent as application/json (or a +json type); anything else is refused by name."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        media_type = (request.content_type or "").lower()
        if media_type != "application/json" and not media_type.endswith("+json"):
            raise UnsupportedMediaType(detail=f"The body was sent as {media_type or 'no content type'}.")
        try:
            return json.loads(request.body)
        except (ValueError, UnicodeDecodeError) as error:  # JSONDecodeError is a ValueError
            raise MalformedBody(detail=str(error)) from error


def _loc(error: dict[str, Any]) -> list[str | int]:
    loc = list(error.get("loc", []))
    # ninja puts the handler's argument name after "body" ("body", "body", "name"); clients know only the fields.
    if loc[:1] == ["body"] and len(loc) >= 2:
        loc = ["body", *loc[2:]]
    return loc


def _validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [{"loc": _loc(e), "msg": e.get("msg", "invalid")} for e in exc.errors]
    return problem(status=422, type="validation", title="The request is not valid",
                   detail="; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors), errors=errors)


def _domain(request: HttpRequest, exc: DomainError) -> HttpResponse:
    challenge = getattr(exc, "challenge", None)
    headers = {"WWW-Authenticate": challenge.format(**exc.extra)} if challenge else {}
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:  # a rate limit (RFC 9110 §10.2.3)
        headers["Retry-After"] = str(retry_after)
    return problem(status=exc.status, type=exc.type, title=exc.title, detail=exc.detail, headers=headers, **exc.extra)


def _http(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, DomainError):  # ninja wraps what the body parser raises in HttpError(400)
        return _domain(request, exc.__cause__)
    if isinstance(exc, AuthenticationError):
        return _domain(request, Unauthenticated())
    if isinstance(exc, AuthorizationError):
        return problem(status=403, type="permission-denied", title="You may not do this", detail=str(exc))
    status = HTTPStatus(exc.status_code)
    return problem(status=status.value, type=status.phrase.lower().replace(" ", "-"), title=status.phrase,
                   detail=str(exc))


def _not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem(status=404, type="not-found", title="Not found", detail=f"Nothing at {request.path}")


def _suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    if isinstance(exc, RequestDataTooBig):
        return problem(status=413, type="too-large", title="The request body is too large",
                       detail="Bodies are limited to 1 MiB.")
    return problem(status=400, type="bad-request", title="The request is malformed", detail=str(exc))


def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("unhandled error on %s %s", request.method, request.path)
    return problem(status=500, type="internal", title="Something went wrong on our side",
                   detail="The error has been logged. Nothing was changed.")


def method_not_allowed(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap an API view so that a method it does not serve gets a problem, with the Allow header kept."""

    def allowed(request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if isinstance(response, HttpResponseNotAllowed):
            return problem(status=405, type="method-not-allowed", title="Method not allowed",
                           detail=f"{request.method} is not served here; use {response['Allow']}.",
                           headers={"Allow": response["Allow"]})
        return response

    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return allowed(request, view(request, *args, **kwargs))

    async def wrapped_async(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return allowed(request, await view(request, *args, **kwargs))  # type: ignore[misc]  # an async path

    chosen: Any = wrapped_async if iscoroutinefunction(view) else wrapped
    chosen.csrf_exempt = True  # as ninja's own views: auth checks CSRF
    return chosen


# What each status means on this API, for the OpenAPI document.
MEANINGS = {
    400: "The body is not valid JSON (`malformed-body`).",
    401: "No credentials, or a bearer token that is unknown, expired or revoked (`unauthenticated`, `invalid-token`).",
    403: "The caller may not do this: a missing role, or a token without the operation's scope "
         "(`insufficient-scope`).",
    404: "The resource does not exist (or is not visible to the caller).",
    409: "The request conflicts with the current state.",
    413: "The body is larger than 1 MiB (`too-large`).",
    415: "The body is not sent as `application/json` (`unsupported-media-type`).",
    422: "The input is not valid (`validation` lists each error in `errors`).",
    429: "Too many requests: a rate limit is spent (`rate-limited`); try again after the Retry-After header's seconds.",
}


def responses(*statuses: int) -> dict[int, type[Problem]]:
    """The problem responses an operation documents, besides those every body and parameter can give."""
    return dict.fromkeys(statuses, Problem)


def install(api: NinjaAPI) -> None:
    api.parser = JsonParser()
    handlers: dict[type[Exception], Callable[[HttpRequest, Any], HttpResponse]] = {
        Exception: _unexpected,
        SuspiciousOperation: _suspicious,
        Http404: _not_found,
        HttpError: _http,
        ValidationError: _validation,
        DomainError: _domain,
    }
    for exc_class, handler in handlers.items():
        api.add_exception_handler(exc_class, handler)
