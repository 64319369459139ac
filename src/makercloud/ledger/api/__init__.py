"""ledger on the HTTP API: one router made of its sub-domains' routers."""

from ninja import Router

from makercloud.ledger.api import journal, rules, statements

router = Router()
router.add_router("", journal.router)
router.add_router("", rules.router)
router.add_router("", statements.router)
