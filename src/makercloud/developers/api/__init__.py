"""developers on the HTTP API: one router made of its sub-domains' routers."""

from ninja import Router

from makercloud.developers.api import clients, webhooks

router = Router()
router.add_router("", clients.router)
router.add_router("", webhooks.router)
