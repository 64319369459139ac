"""Reads of automations, scenes and runs. A person sees only their own; an app (OAuth token) only those it created
under its grant. Anything else does not exist (404)."""

from typing import Any

from django.db.models import QuerySet

from makercloud.accounts.models import User
from makercloud.automations.errors import AutomationNotFound, SceneNotFound
from makercloud.automations.models import Automation, Run, Scene
from makercloud.devices.models import Device, Invocation


def automations_of(*, person: User, grant: Any = None) -> QuerySet[Automation]:
    automations = Automation.objects.filter(owner=person)
    if grant is not None:
        automations = automations.filter(grant_id=grant.pk)
    return automations


def automation_get(*, viewer: User, automation_id: int, grant: Any = None) -> Automation:
    automation = automations_of(person=viewer, grant=grant).filter(pk=automation_id).first()
    if automation is None:
        raise AutomationNotFound()
    return automation


def runs_of(*, automation: Automation) -> QuerySet[Run]:
    return Run.objects.filter(automation=automation)


def scenes_of(*, person: User, grant: Any = None) -> QuerySet[Scene]:
    scenes = Scene.objects.filter(owner=person)
    if grant is not None:
        scenes = scenes.filter(grant_id=grant.pk)
    return scenes


def scene_get(*, viewer: User, scene_id: int, grant: Any = None) -> Scene:
    scene = scenes_of(person=viewer, grant=grant).filter(pk=scene_id).first()
    if scene is None:
        raise SceneNotFound()
    return scene


def recent_scene_runs(*, person: User, limit: int = 20) -> QuerySet[Run]:
    return Run.objects.filter(owner=person, scene__isnull=False).select_related("scene").order_by("-id")[:limit]


def device_names(*, device_ids: set[str]) -> dict[str, str]:
    """Names of devices an automation of the viewer's uses (checked on saving), for showing it."""
    return dict(Device.objects.filter(pk__in=device_ids).values_list("pk", "name"))


def invocation_statuses(*, runs: list[Run]) -> dict[str, str]:
    """The status now of every invocation the runs' logs name (for the run log page)."""
    ids = {entry["invocation"] for run in runs for entry in run.log if entry.get("invocation")}
    return {str(pk): status for pk, status in Invocation.objects.filter(pk__in=ids).values_list("pk", "status")}
