"""Automations and scenes on the HTTP API (DESIGN §5): `GET, POST /automations`, `GET, PATCH, DELETE
/automations/{id}`, `GET /automations/{id}/runs`, `GET, POST /scenes`, `GET, PATCH, DELETE /scenes/{id}`,
`POST /scenes/{id}/run`.

Reading needs `devices:read`, writing `devices:control`. A person's automations and scenes may use only the devices in
their home (automations.access); with an app's OAuth token they are the ones the app created for the person, and
they may use only the devices of its grant.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from makercloud.accounts.auth import caller, requires
from makercloud.automations import grants, selectors, services
from makercloud.automations.models import RunStatus, StopReason
from makercloud.core.errors import InvalidInput
from makercloud.core.pagination import CursorPage
from makercloud.core.problems import responses
from makercloud.core.schemas import NO_NUL, Id, Input, Name

router = Router(tags=["automations"])

DeviceId = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z0-9]+$")]
Affordance = Annotated[str, Field(min_length=1, max_length=120, pattern=NO_NUL)]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class EventTrigger(Input):
    kind: Literal["event"]
    device: DeviceId
    event: Affordance = Field(..., description="An event of the device's model.")
    match: Any = Field(None, description="Optional: the event's data must contain this (objects match by subset).")


class ThresholdTrigger(Input):
    kind: Literal["threshold"]
    device: DeviceId
    property: Affordance = Field(..., description="A numeric property of the device's model.")
    direction: Literal["above", "below"]
    threshold: float
    hysteresis: float = Field(
        0, ge=0, description="Fires once on crossing; re-arms only when the value is back past threshold ∓ this."
    )


class ScheduleTrigger(Input):
    kind: Literal["schedule"]
    cron: str | None = Field(None, max_length=100, pattern=NO_NUL,
                             description="Five cron fields: minute hour day-of-month month day-of-week.")
    time: str | None = Field(None, pattern=r"^\d{2}:\d{2}$", description="Or a daily time, HH:MM.")
    weekdays: list[Weekday] | None = Field(None, max_length=7, description="With `time`: only on these days.")
    timezone: str = Field("UTC", max_length=64, pattern=NO_NUL, description="An IANA time zone, e.g. Asia/Shanghai.")


Trigger = Annotated[EventTrigger | ThresholdTrigger | ScheduleTrigger, Field(discriminator="kind")]


class InvokeAction(Input):
    kind: Literal["invoke"]
    device: DeviceId
    action: Affordance
    input: Any = Field(None, description="The action's input, as its input schema describes.")


class DesiredAction(Input):
    kind: Literal["set_desired"]
    device: DeviceId
    state: dict[str, Any] = Field(..., description="Writable properties and their values.")


class NotifyAction(Input):
    kind: Literal["notify"]
    title: str = Field(..., min_length=1, max_length=200, pattern=NO_NUL)
    body: str = Field("", max_length=2000, pattern=NO_NUL)


Action = Annotated[InvokeAction | DesiredAction | NotifyAction, Field(discriminator="kind")]
Actions = Annotated[list[Action], Field(min_length=1, max_length=services.MAX_ACTIONS)]


class AutomationIn(Input):
    name: Name
    enabled: bool = True
    trigger: Trigger
    actions: Actions


class AutomationPatch(Input):
    name: Name | None = None
    enabled: bool | None = None
    trigger: Trigger | None = None
    actions: Actions | None = None


class AutomationOut(Schema):
    id: int
    name: str
    enabled: bool
    trigger: dict[str, Any]
    actions: list[dict[str, Any]]
    armed: bool = Field(..., description="A threshold trigger: ready to fire on the next crossing.")
    next_run_at: datetime | None = Field(..., description="A schedule: when it fires next.")
    by_app: bool = Field(..., description="Created by an app acting for you.")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_by_app(automation: Any) -> bool:
        return automation.grant_id is not None


class RunOut(Schema):
    id: int
    automation_id: int | None
    scene_id: int | None
    status: RunStatus
    reason: StopReason | Literal[""] = Field(..., description="Why it was stopped or skipped (loop, rate, …).")
    detail: str
    cause: dict[str, Any] = Field(..., description="What triggered it: the event, the crossing or the schedule.")
    chain: list[int] = Field(..., description="The automations whose actions led to this run, oldest first.")
    log: list[dict[str, Any]] = Field(..., description="Each action's outcome: invocation id, error.")
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class SceneIn(Input):
    name: Name
    actions: Actions


class ScenePatch(Input):
    name: Name | None = None
    actions: Actions | None = None


class SceneOut(Schema):
    id: int
    name: str
    actions: list[dict[str, Any]]
    created_at: datetime


def _dumped(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, list):
        return [item.model_dump() for item in value]
    return value.model_dump()


@router.get("/automations", response=list[AutomationOut], auth=requires("devices:read"), summary="My automations")
@paginate(CursorPage)
def automations_list(request: HttpRequest) -> Any:
    """Your automations, newest first (with an app's token: those it created for you)."""
    return selectors.automations_of(person=caller(request), grant=grants.of_request(request))


@router.post(
    "/automations", response={201: AutomationOut}, auth=requires("devices:control"), summary="Create an automation"
)
def automation_create(request: HttpRequest, body: AutomationIn) -> Any:
    """A trigger (a device event, a property crossing a threshold, or a schedule) and the actions it runs
    (invoke a device action, set desired state, notify you), across the devices in your home, whichever venture
    made them (with an app's token: the devices of its grant).

    Events, properties and actions must exist in each device's model, and inputs and states fit their schemas
    (422 `validation`, each problem located in `errors`); any other device — one of a venture you belong to but not
    in your home, too — is 403 `device-not-controllable`.
    """
    automation = services.automation_create(
        actor=caller(request), name=body.name, enabled=body.enabled, trigger=_dumped(body.trigger),
        actions=_dumped(body.actions), grant=grants.of_request(request),
    )
    return Status(201, automation)


@router.get("/automations/{automation_id}", response=AutomationOut, auth=requires("devices:read"),
            summary="An automation")
def automation_get(request: HttpRequest, automation_id: Id) -> Any:
    """One of your automations: its trigger, actions, whether it is on, a threshold's armed state, a schedule's
    next run. Someone else's does not exist (404)."""
    return selectors.automation_get(viewer=caller(request), automation_id=automation_id,
                                    grant=grants.of_request(request))


@router.patch("/automations/{automation_id}", response=AutomationOut, auth=requires("devices:control"),
              summary="Change an automation")
def automation_update(request: HttpRequest, automation_id: Id, body: AutomationPatch) -> Any:
    """Rename, turn on or off, or replace the trigger or the actions (checked as on creation)."""
    user, grant = caller(request), grants.of_request(request)
    automation = selectors.automation_get(viewer=user, automation_id=automation_id, grant=grant)
    return services.automation_update(
        actor=user, automation=automation, name=body.name, enabled=body.enabled, trigger=_dumped(body.trigger),
        actions=_dumped(body.actions), grant=grant,
    )


@router.delete("/automations/{automation_id}", response={204: None}, auth=requires("devices:control"),
               summary="Delete an automation")
def automation_delete(request: HttpRequest, automation_id: Id) -> Any:
    """Delete the automation and its run log."""
    user = caller(request)
    automation = selectors.automation_get(viewer=user, automation_id=automation_id, grant=grants.of_request(request))
    services.automation_delete(actor=user, automation=automation)
    return Status(204, None)


@router.get("/automations/{automation_id}/runs", response=list[RunOut], auth=requires("devices:read"),
            summary="An automation's runs")
@paginate(CursorPage)
def automation_runs(request: HttpRequest, automation_id: Id) -> Any:
    """The run log, newest first: what triggered each run, its status, and each action's outcome (with the
    invocation id). A run stopped as a loop (`reason: loop`) names the automations of the loop in `detail`."""
    automation = selectors.automation_get(viewer=caller(request), automation_id=automation_id,
                                          grant=grants.of_request(request))
    return selectors.runs_of(automation=automation)


@router.get("/scenes", response=list[SceneOut], auth=requires("devices:read"), summary="My scenes")
@paginate(CursorPage)
def scenes_list(request: HttpRequest) -> Any:
    """Your scenes, newest first (with an app's token: those it created for you)."""
    return selectors.scenes_of(person=caller(request), grant=grants.of_request(request))


@router.post("/scenes", response={201: SceneOut}, auth=requires("devices:control"), summary="Create a scene")
def scene_create(request: HttpRequest, body: SceneIn) -> Any:
    """A one-tap list of actions, checked like an automation's."""
    scene = services.scene_create(actor=caller(request), name=body.name, actions=_dumped(body.actions),
                                  grant=grants.of_request(request))
    return Status(201, scene)


@router.get("/scenes/{scene_id}", response=SceneOut, auth=requires("devices:read"), summary="A scene")
def scene_get(request: HttpRequest, scene_id: Id) -> Any:
    """One of your scenes and its actions."""
    return selectors.scene_get(viewer=caller(request), scene_id=scene_id, grant=grants.of_request(request))


@router.patch("/scenes/{scene_id}", response=SceneOut, auth=requires("devices:control"), summary="Change a scene")
def scene_update(request: HttpRequest, scene_id: Id, body: ScenePatch) -> Any:
    """Rename the scene or replace its actions (checked as on creation)."""
    user, grant = caller(request), grants.of_request(request)
    scene = selectors.scene_get(viewer=user, scene_id=scene_id, grant=grant)
    return services.scene_update(actor=user, scene=scene, name=body.name, actions=_dumped(body.actions), grant=grant)


@router.delete("/scenes/{scene_id}", response={204: None}, auth=requires("devices:control"), summary="Delete a scene")
def scene_delete(request: HttpRequest, scene_id: Id) -> Any:
    """Delete the scene and its runs."""
    user = caller(request)
    services.scene_delete(actor=user, scene=selectors.scene_get(viewer=user, scene_id=scene_id,
                                                                grant=grants.of_request(request)))
    return Status(204, None)


@router.post(
    "/scenes/{scene_id}/run",
    response={200: RunOut, 201: RunOut, **responses(409)},
    auth=requires("devices:control"),
    summary="Run a scene",
)
def scene_run(request: HttpRequest, scene_id: Id) -> Any:
    """Run the scene's actions now; the answer is the run with each action's outcome (invocation ids).

    With an `Idempotency-Key` header a retry returns the first run (200) and acts no more.
    """
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > 200 or "\x00" in key:
        raise InvalidInput(detail="An Idempotency-Key has at most 200 characters.")
    user = caller(request)
    scene = selectors.scene_get(viewer=user, scene_id=scene_id, grant=grants.of_request(request))
    run, created = services.scene_run(actor=user, scene=scene, idempotency_key=key)
    return Status(201 if created else 200, run)
