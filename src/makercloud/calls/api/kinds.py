"""calls on the HTTP API: the kinds sub-domain."""

from ninja import Router

router = Router(tags=["calls"])
