"""calls: admin of the engine sub-domain."""
