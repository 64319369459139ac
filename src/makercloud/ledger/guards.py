"""The ledger's append-only tables (core.append_only): what was recorded is never changed or deleted."""

from makercloud.core.append_only import AppendOnly

JOURNAL = AppendOnly(function="ledger_append_only", message="the ledger journal is append-only",
                     tables=("ledger_transfer", "ledger_balancesnapshot", "ledger_checkpoint"))
RULES = AppendOnly(function="ledger_rules_append_only", message="rule versions and settlements are append-only",
                   tables=("ledger_ruleversion", "ledger_settlement"))
ACCOUNTS = AppendOnly(function="ledger_account_fixed", message="ledger accounts are never changed or deleted",
                      tables=("ledger_account",), trigger="ledger_account_fixed")
