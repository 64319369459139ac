"""The kinds' domain errors (engineer B). Each has a stable `type`: problem+json on the API, a sentence on pages."""

from makercloud.core.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied


class InvalidResponse(InvalidInput):
    type = "invalid-response"
    title = "The response does not fill in the call's form"


class InvalidKindRules(InvalidInput):
    type = "invalid-kind-rules"
    title = "The call's rules are not valid for its kind"


class NotAnIdea(Conflict):
    type = "not-an-idea"
    title = "This call is not an idea"


class AlreadySupported(Conflict):
    type = "already-supported"
    title = "You support this idea already"


class IdeaClosed(Conflict):
    type = "idea-closed"
    title = "The idea no longer takes supports"


class NotVerified(PermissionDenied):
    type = "not-verified"
    title = "Verify your e-mail address first"


class TooManyIdeas(DomainError):
    type = "too-many-ideas"
    title = "You have posted as many ideas as a day allows"
    status = 429


class NotInDiscussion(PermissionDenied):
    type = "not-in-discussion"
    title = "Only the idea's author, supporters and proposers discuss it"


class SealedBidUnreadable(PermissionDenied):
    type = "sealed-bid-unreadable"
    title = "A sealed bid opens only when its call closes"


class TrancheNotFound(NotFound):
    type = "tranche-not-found"
    title = "There is no such tranche"


class WrongTrancheState(Conflict):
    type = "tranche-state"
    title = "The tranche is not in a state that allows this"


class NotAllowedHere(PermissionDenied):
    type = "not-allowed"
    title = "You may not do this for this call"


class AlreadyRated(Conflict):
    type = "already-rated"
    title = "This supplier is rated for this call already"
