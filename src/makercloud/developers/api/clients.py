"""developers on the HTTP API: clients — a venture's apps, their review, usage, and people's grants to apps.

Handlers only parse, call one service or selector (after fetching the objects it acts on) and render.
"""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from makercloud.accounts.auth import caller, requires
from makercloud.core.pagination import CursorPage
from makercloud.core.problems import problem, responses
from makercloud.core.schemas import NO_NUL, Id, Input
from makercloud.developers.errors import RateLimited
from makercloud.developers.models import OAUTH_SCOPES, App, AppStatus, ClientType, Grant
from makercloud.developers.selectors import clients as selectors
from makercloud.developers.services import clients as services
from makercloud.ventures import selectors as ventures_selectors

router = Router(tags=["apps"])

OAuthScope = Literal["devices:read", "devices:control", "telemetry:read", "events:subscribe", "profile"]
AppName = Annotated[str, Field(min_length=1, max_length=80, pattern=NO_NUL)]
Description = Annotated[str, Field(max_length=2000, pattern=NO_NUL)]
RedirectUri = Annotated[str, Field(min_length=1, max_length=500, pattern=NO_NUL)]
IconData = Annotated[
    str,
    Field(max_length=90_000, pattern=NO_NUL, description="A PNG or JPEG of at most 64 KiB as a data: URL "
          "(`data:image/png;base64,…`)."),
]


def rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    """429 problem+json with Retry-After (installed on the API for RateLimited)."""
    return problem(status=429, type=exc.type, title=exc.title, detail=exc.detail,
                   headers={"Retry-After": str(exc.retry_after)}, **exc.extra)


# Output ---------------------------------------------------------------------------------------------------------


class AppOut(Schema):
    id: int
    venture_id: int = Field(..., description="The venture's organisation id.")
    name: str
    description: str
    client_id: str
    client_type: ClientType
    redirect_uris: list[str]
    scopes: list[str]
    status: AppStatus = Field(..., description="sandbox → in_review → approved | rejected; approved → suspended.")
    review_reason: str
    submitted_at: datetime | None
    reviewed_at: datetime | None
    created_at: datetime
    icon_url: str | None

    @staticmethod
    def resolve_icon_url(app: App) -> str | None:
        return f"/apps/{app.pk}/icon" if app.icon_type else None


class AppCreatedOut(AppOut):
    client_secret: str | None = Field(
        ..., description="Confidential apps only: shown this once; only a hash is kept. Rotate it if lost."
    )


class ClientSecretOut(Schema):
    client_id: str
    client_secret: str = Field(..., description="Shown this once; the previous secret no longer works.")


class UsageDay(Schema):
    day: date
    calls: int
    limited: int
    tokens: int


class UsageOut(Schema):
    tokens_issued: int
    api_calls: int
    rate_limited_calls: int
    active_grants: int
    days: list[UsageDay] = Field(..., description="The last 30 days that saw traffic, oldest first (UTC).")


class AppRef(Schema):
    id: int
    name: str
    venture_id: int


class DeviceRef(Schema):
    id: str
    name: str


class GrantOut(Schema):
    id: int
    app: AppRef
    scopes: list[str]
    devices: list[DeviceRef]
    created_at: datetime
    last_used_at: datetime | None

    @staticmethod
    def resolve_devices(grant: Grant) -> list[Any]:
        return list(grant.devices.all())


# Input ----------------------------------------------------------------------------------------------------------


class AppIn(Input):
    name: AppName
    description: Description = ""
    client_type: ClientType = Field(..., description="`confidential` (a server with a secret) or `public` (PKCE).")
    redirect_uris: list[RedirectUri] = Field(
        ..., min_length=1, max_length=10, description="https://…, or http:// for localhost only; matched exactly."
    )
    scopes: list[OAuthScope] = Field(..., min_length=1, max_length=len(OAUTH_SCOPES))
    icon: IconData | None = None


class AppPatch(Input):
    name: AppName | None = None
    description: Description | None = None
    redirect_uris: list[RedirectUri] | None = Field(None, min_length=1, max_length=10)
    scopes: list[OAuthScope] | None = Field(
        None, min_length=1, max_length=len(OAUTH_SCOPES),
        description="Scopes can be added only in the sandbox or after a rejection; dropping one trims grants.",
    )
    icon: IconData | None = None


class ReviewIn(Input):
    decision: Literal["approve", "reject", "suspend"]
    reason: Annotated[str, Field(max_length=2000, pattern=NO_NUL)] = Field(
        "", description="Required to reject or suspend: the makers read it."
    )


class AppFilter(Schema):
    status: AppStatus | None = None


# Apps -----------------------------------------------------------------------------------------------------------


def _created(app: App, secret: str | None) -> App:
    app.client_secret = secret  # type: ignore[attr-defined]  # on this answer only, never stored in the clear
    return app


