"""Maker apps on the open API: the developer portal, app review, OAuth grants, webhooks (issue 4)."""
