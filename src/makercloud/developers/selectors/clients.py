"""developers selectors (reads): clients."""