@router.post(
    "/ventures/{venture_id}/apps",
    response={201: AppCreatedOut},
    auth=requires("apps:write"),
    summary="Register an app",
)
def app_register(request: HttpRequest, venture_id: Id, body: AppIn) -> Any:
    """Register an app of the venture (its members). It starts in the sandbox: only the venture's members can
    authorise it, and only for the venture's virtual devices, until an operator approves it.

    A confidential app gets its `client_secret` in this answer, once."""
    venture = ventures_selectors.venture_get(venture_id=venture_id)
    icon = services.decode_icon(body.icon)[0] if body.icon else None
    app, secret = services.app_register(
        actor=caller(request), venture=venture.organisation, name=body.name, description=body.description,
        client_type=body.client_type, redirect_uris=body.redirect_uris, scopes=body.scopes, icon=icon,
    )
    return Status(201, _created(app, secret))


@router.get("/apps", response=list[AppOut], auth=requires("apps:read"), summary="My ventures' apps")
@paginate(CursorPage)
def apps_list(request: HttpRequest, filters: Query[AppFilter]) -> Any:
    """The apps of the ventures you are a member of (operators: every app; `?status=in_review` is the queue)."""
    return selectors.apps_of(actor=caller(request), status=filters.status)


@router.get("/apps/{app_id}", response=AppOut, auth=requires("apps:read"), summary="An app")
def app_get(request: HttpRequest, app_id: Id) -> Any:
    """One app. Its venture's members and operators only; to others it does not exist (404)."""
    return selectors.app_get_for_maker(actor=caller(request), app_id=app_id)


@router.patch("/apps/{app_id}", response={200: AppOut, **responses(409)}, auth=requires("apps:write"),
              summary="Change an app")
def app_update(request: HttpRequest, app_id: Id, body: AppPatch) -> Any:
    """Change the name, description, redirect URIs, scopes or icon (the venture's members)."""
    user = caller(request)
    app = selectors.app_get_for_maker(actor=user, app_id=app_id)
    icon = services.decode_icon(body.icon)[0] if body.icon else None
    return services.app_update(actor=user, app=app, name=body.name, description=body.description,
                               redirect_uris=body.redirect_uris, scopes=body.scopes, icon=icon)


@router.post("/apps/{app_id}/secret", response={201: ClientSecretOut, **responses(409)}, auth=requires("apps:write"),
             summary="Rotate an app's client secret")
def app_rotate_secret(request: HttpRequest, app_id: Id) -> Any:
    """A new client secret (confidential apps), shown this once; the old one stops working at once."""
    user = caller(request)
    app = selectors.app_get_for_maker(actor=user, app_id=app_id)
    return Status(201, {"client_id": app.client_id, "client_secret": services.app_rotate_secret(actor=user, app=app)})


@router.post("/apps/{app_id}/submit", response={200: AppOut, **responses(409)}, auth=requires("apps:write"),
             summary="Submit an app for review")
def app_submit(request: HttpRequest, app_id: Id) -> Any:
    """From the sandbox (or after a rejection) to the operators' review queue."""
    user = caller(request)
    return services.app_submit(actor=user, app=selectors.app_get_for_maker(actor=user, app_id=app_id))


@router.post("/apps/{app_id}/review", response={200: AppOut, **responses(409)}, auth=requires("apps:write"),
             summary="Review an app (operators)")
def app_review(request: HttpRequest, app_id: Id, body: ReviewIn) -> Any:
    """Approve or reject an app in review, or suspend an approved one; a rejection or suspension says why.

    Approved apps can be authorised by every user. Rejecting revokes grants beyond the sandbox; suspending revokes
    every grant and token of the app at once."""
    user = caller(request)
    app = selectors.app_get_for_maker(actor=user, app_id=app_id)
    return services.app_review(actor=user, app=app, decision=body.decision, reason=body.reason)


@router.get("/apps/{app_id}/usage", response=UsageOut, auth=requires("apps:read"), summary="An app's usage")
def app_usage(request: HttpRequest, app_id: Id) -> Any:
    """Tokens issued, API calls and rate-limited calls by day, and the grants active now."""
    return selectors.app_usage(app=selectors.app_get_for_maker(actor=caller(request), app_id=app_id))


# Grants (connected apps) ----------------------------------------------------------------------------------------


@router.get("/me/grants", response=list[GrantOut], auth=requires("grants:manage"), summary="My connected apps")
@paginate(CursorPage)
def grants_list(request: HttpRequest) -> Any:
    """Every app you have authorised and not revoked: its scopes, the devices it reaches, since when, last use."""
    return selectors.grants_of(person=caller(request))


@router.delete("/me/grants/{grant_id}", response={204: None}, auth=requires("grants:manage"),
               summary="Revoke a connected app")
def grant_revoke(request: HttpRequest, grant_id: Id) -> Any:
    """The app loses the grant and every access and refresh token of it, at once."""
    user = caller(request)
    services.grant_revoke(actor=user, grant=selectors.grant_get(person=user, grant_id=grant_id))
    return Status(204, None)
