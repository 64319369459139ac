"""developers on the HTTP API: webhooks."""

from ninja import Router

router = Router(tags=["developers"])
