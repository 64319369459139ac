"""ledger models: journal."""

__all__: list[str] = []
