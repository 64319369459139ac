"""Background jobs of ledger. They only nudge: the database decides."""
