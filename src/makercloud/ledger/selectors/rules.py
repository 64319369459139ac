"""ledger selectors (reads): rules."""
