"""developers selectors (reads): webhooks."""
