"""Reads of notifications: a person only ever sees their own."""

from django.db.models import QuerySet

from makercloud.accounts.models import User
from makercloud.notifications.models import Notification


def inbox_of(*, person: User) -> QuerySet[Notification]:
    return Notification.objects.filter(person=person).order_by("-id")


def unread_count(*, person: User) -> int:
    if not person.is_authenticated:
        return 0
    return Notification.objects.filter(person=person, read_at__isnull=True).count()
