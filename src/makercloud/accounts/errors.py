from makercloud.core.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied


class EmailTaken(Conflict):
    type = "email-taken"
    title = "This e-mail address already has an account"


class WeakPassword(InvalidInput):
    type = "weak-password"
    title = "The password is too weak"


class InvalidInvitation(DomainError):
    type = "invalid-invitation"
    title = "This invitation cannot be used"
    status = 400


class InvalidVerification(DomainError):
    type = "invalid-verification"
    title = "This verification link is not valid"
    status = 400


class UnknownScope(InvalidInput):
    type = "unknown-scope"
    title = "Unknown scope"


class AlreadyMember(Conflict):
    type = "already-member"
    title = "Already a member"


class LastOwner(Conflict):
    type = "last-owner"
    title = "An organisation needs an owner"


class OrganisationNotFound(NotFound):
    type = "organisation-not-found"
    title = "No such organisation"


class NotOrganisationManager(PermissionDenied):
    type = "not-organisation-manager"
    title = "Only the organisation's owners and administrators may do this"


class NotOperator(PermissionDenied):
    type = "not-operator"
    title = "Only platform operators may do this"


# Authentication on the API --------------------------------------------------------------------------------------
# `challenge` becomes the WWW-Authenticate header of the problem response (RFC 6750 §3).


class InvalidToken(DomainError):
    type = "invalid-token"
    title = "The bearer token is unknown, expired or revoked"
    status = 401
    challenge = 'Bearer realm="makercloud", error="invalid_token"'


class InsufficientScope(PermissionDenied):
    type = "insufficient-scope"
    title = "The token does not carry the scope this operation needs"
    challenge = 'Bearer realm="makercloud", error="insufficient_scope", scope="{scope}"'


class TokenNotAccepted(PermissionDenied):
    type = "session-required"
    title = "Personal access tokens cannot do this; sign in with a browser session"


class CsrfFailed(PermissionDenied):
    type = "csrf-failed"
    title = "The CSRF check failed"


class MembershipNotFound(NotFound):
    type = "membership-not-found"
    title = "No such membership"


class InvitationNotFound(NotFound):
    type = "invitation-not-found"
    title = "No such invitation"


class TokenNotFound(NotFound):
    type = "token-not-found"
    title = "No such token"
