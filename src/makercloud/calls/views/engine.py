"""calls pages: the engine sub-domain."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
