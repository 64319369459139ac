"""ledger in the operators' admin: statements."""
