"""The product's URLs plus /bare: the cheapest Django JSON view, as the yardstick for twin reads."""

from django.http import HttpRequest, JsonResponse
from django.urls import path

from makercloud.config.urls import urlpatterns as product


def bare(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


urlpatterns = [path("bare", bare), *product]
