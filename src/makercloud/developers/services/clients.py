"""developers services (writes): clients — registering apps, their review, users' grants, usage and rate limits.

Who may do what:
- the members of an app's venture register, change, submit it and rotate its secret;
- operators approve, reject (with a reason) or suspend it;
- a sandbox (or rejected) app may be authorised only by its venture's members and only for the venture's virtual
  devices; an approved app by anyone, for the devices of their home; a suspended app by nobody;
- a person revokes their own grant; revoking deletes every access and refresh token of it at once.
"""

import base64
import logging
import secrets
import threading
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import AccessToken, Application, RefreshToken
from oauth2_provider.models import Grant as AuthorizationCode

from makercloud.accounts import selectors as accounts_selectors
from makercloud.accounts.errors import NotOperator
from makercloud.accounts.models import MANAGING_ROLES, Membership, Organisation, User
from makercloud.core.events import record_event
from makercloud.core.ratelimits import window_count
from makercloud.developers.errors import (
    AppNotAuthorisable,
    AppNotReviewable,
    GrantNotFound,
    InvalidApp,
    InvalidConsent,
    NotAppMaker,
    RateLimited,
)
from makercloud.developers.models import OAUTH_SCOPES, App, AppStatus, AppUsage, ClientType, Grant
from makercloud.devices.models import Device

logger = logging.getLogger(__name__)
MAX_REDIRECT_URIS = 10
MAX_ICON_BYTES = 64 * 1024
ICON_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


# Checks ---------------------------------------------------------------------------------------------------------


def is_app_manager(*, person: User, venture: Organisation) -> bool:
    """Apps, their secrets and webhook endpoints are changed by the venture's owners and admins (members read them)."""
    return accounts_selectors.role_in(person=person, organisation=venture) in MANAGING_ROLES


def ensure_app_manager(*, actor: User, venture: Organisation) -> None:
    if not is_app_manager(person=actor, venture=venture):
        raise NotAppMaker()


def check_redirect_uris(uris: Iterable[str]) -> list[str]:
    """Absolute https URIs (http only for localhost, RFC 8252), no fragment, matched exactly at authorisation."""
    cleaned: list[str] = []
    for raw in uris:
        uri = raw.strip()
        try:
            parts = urlsplit(uri)
        except ValueError as error:
            raise InvalidApp(detail=_("%(uri)s is not a URI.") % {"uri": uri}) from error
        if parts.scheme not in {"https", "http"} or not parts.hostname:
            raise InvalidApp(detail=_("%(uri)s: a redirect URI is an absolute https:// URI.") % {"uri": uri})
        if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
            raise InvalidApp(detail=_(
                "%(uri)s: http:// is allowed only for localhost and 127.0.0.1; use https://."
            ) % {"uri": uri})
        if parts.fragment or "#" in uri or any(c.isspace() for c in uri) or "*" in uri:
            raise InvalidApp(detail=_("%(uri)s: no fragment, spaces or wildcards in a redirect URI.") % {"uri": uri})
        if len(uri) > 500:
            raise InvalidApp(detail=_("A redirect URI has at most 500 characters."))
        if uri not in cleaned:
            cleaned.append(uri)
    if not cleaned:
        raise InvalidApp(detail=_("Give at least one redirect URI."))
    if len(cleaned) > MAX_REDIRECT_URIS:
        raise InvalidApp(detail=_("At most %(n)s redirect URIs.") % {"n": MAX_REDIRECT_URIS})
    return cleaned


def check_scopes(scopes: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(scopes))
    unknown = [s for s in wanted if s not in OAUTH_SCOPES]
    if unknown:
        raise InvalidApp(detail=_("Unknown scope %(scope)s; apps may ask for %(scopes)s.")
                         % {"scope": unknown[0], "scopes": ", ".join(OAUTH_SCOPES)})
    if not wanted:
        raise InvalidApp(detail=_("Ask for at least one scope."))
    return [s for s in OAUTH_SCOPES if s in wanted]  # in the documented order


