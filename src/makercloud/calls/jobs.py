"""Background jobs of calls. They only nudge: the database decides."""
