"""Every write about people, organisations, memberships, invitations and tokens."""

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.text import slugify
from django.utils.translation import gettext as _

from makercloud.accounts import selectors
from makercloud.accounts.errors import (
    AlreadyMember,
    EmailTaken,
    InvalidInvitation,
    InvalidVerification,
    LastOwner,
    NotOperator,
    UnknownScope,
    WeakPassword,
)
from makercloud.accounts.models import (
    Intent,
    Invitation,
    Membership,
    Organisation,
    OrganisationKind,
    PersonalAccessToken,
    Role,
    User,
    VerificationStatus,
)
from makercloud.accounts.scopes import ALL_SCOPES
from makercloud.core.errors import InvalidInput
from makercloud.core.events import record_event

INVITATION_LIFETIME = timedelta(days=14)
EMAIL_VERIFICATION_SALT = "makercloud.accounts.email-verification"
EMAIL_VERIFICATION_MAX_AGE = 60 * 60 * 24 * 3
TOKEN_PREFIX = "mc_pat_"  # noqa: S105 — a public marker, not a secret
PLATFORM_SLUG = "platform"


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _public_url(path: str) -> str:
    from django.conf import settings

    return f"{settings.PUBLIC_URL}{path}"


# People ---------------------------------------------------------------------------------------------------------


@transaction.atomic
def person_sign_up(
    *, email: str, name: str, password: str, intent: str = Intent.USER, send_verification: bool = True
) -> User:
    email = User.objects.normalize_email(email).strip().lower()
    if intent not in Intent.values:
        raise InvalidInput(detail=_("Unknown choice: %(value)s") % {"value": intent})
    if User.objects.filter(email__iexact=email).exists():
        raise EmailTaken(
            detail=_("%(email)s already has an account. Sign in or reset the password.") % {"email": email}
        )
    try:
        validate_password(password, user=User(email=email, name=name))
    except ValidationError as error:
        raise WeakPassword(detail=" ".join(error.messages)) from error
    try:
        person = User.objects.create_user(email=email, password=password, name=name.strip(), intent=intent)
    except IntegrityError as error:  # a concurrent sign-up with the same address
        raise EmailTaken(detail=_("%(email)s already has an account.") % {"email": email}) from error
    record_event(actor=person, subject=person, kind="person.signed_up", data={"intent": intent})
    if send_verification:
        transaction.on_commit(lambda: person_send_verification(person=person))
    return person


def person_send_verification(*, person: User) -> None:
    token = signing.dumps({"id": person.pk, "email": person.email}, salt=EMAIL_VERIFICATION_SALT)
    link = _public_url(f"/accounts/verify/{token}/")
    send_mail(
        subject=_("Confirm your e-mail address for makercloud"),
        message=_("Hello %(name)s,\n\nconfirm your e-mail address by opening this link:\n%(link)s\n")
        % {"name": person.get_short_name(), "link": link},
        from_email=None,
        recipient_list=[person.email],
    )


@transaction.atomic
def person_verify_email(*, token: str) -> User:
    try:
        payload = signing.loads(token, salt=EMAIL_VERIFICATION_SALT, max_age=EMAIL_VERIFICATION_MAX_AGE)
    except signing.SignatureExpired as error:
        raise InvalidVerification(detail=_("The link has expired. Ask for a new one from your profile.")) from error
    except signing.BadSignature as error:
        raise InvalidVerification(detail=_("The link is damaged or not from makercloud.")) from error
    person = User.objects.select_for_update().filter(pk=payload.get("id"), email=payload.get("email")).first()
    if person is None:
        raise InvalidVerification(detail=_("The link belongs to an address that is no longer in use."))
    if person.email_verified_at is None:
        person.email_verified_at = timezone.now()
        person.save(update_fields=["email_verified_at"])
        record_event(actor=person, subject=person, kind="person.email_verified")
    return person


@transaction.atomic
def person_update(*, person: User, name: str | None = None, intent: str | None = None) -> User:
    changed: dict[str, str] = {}
    if name is not None and name.strip() and name.strip() != person.name:
        person.name = changed["name"] = name.strip()
    if intent is not None and intent != person.intent:
        if intent not in Intent.values:
            raise InvalidInput(detail=_("Unknown choice: %(value)s") % {"value": intent})
        person.intent = changed["intent"] = intent
    if changed:
        person.save(update_fields=list(changed))
        record_event(actor=person, subject=person, kind="person.updated", data=changed)
    return person


# Organisations --------------------------------------------------------------------------------------------------


def _unique_slug(name: str) -> str:
    base = slugify(name)[:60] or "org"
    slug, n = base, 1
    while Organisation.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def platform_organisation() -> Organisation:
    organisation, _created = Organisation.objects.get_or_create(
        slug=PLATFORM_SLUG,
        defaults={
            "kind": OrganisationKind.PLATFORM,
            "name": "makercloud",
            "verification": VerificationStatus.VERIFIED,
            "verified_at": timezone.now(),
        },
    )
    return organisation


