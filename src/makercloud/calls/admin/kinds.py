"""calls: admin of the kinds sub-domain."""
