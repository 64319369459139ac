"""calls: selectors of the kinds sub-domain."""