def check_icon(data: bytes) -> str:
    """The icon's media type: PNG or JPEG only (no SVG: it can carry script), at most 64 KiB."""
    if len(data) > MAX_ICON_BYTES:
        raise InvalidApp(detail=_("The icon is %(size)s bytes; at most %(max)s bytes.")
                         % {"size": len(data), "max": MAX_ICON_BYTES})
    for magic, media_type in ICON_TYPES.items():
        if data.startswith(magic):
            return media_type
    raise InvalidApp(detail=_("The icon must be a PNG or JPEG image."))


def decode_icon(data_url: str) -> tuple[bytes, str]:
    """An icon sent on the API as `data:image/png;base64,…`."""
    header, _comma, payload = data_url.partition(",")
    if not header.startswith("data:") or not header.endswith(";base64"):
        raise InvalidApp(detail=_("Send the icon as a data: URL with base64 (data:image/png;base64,…)."))
    try:
        data = base64.b64decode(payload, validate=True)
    except ValueError as error:
        raise InvalidApp(detail=_("The icon's base64 is not valid.")) from error
    return data, check_icon(data)


# Apps -----------------------------------------------------------------------------------------------------------


@transaction.atomic
def app_register(
    *, actor: User, venture: Organisation, name: str, client_type: str, redirect_uris: Iterable[str],
    scopes: Iterable[str], description: str = "", icon: bytes | None = None, client_id: str | None = None,
) -> tuple[App, str | None]:
    """A new app in the sandbox, and its client secret (confidential apps; shown this once, stored hashed).

    `client_id` fixes the client id (the demo world's app); otherwise one is generated."""
    ensure_app_manager(actor=actor, venture=venture)
    if client_type not in ClientType.values:
        raise InvalidApp(detail=_("The client type is confidential or public."))
    uris = check_redirect_uris(redirect_uris)
    wanted = check_scopes(scopes)
    icon_type = check_icon(icon) if icon else ""
    secret = generate_client_secret() if client_type == ClientType.CONFIDENTIAL else None
    application = Application.objects.create(
        **({"client_id": client_id} if client_id else {}),
        name=name[:255],
        client_type=client_type,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=" ".join(uris),
        client_secret=secret or secrets.token_urlsafe(32),  # public clients never use theirs
        hash_client_secret=True,
        skip_authorization=False,
        user=None,
    )
    app = App.objects.create(
        venture=venture, name=name, description=description, client_type=client_type, redirect_uris=uris,
        scopes=wanted, application=application, created_by=actor, icon=icon or None, icon_type=icon_type,
    )
    record_event(actor=actor, subject=app, kind="app.registered", organisation=venture,
                 data={"name": name, "client_type": client_type, "scopes": wanted})
    return app, secret


def _app_for_update(app: App) -> App:
    return App.objects.select_for_update().select_related("application", "venture").get(pk=app.pk)


