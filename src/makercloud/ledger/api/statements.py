"""ledger on the HTTP API: statements."""

from ninja import Router

router = Router(tags=["ledger"])
