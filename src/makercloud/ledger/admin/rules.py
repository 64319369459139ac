"""ledger in the operators' admin: rules."""
