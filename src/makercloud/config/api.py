"""The HTTP API under /api/v1: one NinjaAPI, one router per bounded context."""

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, URLResolver
from ninja import NinjaAPI, Swagger
from ninja.openapi.schema import REF_TEMPLATE, OpenAPISchema
from ninja.operation import Operation
from ninja.schema import NinjaGenerateJsonSchema

from makercloud.accounts.api import router as accounts_router
from makercloud.automations.api import router as automations_router
from makercloud.calls.api import router as calls_router
from makercloud.contracts.api import router as contracts_router
from makercloud.core import problems
from makercloud.developers.api import router as developers_router
from makercloud.developers.api.clients import rate_limited
from makercloud.developers.errors import RateLimited
from makercloud.devices.api import router as devices_router
from makercloud.ledger.api import router as ledger_router
from makercloud.ventures.api import router as ventures_router

DESCRIPTION = """\
The open API of makercloud: people, organisations, ventures and the event timeline.

* **Authentication** — a browser session (with Django's CSRF check on writes) or a personal access token,
  `Authorization: Bearer mc_pat_…`, which carries scopes. Each operation names the scope a token needs under
  *security*. Public reads (ventures, organisation profiles, members) need no credentials at all.
* **Errors** — RFC 9457 `application/problem+json` with a stable `type`, `title`, `status`, `detail` and, for
  validation, `errors: [{loc, msg}]`.
* **Lists** — cursor pagination: pass `limit` (1–200) and the `next_cursor` of the previous page as `cursor`.
* **Times** — RFC 3339 in UTC. **Money** — `{"amount": 1999, "currency": "CNY"}`, integer minor units.
"""

BODY_STATUSES = (400, 413, 415, 422)


class MakercloudOpenAPI(OpenAPISchema):
    """ninja's document, completed with what every operation can answer and the token scope it needs."""

    def responses(self, operation: Operation) -> dict[int, Any]:
        result = super().responses(operation)
        sources = {model.__ninja_param_source__ for model in operation.models}
        implied: set[int] = set()
        if operation.auth_callbacks:
            implied |= {401, 403}
        if "body" in sources:
            implied |= set(BODY_STATUSES)
        if sources & {"query", "path"}:
            implied.add(422)
        if "path" in sources:
            implied.add(404)
        for status in implied - set(result):
            result[status] = {"content": {"application/json": {"schema": {"$ref": self._problem_ref()}}}}
        for status, response in result.items():
            if status >= 400:
                response["description"] = problems.MEANINGS.get(status, response.get("description", ""))
                content = response.pop("content", {})
                response["content"] = {problems.CONTENT_TYPE: content.get("application/json", {})}
        return dict(sorted(result.items()))

    def _problem_ref(self) -> str:
        if "Problem" not in self.schemas:
            schema = problems.Problem.model_json_schema(
                ref_template=REF_TEMPLATE, schema_generator=NinjaGenerateJsonSchema, mode="serialization"
            )
            self.add_schema_definitions(schema.pop("$defs", {}))
            self.schemas["Problem"] = schema
        return REF_TEMPLATE.format(model="Problem")

    def operation_security(self, operation: Operation) -> list[dict[str, Any]] | None:
        result = super().operation_security(operation)
        if result is None:
            return None
        documented = [auth for auth in operation.auth_callbacks if hasattr(auth, "openapi_security_schema")]
        for requirement, auth in zip(result, documented, strict=True):
            scope = getattr(auth, "scope", None)
            if scope:
                requirement[type(auth).__name__] = [scope]
        if any(getattr(auth, "openapi_optional", False) for auth in operation.auth_callbacks):
            result.append({})  # anonymous callers are welcome too
        return result


class SwaggerUI(Swagger):
    """Swagger UI from our own static files, sending the CSRF token so a signed-in browser can try writes."""

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        # No validator badge: the page loads nothing from another origin.
        self.settings.update(validatorUrl=None, url=self.get_openapi_url(api, kwargs))
        context = {"swagger_settings": json.dumps(self.settings, indent=1), "api": api, "add_csrf": True}
        return render(request, self.template, context)


class MakercloudAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation: Operation) -> str:
        return operation.view_func.__name__  # handler names are unique across routers and read like the action

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        return MakercloudOpenAPI(self, path_prefix)

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        urls = super()._get_urls()
        for url in urls:
            if isinstance(url, URLPattern):
                url.callback = problems.method_not_allowed(url.callback)
        return urls


api = MakercloudAPI(
    title="makercloud API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    docs=SwaggerUI(),
)
problems.install(api)
api.add_exception_handler(RateLimited, rate_limited)  # type: ignore[arg-type]  # 429 with Retry-After
api.add_router("", accounts_router)
api.add_router("", ventures_router)
api.add_router("", devices_router)
api.add_router("", developers_router)
api.add_router("", automations_router)
api.add_router("", ledger_router)
api.add_router("", calls_router)
api.add_router("", contracts_router)
