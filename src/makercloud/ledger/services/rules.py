"""ledger services (writes): rules."""
