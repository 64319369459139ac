"""Domain errors of the ledger. Each has a stable `type` slug; the API turns them into RFC 9457 problem details.

One section per sub-domain (journal, rules, statements); add yours below the others'.
"""

from makercloud.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied

# Journal --------------------------------------------------------------------------------------------------------


class LedgerAccountNotFound(NotFound):
    type = "ledger-account-not-found"
    title = "No such ledger account"


class TransferNotFound(NotFound):
    type = "transfer-not-found"
    title = "No such transfer"


class InvalidTransfer(InvalidInput):
    type = "invalid-transfer"
    title = "The transfer is not valid"


class TransferCurrencyMismatch(InvalidInput):
    type = "transfer-currency-mismatch"
    title = "The transfer's currency is not both accounts' currency"


class TransferExists(Conflict):
    """The id was used before for a different transfer (a retry with identical content returns the original)."""

    type = "transfer-exists"
    title = "A different transfer already has this id"


class ExceedsCredits(Conflict):
    type = "exceeds-credits"
    title = "The debit account's debits would exceed its credits"


class ExceedsDebits(Conflict):
    type = "exceeds-debits"
    title = "The credit account's credits would exceed its debits"


class PendingTransferNotFound(NotFound):
    type = "pending-transfer-not-found"
    title = "No such pending transfer"


class PendingTransferResolved(Conflict):
    type = "pending-transfer-resolved"
    title = "The pending transfer was already posted, voided or expired"


class PendingTransferExpired(Conflict):
    type = "pending-transfer-expired"
    title = "The pending transfer has timed out"


class ExceedsPendingAmount(Conflict):
    type = "exceeds-pending-amount"
    title = "More than the pending amount cannot be posted"


class NotYourMoney(PermissionDenied):
    type = "not-your-money"
    title = "You may not move this account's money"


class LedgerAccountExists(Conflict):
    type = "ledger-account-exists"
    title = "This owner already has an account of this purpose and currency, with other flags"


# Statements -----------------------------------------------------------------------------------------------------


class InvalidPeriod(InvalidInput):
    type = "invalid-period"
    title = "Not a period: write a month as 2026-11 or a quarter as 2026-Q4"


class InvalidPlan(InvalidInput):
    type = "invalid-plan"
    title = "The plan is not valid"


class StatementPlanNotFound(NotFound):
    type = "statement-plan-not-found"
    title = "No such statement plan"


class NotVentureInsider(PermissionDenied):
    type = "not-venture-insider"
    title = "Only the venture's members and operators may see this"


class InvalidWhatIf(InvalidInput):
    type = "invalid-what-if"
    title = "The what-if is not valid"
