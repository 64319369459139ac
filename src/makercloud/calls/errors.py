"""The domain errors of calls."""
