from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views import defaults

from makercloud.config.api import api
from makercloud.core import health, problems
from makercloud.core import views as core_views
from makercloud.developers import oauth

admin.site.site_header = "makercloud operations"
admin.site.site_title = "makercloud"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("makercloud.accounts.urls")),
    path("", include("makercloud.ventures.urls")),
    path("", include("makercloud.devices.urls")),
    path("gateway/", include("makercloud.gateway.urls")),
    path("", include("makercloud.ledger.urls")),
    path("", include("makercloud.developers.urls")),
    path("", include((oauth.urlpatterns(), "oauth2_provider"))),  # /o/… and /.well-known/oauth-authorization-server
    path("", include("makercloud.automations.urls")),
    path("", include("makercloud.notifications.urls")),
    path("", include("makercloud.calls.urls")),
    path("", include("makercloud.contracts.urls")),
    path("", include("makercloud.web.urls")),
]


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return problems.problem(status=404, type="not-found", title="Not found", detail=f"Nothing at {request.path}")
    return defaults.page_not_found(request, exception, template_name="404.html")


def handler400(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return problems.problem(status=400, type="bad-request", title="The request is malformed")
    return defaults.bad_request(request, exception, template_name="400.html")


def handler403(request: HttpRequest, exception: Exception) -> HttpResponse:
    return core_views.forbidden(request, exception)  # the reason on the page; one log line, no traceback


def handler500(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return problems.problem(status=500, type="internal", title="Something went wrong on our side")
    return defaults.server_error(request, template_name="500.html")


__all__ = ["handler400", "handler403", "handler404", "handler500", "settings", "urlpatterns"]
