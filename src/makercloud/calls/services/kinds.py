"""calls: services of the kinds sub-domain."""