@transaction.atomic
def app_update(
    *, actor: User, app: App, name: str | None = None, description: str | None = None,
    redirect_uris: Iterable[str] | None = None, scopes: Iterable[str] | None = None, icon: bytes | None = None,
) -> App:
    """Change an app. A submitted or approved app may drop scopes and redirect URIs but not add any: what a user's
    consent and the operators' review relied on (where codes go, what tokens may do) changes only through a new
    review, so they can be added only while the app is in the sandbox or rejected. Grants lose the dropped scopes."""
    ensure_app_manager(actor=actor, venture=app.venture)
    app = _app_for_update(app)
    changed: dict[str, Any] = {}
    if name is not None and name != app.name:
        app.name = app.application.name = changed["name"] = name
    if description is not None and description != app.description:
        app.description = changed["description"] = description
    if redirect_uris is not None:
        uris = check_redirect_uris(redirect_uris)
        added = set(uris) - set(app.redirect_uris)
        if added and app.status not in {AppStatus.SANDBOX, AppStatus.REJECTED}:
            raise AppNotReviewable(
                detail=_("An app that was submitted or approved cannot add redirect URIs (%(uris)s).")
                % {"uris": ", ".join(sorted(added))}
            )
        if uris != app.redirect_uris:
            app.redirect_uris = changed["redirect_uris"] = uris
            app.application.redirect_uris = " ".join(uris)
    if scopes is not None:
        wanted = check_scopes(scopes)
        added = set(wanted) - set(app.scopes)
        if added and app.status not in {AppStatus.SANDBOX, AppStatus.REJECTED}:
            raise AppNotReviewable(
                detail=_("An app that was submitted or approved cannot ask for more scopes (%(scopes)s).")
                % {"scopes": ", ".join(sorted(added))}
            )
        if wanted != app.scopes:
            app.scopes = changed["scopes"] = wanted
            for grant in Grant.objects.select_for_update().filter(app=app, revoked_at__isnull=True):
                kept = [s for s in grant.scopes if s in wanted]
                if kept != grant.scopes:
                    grant.scopes = kept
                    grant.save(update_fields=["scopes", "updated_at"])
    if icon is not None:
        app.icon_type = check_icon(icon)
        app.icon = icon
        changed["icon"] = app.icon_type
    if changed:
        app.application.save()
        app.save()
        record_event(actor=actor, subject=app, kind="app.changed", organisation=app.venture,
                     data={k: v for k, v in changed.items() if k != "description"})
    return app


@transaction.atomic
def app_rotate_secret(*, actor: User, app: App) -> str:
    """A new client secret for a confidential app, shown this once; the old one stops working at once."""
    ensure_app_manager(actor=actor, venture=app.venture)
    app = _app_for_update(app)
    if app.client_type != ClientType.CONFIDENTIAL:
        raise AppNotReviewable(detail=_("A public client has no secret; it proves itself with PKCE."))
    secret = generate_client_secret()
    app.application.client_secret = secret
    app.application.save(update_fields=["client_secret", "updated"])
    record_event(actor=actor, subject=app, kind="app.secret_rotated", organisation=app.venture)
    return secret


@transaction.atomic
def app_submit(*, actor: User, app: App) -> App:
    """Ask the operators to review the app (from the sandbox, or again after a rejection)."""
    ensure_app_manager(actor=actor, venture=app.venture)
    app = _app_for_update(app)
    if app.status not in {AppStatus.SANDBOX, AppStatus.REJECTED}:
        raise AppNotReviewable(detail=_("The app is %(status)s; only a sandbox or rejected app can be submitted.")
                               % {"status": app.get_status_display()})
    app.status = AppStatus.IN_REVIEW
    app.submitted_at = timezone.now()
    app.save(update_fields=["status", "submitted_at"])
    record_event(actor=actor, subject=app, kind="app.submitted", organisation=app.venture)
    return app


REVIEW_DECISIONS = {"approve", "reject", "suspend"}


@transaction.atomic
def app_review(*, actor: User, app: App, decision: str, reason: str = "") -> App:
    """An operator's decision: approve or reject an app in review (a rejection says why); suspend an approved one.

    A rejected app is back to sandbox rules, so grants beyond them are revoked; a suspended app loses every grant.
    """
    if not accounts_selectors.is_operator(person=actor):
        raise NotOperator()
    if decision not in REVIEW_DECISIONS:
        raise InvalidApp(detail=_("The decision is approve, reject or suspend."))
    reason = reason.strip()
    app = _app_for_update(app)
    if decision in {"approve", "reject"} and app.status != AppStatus.IN_REVIEW:
        raise AppNotReviewable(detail=_("The app is %(status)s, not in review.") % {"status": app.get_status_display()})
    if decision == "suspend" and app.status != AppStatus.APPROVED:
        raise AppNotReviewable(detail=_("Only an approved app can be suspended."))
    if decision in {"reject", "suspend"} and not reason:
        raise InvalidApp(detail=_("Say why, so that the makers can fix it."))
    app.status = {"approve": AppStatus.APPROVED, "reject": AppStatus.REJECTED, "suspend": AppStatus.SUSPENDED}[
        decision
    ]
    app.review_reason = reason
    app.reviewed_at = timezone.now()
    app.reviewed_by = actor
    app.save(update_fields=["status", "review_reason", "reviewed_at", "reviewed_by"])
    record_event(actor=actor, subject=app, kind=f"app.{'approved' if decision == 'approve' else decision + 'ed'}",
                 organisation=app.venture, data={"reason": reason} if reason else None)
    if decision == "suspend":
        for grant in Grant.objects.filter(app=app, revoked_at__isnull=True).select_related("app", "person"):
            _grant_revoke(grant=grant, actor=actor, why="app_suspended")
    elif decision == "reject":
        for grant in Grant.objects.filter(app=app, revoked_at__isnull=True).select_related("app", "person"):
            if not _sandbox_allows(app=app, person=grant.person, device_ids=grant.devices.values_list("pk", flat=True)):
                _grant_revoke(grant=grant, actor=actor, why="app_rejected")
    return app


