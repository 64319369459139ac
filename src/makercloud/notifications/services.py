"""Every write about notifications.

`notify` is what other contexts call (automations, later others): a row in the person's inbox and, after commit, an
e-mail through Django's mail. A sender that may retry passes a `key`: the same key for the same person is one
notification, not two.
"""

import logging

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from makercloud.accounts.models import User
from makercloud.notifications.models import Notification

logger = logging.getLogger(__name__)


def _email(person: User, title: str, body: str, url: str) -> None:
    from django.conf import settings

    link = url if not url.startswith("/") else f"{settings.PUBLIC_URL}{url}"
    text = "\n\n".join(part for part in (body, link) if part)
    try:
        send_mail(subject=title, message=text, from_email=None, recipient_list=[person.email])
    except Exception:  # a mail server that is down must not undo the notification: the inbox has it
        logger.exception("could not e-mail notification %r to person %s", title, person.pk)


def notify(
    *, person: User, title: str, body: str = "", url: str = "", email: bool = True, key: str = ""
) -> Notification:
    """Put a notification in the person's inbox and (after commit) e-mail it. Returns it (the earlier one when `key`
    was used before)."""
    if key:
        earlier = Notification.objects.filter(person=person, key=key).first()
        if earlier is not None:
            return earlier
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                person=person, title=title[:200], body=body, url=url[:500], key=key[:200]
            )
    except IntegrityError:  # the same key raced in
        return Notification.objects.get(person=person, key=key)
    if email and person.email:
        transaction.on_commit(lambda: _email(person, notification.title, body, url))
    return notification


def notification_mark_read(*, person: User, notification_id: int | None = None) -> int:
    """Mark one of the person's notifications (or all of them) as read. Returns how many changed."""
    unread = Notification.objects.filter(person=person, read_at__isnull=True)
    if notification_id is not None:
        unread = unread.filter(pk=notification_id)
    return unread.update(read_at=timezone.now())
