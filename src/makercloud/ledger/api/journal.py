"""ledger on the HTTP API: journal."""

from ninja import Router

router = Router(tags=["ledger"])