# Consent and grants ---------------------------------------------------------------------------------------------


def _sandbox_devices(app: App) -> QuerySet[Device]:
    return Device.objects.filter(organisation=app.venture, sandbox=True)


def _sandbox_allows(*, app: App, person: User, device_ids: Iterable[str]) -> bool:
    ids = set(device_ids)
    if not accounts_selectors.is_member(person=person, organisation=app.venture):
        return False
    return _sandbox_devices(app).filter(pk__in=ids).count() == len(ids)


def ensure_authorisable(*, app: App, person: User) -> None:
    """Whether this person may authorise this app at all (before they choose devices)."""
    if app.status == AppStatus.SUSPENDED:
        raise AppNotAuthorisable(detail=_("This app has been suspended by the platform."))
    if app.status == AppStatus.APPROVED:
        return
    if not accounts_selectors.is_member(person=person, organisation=app.venture):
        raise AppNotAuthorisable(
            detail=_("This app is still being tested by its makers: only their venture's members can use it until "
                     "the platform approves it.")
        )


def consent_devices(*, app: App, person: User) -> QuerySet[Device]:
    """The devices a person may grant this app: their home's devices (approved apps); in the sandbox only the
    venture's virtual devices. Members of the app's venture may also grant its virtual devices once approved."""
    sandbox = _sandbox_devices(app) if accounts_selectors.is_member(person=person, organisation=app.venture) else None
    if app.status != AppStatus.APPROVED:
        return (sandbox if sandbox is not None else Device.objects.none()).select_related("model").order_by("name")
    home = Device.objects.filter(owner=person)
    if sandbox is not None:
        home = Device.objects.filter(Q(owner=person) | Q(organisation=app.venture, sandbox=True))
    return home.select_related("model").order_by("name")


@transaction.atomic
def grant_consent(*, person: User, app: App, scopes: Iterable[str], device_ids: Iterable[str]) -> Grant:
    """Record a person's consent: the scopes (a subset of what the app asks for) and the devices it may reach.

    Consenting again replaces the scopes and devices of the person's active grant (one per app).
    """
    app = App.objects.select_related("venture").get(pk=app.pk)
    ensure_authorisable(app=app, person=person)
    chosen = list(dict.fromkeys(scopes))
    if not chosen:
        raise InvalidConsent(detail=_("Choose at least one thing the app may do, or deny it."))
    beyond = [s for s in chosen if s not in app.scopes]
    if beyond:
        raise InvalidConsent(detail=_("The app did not ask for %(scope)s.") % {"scope": beyond[0]})
    ids = list(dict.fromkeys(device_ids))
    allowed = {d.pk: d for d in consent_devices(app=app, person=person).filter(pk__in=ids)}
    if len(allowed) != len(ids):
        raise InvalidConsent(detail=_("Choose only among the devices listed."))
    needs_devices = {"devices:read", "devices:control", "telemetry:read", "events:subscribe"} & set(chosen)
    if needs_devices and not ids:
        raise InvalidConsent(detail=_("Choose at least one device."))
    ordered = [s for s in OAUTH_SCOPES if s in chosen]
    grant = Grant.objects.select_for_update().filter(app=app, person=person, revoked_at__isnull=True).first()
    created = grant is None
    if grant is None:
        try:
            with transaction.atomic():
                grant = Grant.objects.create(app=app, person=person, scopes=ordered)
        except IntegrityError:  # the same consent posted twice at once: the other one made the grant
            grant = Grant.objects.select_for_update().get(app=app, person=person, revoked_at__isnull=True)
            created = False
    if not created:
        grant.scopes = ordered
        grant.save(update_fields=["scopes", "updated_at"])
    grant.devices.set(list(allowed.values()))
    record_event(actor=person, subject=grant, kind="grant.given" if created else "grant.changed",
                 organisation=app.venture, data={"app": app.pk, "scopes": grant.scopes, "devices": sorted(allowed)})
    return grant


