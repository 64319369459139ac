"""The five kinds of call (engineer B): `registry[kind]` holds each kind's hooks (eligible, validate_response,
seal/unseal, evaluate, award effects). The engine calls them; a kind missing from the registry gets the engine's
defaults. Each kind's rules, response form and selection are described in its module."""

from typing import Any

from makercloud.calls.kinds import challenge, funding, idea, role, sourcing

registry: dict[str, Any] = {
    module.kind.name: module.kind for module in (idea, challenge, sourcing, role, funding)
}
