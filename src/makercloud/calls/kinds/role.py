"""role (抢单): a venture posts a role with a target ("sell 3,000 units by June"); people bid with the target they
commit to and what they ask (a fixed fee, a share in basis points, or both); the owner chooses with a published
reason; the winner joins the contract (the engine draws it up from the award).

Rules: response_form = {"role": "Regional sales lead", "target": {"metric": "units_sold", "threshold": 3000,
                        "by": "2026-06-30"}, "currency": "CNY"};  selection = {"method": "owner"}
Bid: {"target": 3500, "ask_fixed": {"minor": 2000000, "currency": "CNY"}, "ask_share_bp": 300, "pitch": "…"}
The ranking shown to the owner (advice; the owner chooses): committed target, highest first; then the lower share,
the lower fee, the earlier bid. score = committed target ÷ the role's threshold × 100.
"""

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from django.utils.translation import gettext as _

from makercloud.accounts.models import Organisation, User
from makercloud.calls.kinds.base import Kind, day, money, only, text, whole
from makercloud.calls.kinds.errors import InvalidKindRules, InvalidResponse
from makercloud.calls.models.engine import Call, Response

SIX = Decimal("0.000001")


class Role(Kind):
    name = "role"

    def validate_call(self, *, call: Call) -> None:
        form = dict(call.response_form or {})
        only(form, {"role", "target", "currency"}, error=InvalidKindRules)
        text(form, "role", max_length=200, error=InvalidKindRules)
        target = form.get("target")
        if not isinstance(target, dict):
            raise InvalidKindRules(detail=_("A role needs a target: {\"metric\", \"threshold\", \"by\"}."))
        only(target, {"metric", "threshold", "by"}, error=InvalidKindRules)
        text(target, "metric", max_length=64, error=InvalidKindRules)
        whole(target, "threshold", minimum=1, maximum=10**12, error=InvalidKindRules)
        day(target, "by")
        currency = form.setdefault("currency", "CNY")
        money({"c": {"minor": 1, "currency": currency}}, "c")
        selection = dict(call.selection or {})
        if selection.get("method", "owner") != "owner":
            raise InvalidKindRules(detail=_("The owner chooses a role's winner: method is \"owner\"."))
        call.response_form, call.selection = form, {"method": "owner"}

    def validate_response(self, *, call: Call, content: dict[str, Any], person: User,
                          organisation: Organisation | None) -> dict[str, Any]:
        only(content, {"target", "ask_fixed", "ask_share_bp", "pitch"})
        committed = whole(content, "target", minimum=1, maximum=10**12)
        fixed = money(content, "ask_fixed", required=False, error=InvalidResponse)
        share = whole(content, "ask_share_bp", minimum=0, maximum=10_000, required=False)
        if fixed is None and share is None:
            raise InvalidResponse(detail=_("Say what you ask: a fixed fee, a share (basis points), or both."))
        currency = (call.response_form or {}).get("currency", "CNY")
        if fixed is not None and fixed.currency != currency:
            raise InvalidResponse(detail=_("Ask in %(currency)s.") % {"currency": currency})
        cleaned: dict[str, Any] = {"target": committed, "pitch": text(content, "pitch", required=False)}
        if fixed is not None:
            cleaned["ask_fixed"] = {"minor": fixed.minor, "currency": fixed.currency}
        if share is not None:
            cleaned["ask_share_bp"] = share
        return cleaned

    def evaluate(self, *, call: Call) -> list[Response]:
        from makercloud.calls.services.engine import valid_responses

        threshold = Decimal((call.response_form or {}).get("target", {}).get("threshold") or 1)
        responses = valid_responses(call)
        for response in responses:
            committed = Decimal(response.content.get("target", 0))
            response.score = (committed / threshold * 100).quantize(SIX, rounding=ROUND_HALF_EVEN)
        return sorted(responses, key=lambda r: (
            -int(r.content.get("target", 0)), int(r.content.get("ask_share_bp", 0)),
            int((r.content.get("ask_fixed") or {}).get("minor", 0)), r.pk))


kind = Role()
