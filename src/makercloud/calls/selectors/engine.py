"""calls: selectors of the engine sub-domain."""
