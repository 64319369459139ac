"""The five kinds of call (engineer B): `registry[kind]` holds each kind's hooks (eligible, validate_response,
seal/unseal, evaluate, award effects). The engine calls them; a kind missing from the registry gets the engine's
defaults."""

from typing import Any

registry: dict[str, Any] = {}
