"""calls pages: the kinds sub-domain."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