def _tokens_delete(*, app: App, person: User) -> int:
    """Every access token, refresh token and unused authorisation code of the app for the person: gone."""
    application_id = app.application_id
    refresh = RefreshToken.objects.filter(application_id=application_id, user=person)
    access = AccessToken.objects.filter(application_id=application_id, user=person)
    count = access.count()
    refresh.delete()
    access.delete()
    AuthorizationCode.objects.filter(application_id=application_id, user=person).delete()
    return count


def _grant_revoke(*, grant: Grant, actor: User | None, why: str) -> Grant:
    grant.revoked_at = timezone.now()
    grant.save(update_fields=["revoked_at", "updated_at"])
    tokens = _tokens_delete(app=grant.app, person=grant.person)
    record_event(actor=actor, subject=grant, kind="grant.revoked", organisation=grant.app.venture,
                 data={"app": grant.app_id, "why": why, "tokens": tokens})
    _announce_revocation(grant=grant, why=why)
    return grant


def _announce_revocation(*, grant: Grant, why: str) -> None:
    """grant.revoked to the app's webhook endpoints, in this transaction (the deliveries are rows of it)."""
    from makercloud.developers.services.webhooks import app_event_enqueue  # here: webhooks reach back into clients

    app_event_enqueue(
        app=grant.app,
        type="grant.revoked",
        data={
            "grant": grant.pk,
            "person": grant.person_id,
            "devices": sorted(grant.devices.values_list("pk", flat=True)),
            "reason": why,
            "revoked_at": grant.revoked_at.isoformat() if grant.revoked_at else None,
        },
    )


@transaction.atomic
def grant_revoke(*, actor: User, grant: Grant) -> Grant:
    """The person withdraws their consent: the grant ends and every token of it stops working at once."""
    grant = Grant.objects.select_for_update().select_related("app__venture", "person").get(pk=grant.pk)
    if grant.person_id != actor.pk:
        raise GrantNotFound()
    if grant.revoked_at is not None:
        return grant
    return _grant_revoke(grant=grant, actor=actor, why="revoked_by_user")


def grants_follow_device_owner(sender: Any, instance: Device, update_fields: Any = None, **kwargs: Any) -> None:
    """When a device changes hands (claimed, unbound), the grants of people who no longer have it lose it, in the same
    transaction: their apps neither reach it nor hear of it any more (connected to Device's post_save)."""
    if not update_fields or "owner" not in update_fields:
        return
    through = Grant.devices.through
    keep = Q(grant__person_id=instance.owner_id) if instance.owner_id else Q(pk__in=[])
    members = Membership.objects.filter(organisation_id=instance.organisation_id).values("person_id")
    through.objects.filter(device_id=instance.pk, grant__revoked_at__isnull=True).exclude(
        keep | Q(grant__person_id__in=members)
    ).delete()


# Usage and rate limits ------------------------------------------------------------------------------------------
# API calls are counted in memory and added to the app's per-minute row at most every few seconds per process
# (one UPDATE for many calls); a crash loses at most those seconds of counts. Rate limits are fixed one-minute
# windows in Django's cache: exact per process on the embedded default, across processes with a shared cache.

