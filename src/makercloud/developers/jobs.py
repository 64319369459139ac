"""Background jobs of developers. They only nudge: the database decides."""
