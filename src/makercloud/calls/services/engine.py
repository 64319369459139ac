"""calls: services of the engine sub-domain."""
