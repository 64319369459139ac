"""ledger selectors (reads): statements."""
