"""Every write about people, organisations, memberships, invitations and tokens."""

import contextlib
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
from django.utils.translation import gettext_lazy

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
from makercloud.core.ratelimits import RateLimit, TooManyRequests, rate_limits_check, rate_limits_take

INVITATION_LIFETIME = timedelta(days=14)
EMAIL_VERIFICATION_SALT = "makercloud.accounts.email-verification"
EMAIL_VERIFICATION_MAX_AGE = 60 * 60 * 24 * 3
TOKEN_PREFIX = "mc_pat_"  # noqa: S105 — a public marker, not a secret
PLATFORM_SLUG = "platform"

# What a person may have e-mailed on their request (windows of the clock: hours and UTC days; see core.ratelimits).
HOUR, DAY = 3600, 86400
SIGN_UPS_PER_CLIENT = RateLimit(
    "sign-ups-per-client", 50, HOUR,
    gettext_lazy("Too many accounts were opened from your network this hour. Try again in %(wait)s."),
)
SIGN_IN_FAILURES_PER_ADDRESS = RateLimit(
    "sign-in-failures-per-address", 10, 15 * 60,
    gettext_lazy("Too many wrong passwords for this address. Try again in %(wait)s."),
)
SIGN_IN_FAILURES_PER_CLIENT = RateLimit(
    "sign-in-failures-per-client", 100, HOUR,
    gettext_lazy("Too many wrong passwords from your network. Try again in %(wait)s."),
)
VERIFICATION_RESENDS = RateLimit(
    "verification-resends", 5, HOUR,
    gettext_lazy("We sent you %(count)s confirmation links this hour. Try again in %(wait)s."),
)
PASSWORD_RESETS_PER_ADDRESS = RateLimit(
    "password-resets-per-address", 5, HOUR,
    gettext_lazy("Links for this address were asked for %(count)s times this hour. Try again in %(wait)s."),
)
PASSWORD_RESETS_PER_CLIENT = RateLimit(
    "password-resets-per-client", 20, HOUR,
    gettext_lazy("Too many reset links were asked for from your network. Try again in %(wait)s."),
)
INVITATIONS_PER_INVITER = RateLimit(
    "invitations-per-inviter", 50, HOUR,
    gettext_lazy("You can send %(count)s invitations an hour. Try again in %(wait)s."),
)
INVITATIONS_PER_ORGANISATION = RateLimit(
    "invitations-per-organisation", 50, HOUR,
    gettext_lazy("An organisation can send %(count)s invitations an hour. Try again in %(wait)s."),
)
INVITATIONS_PER_ADDRESS = RateLimit(
    "invitations-per-address", 5, DAY,
    gettext_lazy("This address was invited %(count)s times today. It can be invited again in %(wait)s."),
)


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _public_url(path: str) -> str:
    from django.conf import settings

    return f"{settings.PUBLIC_URL}{path}"


# People ---------------------------------------------------------------------------------------------------------


@transaction.atomic
def person_sign_up(
    *, email: str, name: str, password: str, intent: str = Intent.USER, send_verification: bool = True,
    client: str = "",
) -> User:
    """Open an account. `client` is the asker's network address on the pages: sign-ups from one are rate limited,
    as each sends a confirmation e-mail."""
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
    if client:
        rate_limits_take([(SIGN_UPS_PER_CLIENT, client)])
    try:
        person = User.objects.create_user(email=email, password=password, name=name.strip(), intent=intent)
    except IntegrityError as error:  # a concurrent sign-up with the same address
        raise EmailTaken(detail=_("%(email)s already has an account.") % {"email": email}) from error
    record_event(actor=person, subject=person, kind="person.signed_up", data={"intent": intent})
    if send_verification:
        transaction.on_commit(lambda: person_send_verification(person=person))
    return person


@transaction.atomic
def person_add(*, actor: User, person: User) -> User:
    """Save a person an operator made in the admin (whose form already checked and set the password), with the same
    sign-up event that people who sign up themselves get; the operator is its actor."""
    person.email = User.objects.normalize_email(person.email).strip().lower()
    if User.objects.filter(email__iexact=person.email).exists():
        raise EmailTaken(detail=_("%(email)s already has an account.") % {"email": person.email})
    person.save()
    record_event(
        actor=actor,
        subject=person,
        kind="person.signed_up",
        data={"intent": person.intent, "person": person.name, "added_by": "operator"},
    )
    return person


@transaction.atomic
def person_change(*, actor: User, person: User, fields: Iterable[str]) -> User:
    """Save what an operator changed about a person in the admin, and record which fields (never their values:
    one of them may be a password). A new e-mail address is not confirmed yet."""
    changed = sorted(set(fields))
    if "email" in changed:
        person.email = User.objects.normalize_email(person.email).strip().lower()
        person.email_verified_at = None
    person.save()
    if changed:
        record_event(
            actor=actor, subject=person, kind="person.changed", data={"person": person.name, "fields": changed}
        )
    return person


