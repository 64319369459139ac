"""ledger on the HTTP API: rules."""

from ninja import Router

router = Router(tags=["ledger"])
