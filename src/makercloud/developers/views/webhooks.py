"""developers pages: webhooks."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
