"""developers in the operators' admin: webhooks."""
