"""calls on the HTTP API: the engine sub-domain."""

from ninja import Router

router = Router(tags=["calls"])
