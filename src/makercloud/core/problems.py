"""RFC 9457 problem details: the one place where errors become HTTP responses on the API."""

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from makercloud.core.errors import DomainError

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "https://makercloud.dev/problems/"


def problem(
    *, status: int, type: str, title: str, detail: str = "", headers: dict[str, str] | None = None, **extra: Any
) -> HttpResponse:
    body = {"type": TYPE_BASE + type, "title": title, "status": status, "detail": detail or title, **extra}
    response = JsonResponse(body, status=status, content_type=CONTENT_TYPE, json_dumps_params={"ensure_ascii": False})
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _loc(error: dict[str, Any]) -> list[str | int]:
    loc = list(error.get("loc", []))
    # ninja prefixes the parameter source ("body", "query", "path") and the argument name; keep the source only.
    if len(loc) >= 2 and loc[0] in {"body", "query", "path", "header", "cookie", "form"}:
        loc = [loc[0], *loc[2:]] if len(loc) > 2 else loc
    return loc


def _validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [{"loc": _loc(e), "msg": e.get("msg", "invalid")} for e in exc.errors]
    return problem(status=422, type="validation", title="The request is not valid",
                   detail="; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors), errors=errors)


def _domain(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return problem(status=exc.status, type=exc.type, title=exc.title, detail=exc.detail, **exc.extra)


def _http(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc, AuthenticationError):
        return problem(status=401, type="unauthenticated", title="Sign in or send a valid bearer token",
                       detail=str(exc) if str(exc) != "Unauthorized" else "", headers={"WWW-Authenticate": "Bearer"})
    if isinstance(exc, AuthorizationError):
        return problem(status=403, type="permission-denied", title="You may not do this", detail=str(exc))
    return problem(status=exc.status_code, type="http-error", title=str(exc) or "Request failed")


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


def install(api: NinjaAPI) -> None:
    api.add_exception_handler(Exception, _unexpected)
    api.add_exception_handler(SuspiciousOperation, _suspicious)
    api.add_exception_handler(Http404, _not_found)
    api.add_exception_handler(HttpError, _http)
    api.add_exception_handler(ValidationError, _validation)
    api.add_exception_handler(DomainError, _domain)
