"""Automations and scenes on the HTTP API."""

from ninja import Router

router = Router(tags=["automations"])