@transaction.atomic
def organisation_create(*, actor: User, kind: str, name: str, description: str = "") -> Organisation:
    if kind not in {OrganisationKind.SUPPLIER, OrganisationKind.INVESTOR, OrganisationKind.VENTURE}:
        raise InvalidInput(detail=_("Organisations you can create are suppliers, investors and ventures."))
    if not name.strip():
        raise InvalidInput(detail=_("An organisation needs a name."))
    organisation = Organisation.objects.create(
        kind=kind, name=name.strip(), slug=_unique_slug(name), description=description.strip(), created_by=actor
    )
    Membership.objects.create(person=actor, organisation=organisation, role=Role.OWNER)
    record_event(
        actor=actor,
        subject=organisation,
        kind="organisation.created",
        organisation=organisation,
        public=True,
        data={"kind": kind, "name": organisation.name},
    )
    return organisation


@transaction.atomic
def organisation_update(
    *, actor: User, organisation: Organisation, name: str | None = None, description: str | None = None
) -> Organisation:
    selectors.ensure_can_manage(person=actor, organisation=organisation)
    changed: dict[str, str] = {}
    if name is not None:
        if not name.strip():
            raise InvalidInput(detail=_("An organisation needs a name."))
        if name.strip() != organisation.name:
            organisation.name = changed["name"] = name.strip()
    if description is not None and description.strip() != organisation.description:
        organisation.description = changed["description"] = description.strip()
    if changed:
        organisation.save(update_fields=list(changed))
        record_event(
            actor=actor,
            subject=organisation,
            kind="organisation.updated",
            organisation=organisation,
            public=True,
            data=changed,
        )
    return organisation


@transaction.atomic
def organisation_verify(*, actor: User, organisation: Organisation, approve: bool, note: str = "") -> Organisation:
    if not selectors.is_operator(person=actor):
        raise NotOperator()
    organisation.verification = VerificationStatus.VERIFIED if approve else VerificationStatus.REJECTED
    organisation.verification_note = note.strip()
    organisation.verified_at = timezone.now() if approve else None
    organisation.save(update_fields=["verification", "verification_note", "verified_at"])
    record_event(
        actor=actor,
        subject=organisation,
        organisation=organisation,
        public=True,
        kind="organisation.verified" if approve else "organisation.rejected",
        data={"note": note.strip()},
    )
    return organisation


@transaction.atomic
def operator_grant(*, person: User, actor: User | None = None) -> Membership:
    """Make a person a platform operator: a member of the platform organisation with the operator role."""
    if actor is not None and not selectors.is_operator(person=actor):
        raise NotOperator()
    membership, _created = Membership.objects.update_or_create(
        person=person, organisation=platform_organisation(), defaults={"role": Role.OPERATOR}
    )
    if not (person.is_staff and person.is_superuser):
        person.is_staff = person.is_superuser = True
        person.save(update_fields=["is_staff", "is_superuser"])
    record_event(
        actor=actor or person, subject=person, kind="person.made_operator", organisation=membership.organisation
    )
    return membership


# Memberships and invitations ------------------------------------------------------------------------------------


@transaction.atomic
def invitation_create(
    *, actor: User, organisation: Organisation, email: str, role: str = Role.MEMBER
) -> tuple[Invitation, str]:
    """Invite someone by e-mail. Returns the invitation and its token, which only the e-mail carries."""
    selectors.ensure_can_manage(person=actor, organisation=organisation)
    if role not in {Role.MEMBER, Role.ADMIN, Role.OWNER}:
        raise InvalidInput(detail=_("People can be invited as members, administrators or owners."))
    email = User.objects.normalize_email(email).strip().lower()
    if Membership.objects.filter(organisation=organisation, person__email__iexact=email).exists():
        raise AlreadyMember(
            detail=_("%(email)s is already a member of %(org)s.") % {"email": email, "org": organisation}
        )
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        organisation=organisation,
        email=email,
        role=role,
        token_hash=_hash(token),
        invited_by=actor,
        expires_at=timezone.now() + INVITATION_LIFETIME,
    )
    record_event(
        actor=actor,
        subject=invitation,
        kind="invitation.sent",
        organisation=organisation,
        data={"email": email, "role": role},
    )
    link = _public_url(f"/invitations/{token}/")
    transaction.on_commit(
        lambda: send_mail(
            subject=_("%(name)s invites you to %(org)s on makercloud") % {"name": actor, "org": organisation},
            message=_("Open this link to join %(org)s as %(role)s:\n%(link)s\n\nThe invitation expires in 14 days.")
            % {"org": organisation, "role": Role(role).label, "link": link},
            from_email=None,
            recipient_list=[email],
        )
    )
    return invitation, token


def invitation_by_token(*, token: str) -> Invitation:
    invitation = Invitation.objects.select_related("organisation", "invited_by").filter(token_hash=_hash(token)).first()
    if invitation is None:
        raise InvalidInvitation(detail=_("This invitation does not exist. Check the link in your e-mail."))
    return invitation