FLUSH_SECONDS = 5.0
_pending: dict[tuple[int, datetime], list[int]] = {}
_pending_lock = threading.Lock()
_last_flush = time.monotonic()


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def usage_count(*, app_id: int, calls: int = 0, limited: int = 0, tokens: int = 0, at: datetime | None = None) -> None:
    global _last_flush
    key = (app_id, _minute(at or timezone.now()))
    with _pending_lock:
        counts = _pending.setdefault(key, [0, 0, 0])
        counts[0] += calls
        counts[1] += limited
        counts[2] += tokens
        due = time.monotonic() - _last_flush >= FLUSH_SECONDS
    if due or tokens:
        usage_flush()


def usage_flush() -> int:
    """Write the counted usage to the database. Returns the number of rows touched."""
    global _last_flush
    with _pending_lock:
        batch = dict(_pending)
        _pending.clear()
        _last_flush = time.monotonic()
    existing = set(App.objects.filter(pk__in={app_id for app_id, _ in batch}).values_list("pk", flat=True))
    for (app_id, minute), (calls, limited, tokens) in batch.items():
        if app_id not in existing:  # deleted since: its counts go with it
            continue
        updated = AppUsage.objects.filter(app_id=app_id, minute=minute).update(
            calls=F("calls") + calls, limited=F("limited") + limited, tokens=F("tokens") + tokens
        )
        if not updated:
            _row, created = AppUsage.objects.get_or_create(
                app_id=app_id, minute=minute, defaults={"calls": calls, "limited": limited, "tokens": tokens}
            )
            if not created:
                AppUsage.objects.filter(app_id=app_id, minute=minute).update(
                    calls=F("calls") + calls, limited=F("limited") + limited, tokens=F("tokens") + tokens
                )
    return len(batch)


def _window_hit(key: str, limit: int, now: float) -> tuple[bool, int]:
    """One more request in this minute's window of `key`: (over the limit?, seconds until the window ends)."""
    count = window_count(f"mc:rl:{key}:{int(now // 60)}", timeout=70)
    return count > limit, max(1, 60 - int(now % 60))


_cache_warned = 0.0


def _cache_unreachable() -> None:
    global _cache_warned
    if time.monotonic() - _cache_warned > 60:
        _cache_warned = time.monotonic()
        logger.warning("rate limits not applied: the cache (MAKERCLOUD_CACHE_URL) is unreachable", exc_info=True)


def rate_limit_check(*, app_id: int, token_id: int) -> None:
    """Count one API call of an app's token; past the per-token or per-app limit of the minute, refuse it (429)."""
    now = time.time()
    try:
        over_token, retry = _window_hit(f"t{token_id}", settings.OAUTH_RATE_LIMIT_PER_TOKEN, now)
        over_app, _retry = _window_hit(f"a{app_id}", settings.OAUTH_RATE_LIMIT_PER_APP, now)
    except Exception:  # a shared cache that is down does not fail the API: the limits wait until it is back
        _cache_unreachable()
        over_token = over_app = False
    if over_token or over_app:
        usage_count(app_id=app_id, limited=1)
        which = "token" if over_token else "app"
        limit = settings.OAUTH_RATE_LIMIT_PER_TOKEN if over_token else settings.OAUTH_RATE_LIMIT_PER_APP
        raise RateLimited(
            detail=(_("This token may make %(limit)s requests a minute; try again in %(retry)s s.") if over_token
                    else _("This app may make %(limit)s requests a minute; try again in %(retry)s s."))
            % {"limit": limit, "retry": retry},
            retry_after=retry, limit=which,
        )
    usage_count(app_id=app_id, calls=1)


def grant_touch(*, grant: Grant) -> None:
    """Remember when a grant was last used, at most once a minute (a write per call would cost too much)."""
    now = timezone.now()
    if grant.last_used_at is None or now - grant.last_used_at > timedelta(minutes=1):
        Grant.objects.filter(pk=grant.pk).update(last_used_at=now)
        grant.last_used_at = now
