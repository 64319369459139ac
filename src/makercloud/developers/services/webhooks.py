"""developers services (writes): webhooks."""