@transaction.atomic
def invitation_accept(*, actor: User, token: str) -> Membership:
    invitation = invitation_by_token(token=token)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    now = timezone.now()
    if invitation.accepted_at is not None:
        raise InvalidInvitation(detail=_("This invitation has already been accepted."))
    if invitation.revoked_at is not None:
        raise InvalidInvitation(detail=_("This invitation was withdrawn."))
    if invitation.expires_at <= now:
        raise InvalidInvitation(detail=_("This invitation has expired. Ask for a new one."))
    if invitation.email.lower() != actor.email.lower():
        raise InvalidInvitation(
            detail=_("This invitation was sent to %(email)s. Sign in with that address to accept it.")
            % {"email": invitation.email}
        )
    if Membership.objects.filter(person=actor, organisation=invitation.organisation).exists():
        raise AlreadyMember(detail=_("You are already a member of %(org)s.") % {"org": invitation.organisation})
    membership = Membership.objects.create(person=actor, organisation=invitation.organisation, role=invitation.role)
    invitation.accepted_at = now
    invitation.save(update_fields=["accepted_at"])
    record_event(
        actor=actor,
        subject=invitation.organisation,
        kind="member.joined",
        organisation=invitation.organisation,
        public=True,
        data={"person": actor.name, "role": invitation.role},
    )
    return membership


@transaction.atomic
def invitation_revoke(*, actor: User, invitation: Invitation) -> Invitation:
    selectors.ensure_can_manage(person=actor, organisation=invitation.organisation)
    if invitation.accepted_at is not None:
        raise InvalidInvitation(detail=_("This invitation has already been accepted."))
    if invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        record_event(
            actor=actor,
            subject=invitation,
            kind="invitation.withdrawn",
            organisation=invitation.organisation,
            data={"email": invitation.email},
        )
    return invitation


def _ensure_owner_remains(*, organisation: Organisation, leaving: Membership) -> None:
    if leaving.role != Role.OWNER:
        return
    owners = Membership.objects.select_for_update().filter(organisation=organisation, role=Role.OWNER)
    if not owners.exclude(pk=leaving.pk).exists():
        raise LastOwner(
            detail=_("%(org)s needs another owner before its last owner can leave.") % {"org": organisation}
        )


@transaction.atomic
def membership_leave(*, actor: User, organisation: Organisation) -> None:
    membership = Membership.objects.select_for_update().filter(person=actor, organisation=organisation).first()
    if membership is None:
        raise InvalidInput(detail=_("You are not a member of %(org)s.") % {"org": organisation})
    _ensure_owner_remains(organisation=organisation, leaving=membership)
    membership.delete()
    record_event(
        actor=actor,
        subject=organisation,
        kind="member.left",
        organisation=organisation,
        public=True,
        data={"person": actor.name},
    )


@transaction.atomic
def membership_remove(*, actor: User, membership: Membership) -> None:
    selectors.ensure_can_manage(person=actor, organisation=membership.organisation)
    _ensure_owner_remains(organisation=membership.organisation, leaving=membership)
    membership.delete()
    record_event(
        actor=actor,
        subject=membership.organisation,
        kind="member.removed",
        organisation=membership.organisation,
        public=True,
        data={"person": membership.person.name},
    )


# Personal access tokens -----------------------------------------------------------------------------------------


@transaction.atomic
def token_create(
    *, person: User, name: str, scopes: Iterable[str] | None = None, expires_at: datetime | None = None
) -> tuple[PersonalAccessToken, str]:
    """Create a token; the returned string is the only time the token exists in clear."""
    chosen = sorted(set(scopes)) if scopes is not None else list(ALL_SCOPES)
    unknown = [s for s in chosen if s not in ALL_SCOPES]
    if unknown:
        raise UnknownScope(
            detail=_("Unknown scopes: %(scopes)s. Known: %(known)s.")
            % {"scopes": ", ".join(unknown), "known": ", ".join(ALL_SCOPES)}
        )
    if not chosen:
        raise InvalidInput(detail=_("A token needs at least one scope."))
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput(detail=_("The expiry must be in the future."))
    prefix = secrets.token_hex(4)
    raw = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = PersonalAccessToken.objects.create(
        person=person,
        name=name.strip() or "token",
        prefix=prefix,
        token_hash=_hash(raw),
        scopes=chosen,
        expires_at=expires_at,
    )
    record_event(actor=person, subject=token, kind="token.created", data={"name": token.name, "scopes": chosen})
    return token, raw


@transaction.atomic
def token_revoke(*, actor: User, token: PersonalAccessToken) -> PersonalAccessToken:
    if token.person_id != actor.pk:
        raise InvalidInput(detail=_("This is not your token."))
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record_event(actor=actor, subject=token, kind="token.revoked", data={"name": token.name})
    return token


LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_authenticate(*, raw: str) -> PersonalAccessToken | None:
    """The usable token for a bearer string, or None. Marks its last use (at most once a minute)."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    prefix = raw[len(TOKEN_PREFIX) :].split("_", 1)[0]
    token = PersonalAccessToken.objects.select_related("person").filter(prefix=prefix).first()
    now = timezone.now()
    if token is None or not constant_time_compare(token.token_hash, _hash(raw)):
        return None
    if not token.is_usable(at=now) or not token.person.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        PersonalAccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
