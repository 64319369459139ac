"""Writing to the domain-event log. Every service that changes something records what happened here."""

from typing import Any

from django.db import models

from makercloud.core.models import Event


def subject_of(obj: models.Model) -> tuple[str, str]:
    return obj._meta.model_name or "object", str(obj.pk)


def record_event(
    *,
    actor: Any,
    subject: models.Model,
    kind: str,
    organisation: Any = None,
    public: bool = False,
    data: dict[str, Any] | None = None,
) -> Event:
    subject_type, subject_id = subject_of(subject)
    return Event.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        kind=kind,
        subject_type=subject_type,
        subject_id=subject_id,
        organisation_id=getattr(organisation, "pk", organisation),
        public=public,
        data=data or {},
    )
