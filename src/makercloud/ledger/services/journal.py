"""ledger services (writes): journal."""
