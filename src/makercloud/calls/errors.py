"""The domain errors of calls. Each has a stable `type`; the API answers them as problem+json, pages as sentences."""

from makercloud.accounts.errors import NotOperator
from makercloud.core.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied


class CallNotFound(NotFound):
    type = "call-not-found"
    title = "There is no such call"


class ResponseNotFound(NotFound):
    type = "response-not-found"
    title = "There is no such response"


class QuestionNotFound(NotFound):
    type = "question-not-found"
    title = "There is no such question"


class ComplaintNotFound(NotFound):
    type = "complaint-not-found"
    title = "There is no such complaint"


class QualificationNotFound(NotFound):
    type = "qualification-not-found"
    title = "There is no such qualification"


class NotCallOwner(PermissionDenied):
    type = "not-call-owner"
    title = "Only the call's owners and administrators may do this"


class NotParticipant(PermissionDenied):
    type = "not-participant"
    title = "Only the call's participants may complain"


class NotEligible(PermissionDenied):
    type = "not-eligible"
    title = "You may not respond to this call"


class ResponsesSealed(PermissionDenied):
    type = "responses-sealed"
    title = "The responses are sealed until the deadline"


class WrongCallState(Conflict):
    type = "call-state"
    title = "The call is not in a state that allows this"


class CallNotDue(Conflict):
    type = "call-not-due"
    title = "The call's deadline has not passed yet"


class DeadlinePassed(Conflict):
    type = "deadline-passed"
    title = "The deadline has passed"


class AlreadyResponded(Conflict):
    type = "already-responded"
    title = "You have already responded to this call"


class WrongResponseState(Conflict):
    type = "response-state"
    title = "The response is not in a state that allows this"


class ComplaintDecided(Conflict):
    type = "complaint-decided"
    title = "The complaint has been decided already"


class ComplaintsPending(Conflict):
    type = "complaints-pending"
    title = "Complaints about this call are waiting for a decision"


class WrongQualificationState(Conflict):
    type = "qualification-state"
    title = "The qualification is not in a state that allows this"


class AlreadyApplied(Conflict):
    type = "qualification-exists"
    title = "The organisation has applied or is qualified for this category already"


class InvalidTimeline(InvalidInput):
    type = "invalid-timeline"
    title = "The timeline is not valid"


class InvalidCall(InvalidInput):
    type = "invalid-call"
    title = "The call is not valid"


__all__ = [
    "AlreadyApplied",
    "AlreadyResponded",
    "CallNotDue",
    "CallNotFound",
    "ComplaintDecided",
    "ComplaintNotFound",
    "ComplaintsPending",
    "DeadlinePassed",
    "DomainError",
    "InvalidCall",
    "InvalidTimeline",
    "NotCallOwner",
    "NotEligible",
    "NotOperator",
    "NotParticipant",
    "QualificationNotFound",
    "QuestionNotFound",
    "ResponseNotFound",
    "ResponsesSealed",
    "WrongCallState",
    "WrongQualificationState",
    "WrongResponseState",
]
