"""calls models of the kinds (engineer B)."""

__all__: list[str] = []
