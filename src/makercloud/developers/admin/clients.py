"""developers in the operators' admin: clients."""
