from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from makercloud.ventures import selectors as venture_selectors


def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "web/landing.html", {"ventures": venture_selectors.ventures_public()[:12]})


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "web/dashboard.html", {})
