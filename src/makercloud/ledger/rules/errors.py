"""Domain errors of value-sharing rules, settlement and payouts. Each has a stable `type` slug."""

from typing import Any

from makercloud.core.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied


class RuleProblem(InvalidInput):
    """A rule that cannot be parsed or cannot add up. `line` and `column` (1-based) point at the place in the text;
    `errors` lists the problem as the API's error items do (`loc`: the field, `msg`), with its `line` and `column`."""

    type = "invalid-rule"
    title = "The sharing rule is not valid"

    def __init__(self, detail: str = "", *, line: int = 0, column: int = 0,
                 errors: list[dict[str, Any]] | None = None) -> None:
        errors = errors or [{"loc": ["body", "text"], "line": line, "column": column, "msg": detail}]
        first = errors[0]
        super().__init__(f"line {first['line']}, column {first['column']}: {first['msg']}",
                         line=first["line"], column=first["column"], errors=errors)
        self.line = first["line"]
        self.column = first["column"]
        self.errors = errors


class RuleDoesNotApply(InvalidInput):
    """A valid rule that cannot share this amount: a fixed amount in another currency, an empty set, no section for
    the revenue kind."""

    type = "rule-does-not-apply"
    title = "The sharing rule cannot share this amount"

    def __init__(self, detail: str = "", *, line: int = 0, column: int = 0) -> None:
        super().__init__(detail, line=line, column=column)
        self.line = line
        self.column = column


class RuleNotFound(NotFound):
    type = "rule-not-found"
    title = "No such sharing rule"


class RuleVersionNotFound(NotFound):
    type = "rule-version-not-found"
    title = "No such rule version"


class NoRuleInForce(DomainError):
    type = "no-rule-in-force"
    title = "The venture has no sharing rule in force for this revenue"
    status = 409


class RuleOverlap(Conflict):
    type = "rule-overlap"
    title = "Another rule of the venture already shares this kind of revenue"


class NotRuleEditor(PermissionDenied):
    type = "not-rule-editor"
    title = "Only the venture's owners and administrators (or operators) may change its rules"


class NotRuleViewer(PermissionDenied):
    type = "not-rule-viewer"
    title = "Only the venture's members, the rule's parties and operators may see this rule"


class SettlementNotFound(NotFound):
    type = "settlement-not-found"
    title = "No such settlement"


class SettlementConflict(Conflict):
    type = "settlement-conflict"
    title = "This event id was already settled with different content"


class NotSettler(PermissionDenied):
    type = "not-settler"
    title = "Only operators and the venture's owners and administrators may settle its revenue"


class RefundTooLarge(InvalidInput):
    type = "refund-too-large"
    title = "A refund cannot exceed what is left of the settled amount"


class PayoutNotFound(NotFound):
    type = "payout-not-found"
    title = "No such payout"


class NotAccountOwner(PermissionDenied):
    type = "not-account-owner"
    title = "Only the account's owner may withdraw from it"


class PayoutInvalid(InvalidInput):
    type = "invalid-payout"
    title = "This payout cannot be requested"
