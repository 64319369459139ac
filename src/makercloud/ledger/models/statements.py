"""ledger models: statements."""

__all__: list[str] = []
