"""developers services (writes): clients."""
