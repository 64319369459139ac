"""notify: a notification in the person's inbox, e-mailed after commit, once per key; the inbox and the nav count."""

from collections.abc import Callable

from django.core import mail
from django.test import Client

from makercloud.accounts.models import User
from makercloud.notifications.models import Notification
from makercloud.notifications.services import notify


def test_a_notification_lands_in_the_inbox_and_in_the_mailbox_once_per_key(
    make_person: Callable[..., User], django_capture_on_commit_callbacks: Callable[..., object]
) -> None:
    person = make_person("zhao@example.com")
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[attr-defined]
        first = notify(person=person, title="The wash is done", body="Cotton, 92 minutes.", url="/home/", key="k1")
        again = notify(person=person, title="The wash is done", body="Cotton, 92 minutes.", url="/home/", key="k1")
        notify(person=person, title="No e-mail for this one", email=False)
    assert first.pk == again.pk
    assert Notification.objects.filter(person=person).count() == 2
    assert [(m.subject, m.to) for m in mail.outbox] == [("The wash is done", ["zhao@example.com"])]
    assert "Cotton, 92 minutes." in mail.outbox[0].body and "/home/" in mail.outbox[0].body


def test_the_inbox_shows_only_ones_own_and_counts_the_unread(
    make_person: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    person, other = make_person(), make_person()
    notify(person=person, title="Hall is hot", email=False)
    notify(person=person, title="Filter is dirty", email=False)
    notify(person=other, title="Someone else's secret", email=False)
    browser = client_for(person)
    page = browser.get("/notifications/").content.decode()
    assert "Hall is hot" in page and "Filter is dirty" in page and "secret" not in page
    assert '<span class="badge warn">2<span class="visually-hidden"> unread</span>' in page

    one = Notification.objects.get(title="Hall is hot")
    browser.post("/notifications/read/", {"notification": str(one.pk)})
    assert '<span class="badge warn">1<span' in browser.get("/notifications/").content.decode()
    browser.post("/notifications/read/", {"notification": str(Notification.objects.get(person=other).pk)})
    assert Notification.objects.get(person=other).read_at is None  # not theirs to mark
    browser.post("/notifications/read/")
    assert not Notification.objects.filter(person=person, read_at__isnull=True).exists()
    assert "badge warn" not in browser.get("/notifications/").content.decode().split("<main")[0]
    assert Client().get("/notifications/").status_code == 302  # sign in first
