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
