"""Background jobs of automations. They only nudge: the database decides."""
