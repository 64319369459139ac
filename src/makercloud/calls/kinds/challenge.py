"""challenge: a technical problem with a reward; solvers propose; the owner picks with a published reason; the reward
is paid through the ledger — one transfer (code reward) from the owner's venture_operating account to the solver's
co_creator_earnings account (the solving organisation's when one responded), idempotent by the call.

Rules: selection = {"method": "owner", "reward": {"minor": 5000000, "currency": "CNY"}}
Solution: {"summary": "…", "approach": "…", "links": ["https://…"]}
"""

import uuid
from typing import Any

from django.utils.translation import gettext as _

from makercloud.accounts.models import Organisation, User
from makercloud.calls.kinds.base import Kind, links, money, only, text
from makercloud.calls.kinds.errors import InvalidKindRules
from makercloud.calls.models.engine import Call, Response
from makercloud.core.money import Money

REWARD_NAMESPACE = uuid.UUID("6f1b1f0e-7c55-4b0e-9a53-2d7f1c0a6b01")


def reward_of(call: Call) -> Money:
    reward = money(call.selection or {}, "reward")
    assert reward is not None
    return reward


def reward_transfer_id(call: Call) -> uuid.UUID:
    return uuid.uuid5(REWARD_NAMESPACE, f"call:{call.pk}:reward")


class Challenge(Kind):
    name = "challenge"

    def validate_call(self, *, call: Call) -> None:
        selection = dict(call.selection or {})
        only(selection, {"method", "reward"}, error=InvalidKindRules)
        if selection.get("method", "owner") != "owner":
            raise InvalidKindRules(detail=_("The owner picks a challenge's solution: method is \"owner\"."))
        money(selection, "reward")
        call.selection = {"method": "owner", "reward": selection["reward"]}

    def validate_response(self, *, call: Call, content: dict[str, Any], person: User,
                          organisation: Organisation | None) -> dict[str, Any]:
        only(content, {"summary", "approach", "links"})
        return {"summary": text(content, "summary"), "approach": text(content, "approach", required=False),
                "links": links(content)}

    def award(self, *, call: Call, response: Response, actor: User | None) -> None:
        from makercloud.calls.services.kinds import challenge_reward_pay

        challenge_reward_pay(call=call, response=response, actor=actor)


kind = Challenge()
