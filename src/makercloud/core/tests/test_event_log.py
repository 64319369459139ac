import pytest
from django.db import DatabaseError, transaction

from makercloud.core.events import record_event
from makercloud.core.models import Event


def test_the_database_refuses_to_change_or_delete_an_event(maker) -> None:
    event = record_event(actor=maker, subject=maker, kind="test.happened", data={"n": 1})
    with pytest.raises(DatabaseError), transaction.atomic():
        Event.objects.filter(pk=event.pk).update(kind="test.rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        Event.objects.filter(pk=event.pk).delete()
    stored = Event.objects.get(pk=event.pk)
    assert (stored.kind, stored.data, stored.actor_id) == ("test.happened", {"n": 1}, maker.pk)


def test_an_event_records_its_subject_actor_and_time(maker) -> None:
    event = record_event(actor=maker, subject=maker, kind="person.waved", public=True)
    assert (event.subject_type, event.subject_id) == ("user", str(maker.pk))
    assert event.created_at is not None and event.public
