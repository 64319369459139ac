"""ledger selectors (reads): journal."""
