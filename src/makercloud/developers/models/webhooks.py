"""developers models: webhooks."""

__all__: list[str] = []
