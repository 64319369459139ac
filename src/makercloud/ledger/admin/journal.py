"""ledger in the operators' admin: journal."""
