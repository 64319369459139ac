"""HTTP endpoints of the gateway: EMQX's auth and ACL hooks (they call gateway.auth), and operators' stats."""

import hmac
import json
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from makercloud.accounts import selectors as accounts_selectors
from makercloud.accounts import services as accounts_services
from makercloud.gateway import auth
from makercloud.gateway.selectors import gateway_stats


def _bearer(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.startswith("Bearer ") else ""


def _hook_body(request: HttpRequest) -> dict[str, Any] | None:
    if not hmac.compare_digest(_bearer(request), auth.hook_token()):
        return None
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _verdict(allow: bool, **extra: Any) -> JsonResponse:
    return JsonResponse({"result": "allow" if allow else "deny", **extra})


@csrf_exempt
@require_POST
def emqx_authenticate(request: HttpRequest) -> JsonResponse:
    """EMQX HTTP authentication: body {"clientid", "username", "password"} -> {"result": "allow"|"deny"}."""
    body = _hook_body(request)
    if body is None:
        return JsonResponse({"result": "deny"}, status=401)
    principal = auth.authenticate(
        client_id=str(body.get("clientid") or ""), username=str(body.get("username") or ""),
        password=str(body["password"]) if body.get("password") is not None else None,
    )
    return _verdict(principal is not None, is_superuser=False)


@csrf_exempt
@require_POST
def emqx_authorize(request: HttpRequest) -> JsonResponse:
    """EMQX HTTP authorization: body {"clientid", "username", "topic", "action"} -> {"result": "allow"|"deny"}.

    EMQX only asks for clients it has authenticated through `emqx_authenticate`, so the username is trusted here.
    """
    body = _hook_body(request)
    if body is None:
        return JsonResponse({"result": "deny"}, status=401)
    principal = auth.principal_for(str(body.get("username") or ""))
    action = str(body.get("action") or "")
    topic = str(body.get("topic") or "")
    if principal is None or action not in {"publish", "subscribe"} or not topic:
        return _verdict(False)
    if principal.device_id is not None and body.get("clientid") != principal.device_id:
        return _verdict(False)
    return _verdict(auth.allowed(principal, topic, action))


@require_GET
def stats(request: HttpRequest) -> JsonResponse:
    """Every gateway's counters (received, accepted, rejected by reason, batches, lag), for operators."""
    person = request.user if request.user.is_authenticated else None
    if token := _bearer(request):
        pat = accounts_services.token_authenticate(raw=token)
        person = pat.person if pat is not None else None
    if not accounts_selectors.is_operator(person=person):
        return JsonResponse(
            {"type": "permission-denied", "title": "Only operators may see the gateway's stats", "status": 403},
            status=403, content_type="application/problem+json",
        )
    return JsonResponse(gateway_stats())
