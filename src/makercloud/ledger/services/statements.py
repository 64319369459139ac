"""ledger services (writes): statements."""
