"""calls on the HTTP API: one router made of its sub-domains' routers."""

from ninja import Router

from makercloud.calls.api import engine, kinds

router = Router()
router.add_router("", engine.router)
router.add_router("", kinds.router)
