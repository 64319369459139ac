"""developers models: clients."""

__all__: list[str] = []
