"""ledger pages: statements."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
