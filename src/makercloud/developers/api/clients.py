"""developers on the HTTP API: clients."""

from ninja import Router

router = Router(tags=["developers"])