def person_password_changed(*, person: User, how: str, actor: User | None = None) -> None:
    """Record that a password was changed (Django's own views and forms set it): by the person (`changed`), through
    an e-mailed link (`reset`) or by an operator in the admin (`admin`)."""
    record_event(actor=actor or person, subject=person, kind="person.password_changed",
                 data={"how": how, "person": person.name})


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


def person_resend_verification(*, person: User) -> bool:
    """Send the confirmation link again, on the person's request (rate limited). False if already confirmed."""
    if person.email_verified:
        return False
    rate_limits_take([(VERIFICATION_RESENDS, str(person.pk))])
    person_send_verification(person=person)
    return True


def _sign_in_limits(email: str, client: str) -> list[tuple[RateLimit, str]]:
    address = User.objects.normalize_email(email).strip().lower()
    return [(SIGN_IN_FAILURES_PER_ADDRESS, _hash(address)), (SIGN_IN_FAILURES_PER_CLIENT, client)]


def sign_in_check(*, email: str, client: str) -> None:
    """Refuse a sign-in before its password is checked once too many wrong ones were tried for the address or from
    the network (TooManyRequests): guessing passwords stops there, and so does a right guess."""
    rate_limits_check(_sign_in_limits(email, client))


def sign_in_failed(*, email: str, client: str) -> None:
    """Count a wrong password (for an address known or not)."""
    with contextlib.suppress(TooManyRequests):  # already at the limit: sign_in_check refuses the next one
        rate_limits_take(_sign_in_limits(email, client))


def password_reset_count(*, email: str, client: str) -> None:
    """Count a request for a password-reset e-mail, by address (known or not, so that a refusal tells nothing
    about who has an account) and by the asking network address; refuse it past either limit."""
    address = User.objects.normalize_email(email).strip().lower()
    rate_limits_take([(PASSWORD_RESETS_PER_ADDRESS, _hash(address)), (PASSWORD_RESETS_PER_CLIENT, client)])


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


@transaction.atomic
def organisation_save(*, actor: User, organisation: Organisation, created: bool, fields: Iterable[str]) -> Organisation:
    """Save an organisation an operator registered or changed in the admin, with the event the pages record."""
    changed = sorted(set(fields))
    if created:
        organisation.slug = organisation.slug or _unique_slug(organisation.name)
        organisation.created_by = organisation.created_by or actor
    organisation.save()
    if created or changed:
        record_event(
            actor=actor,
            subject=organisation,
            kind="organisation.created" if created else "organisation.updated",
            organisation=organisation,
            public=True,
            data={"kind": organisation.kind, "name": organisation.name} if created else {"fields": changed},
        )
    return organisation


@transaction.atomic
def organisation_delete(*, actor: User, organisation: Organisation) -> None:
    """Delete an organisation in the admin (with its memberships and invitations), recording who did."""
    record_event(
        actor=actor,
        subject=organisation,
        kind="organisation.deleted",
        organisation=organisation,
        public=True,
        data={"kind": organisation.kind, "name": organisation.name},
    )
    organisation.delete()


# Memberships and invitations ------------------------------------------------------------------------------------


@transaction.atomic
def membership_save(*, actor: User, membership: Membership) -> Membership:
    """Save a membership an operator added or changed in the admin, with the event of its joining or new role."""
    before = Membership.objects.filter(pk=membership.pk).values_list("role", flat=True).first()
    membership.save()
    if before is None or before != membership.role:
        record_event(
            actor=actor,
            subject=membership.organisation,
            kind="member.joined" if before is None else "member.role_changed",
            organisation=membership.organisation,
            public=True,
            data={"person": membership.person.name, "role": membership.role, "added_by": "operator"},
        )
    return membership


@transaction.atomic
def membership_delete(*, actor: User, membership: Membership) -> None:
    """Delete a membership in the admin (operators may remove even a last owner), with the event of its removal."""
    membership.delete()
    record_event(
        actor=actor,
        subject=membership.organisation,
        kind="member.removed",
        organisation=membership.organisation,
        public=True,
        data={"person": membership.person.name},
    )


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
    rate_limits_take([
        (INVITATIONS_PER_INVITER, str(actor.pk)),
        (INVITATIONS_PER_ORGANISATION, str(organisation.pk)),
        (INVITATIONS_PER_ADDRESS, _hash(email)),
    ])
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
    """Revoke a token: its owner, or a platform operator (a token that leaked)."""
    if token.person_id != actor.pk and not selectors.is_operator(person=actor):
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
