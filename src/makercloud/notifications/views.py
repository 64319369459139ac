"""The notifications inbox."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from makercloud.notifications import selectors, services

PAGE_SIZE = 50


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.inbox_of(person=request.user), PAGE_SIZE).get_page(request.GET.get("page"))  # type: ignore[arg-type]
    return render(request, "notifications/inbox.html", {"page": page})


@login_required
@require_POST
def mark_read(request: HttpRequest) -> HttpResponse:
    raw = request.POST.get("notification", "")
    services.notification_mark_read(
        person=request.user,  # type: ignore[arg-type]
        notification_id=int(raw) if raw.isdigit() and len(raw) < 19 else None,
    )
    return redirect("notifications:inbox")
