"""Domain errors of contracts. Each has a stable `type` slug; the API turns them into RFC 9457 problem details."""

from makercloud.core.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied


class ContractNotFound(NotFound):
    type = "contract-not-found"
    title = "No such contract"


class InvalidTerms(InvalidInput):
    type = "invalid-contract-terms"
    title = "The contract's terms are not valid"


class NotAParty(PermissionDenied):
    type = "not-a-contract-party"
    title = "Only the contract's parties may do this"


class ReauthenticationFailed(PermissionDenied):
    type = "reauthentication-failed"
    title = "The password is not correct"


class TooManySigningAttempts(DomainError):
    type = "too-many-signing-attempts"
    title = "Too many wrong passwords; try again later"
    status = 429


class StaleVersion(Conflict):
    type = "contract-version-changed"
    title = "The terms changed since you read them"


class NothingToSign(Conflict):
    type = "nothing-to-sign"
    title = "Nothing awaits your signature on this contract"


class WrongContractState(Conflict):
    type = "wrong-contract-state"
    title = "The contract's state does not allow this"


class NotDueYet(Conflict):
    type = "bet-on-not-due"
    title = "The clause's date has not come and its target is not met yet"


class MilestoneRecordNotFound(NotFound):
    type = "milestone-record-not-found"
    title = "No such milestone record in this contract"
