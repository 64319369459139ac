"""The fair-rules ledger: accounts, transfers, hash chain, value-sharing rules, settlement, payouts, statements."""
