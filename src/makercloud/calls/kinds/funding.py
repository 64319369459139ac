"""funding: a venture seeks an amount for stated uses against milestones; investors (organisations of kind investor)
commit; the owner chooses a commitment with a published reason; at the award the committed amount is split into
tranches by the milestones' shares (Money.allocate: no unit lost); each tranche is released — a ledger transfer (code
funding) from the investor's clearing account to the venture's venture_operating account — when the venture reports
its milestone met and the investor confirms, in order.

Rules: response_form = {"amount": {"minor": 100000000, "currency": "CNY"},
                        "uses": [{"use": "Tooling", "minor": 60000000}, …],
                        "milestones": [{"title": "Prototype", "share_bp": 3000}, …]}   shares sum to 10,000
Commitment (for an investor organisation): {"amount": 100000000, "conditions": "…"}  (minor units, ≤ the amount)
"""

from typing import Any

from django.utils.translation import gettext as _

from makercloud.accounts.models import Organisation, OrganisationKind, User
from makercloud.calls.errors import NotEligible
from makercloud.calls.kinds.base import Kind, money, only, text, whole
from makercloud.calls.kinds.errors import InvalidKindRules
from makercloud.calls.models.engine import Call, Response
from makercloud.core.money import Money


def amount_of(call: Call) -> Money:
    amount = money(call.response_form or {}, "amount")
    assert amount is not None
    return amount


def milestones_of(call: Call) -> list[dict[str, Any]]:
    return list((call.response_form or {}).get("milestones") or [])


class Funding(Kind):
    name = "funding"

    def validate_call(self, *, call: Call) -> None:
        form = dict(call.response_form or {})
        only(form, {"amount", "uses", "milestones"}, error=InvalidKindRules)
        amount = money(form, "amount")
        assert amount is not None
        uses = form.get("uses") or []
        if not isinstance(uses, list) or not 1 <= len(uses) <= 20:
            raise InvalidKindRules(detail=_("State one to twenty uses of the funds."))
        for use in uses:
            if not isinstance(use, dict):
                raise InvalidKindRules(detail=_("A use is {\"use\": text, \"minor\": amount}."))
            only(use, {"use", "minor"}, error=InvalidKindRules)
            text(use, "use", max_length=200, error=InvalidKindRules)
            whole(use, "minor", minimum=1, maximum=amount.minor, error=InvalidKindRules)
        if sum(use["minor"] for use in uses) != amount.minor:
            raise InvalidKindRules(detail=_("The uses must add up to the amount sought."))
        milestones = form.get("milestones") or []
        if not isinstance(milestones, list) or not 1 <= len(milestones) <= 12:
            raise InvalidKindRules(detail=_("Set one to twelve milestones."))
        for milestone in milestones:
            if not isinstance(milestone, dict):
                raise InvalidKindRules(detail=_("A milestone is {\"title\": text, \"share_bp\": basis points}."))
            only(milestone, {"title", "share_bp"}, error=InvalidKindRules)
            text(milestone, "title", max_length=200, error=InvalidKindRules)
            whole(milestone, "share_bp", minimum=1, maximum=10_000, error=InvalidKindRules)
        if sum(m["share_bp"] for m in milestones) != 10_000:
            raise InvalidKindRules(detail=_("The milestones' shares must add up to 10,000 basis points."))
        selection = dict(call.selection or {})
        if selection.get("method", "owner") != "owner":
            raise InvalidKindRules(detail=_("The venture chooses its investor: method is \"owner\"."))
        call.selection = {"method": "owner"}

    def eligible(self, *, call: Call, person: User, organisation: Organisation | None) -> bool | None:
        if organisation is None or organisation.kind != OrganisationKind.INVESTOR:
            raise NotEligible(detail=_("Commit for an investor organisation you are a member of."))
        return True

    def validate_response(self, *, call: Call, content: dict[str, Any], person: User,
                          organisation: Organisation | None) -> dict[str, Any]:
        only(content, {"amount", "conditions"})
        sought = amount_of(call)
        committed = whole(content, "amount", minimum=1, maximum=sought.minor)
        return {"amount": committed, "currency": sought.currency,
                "conditions": text(content, "conditions", required=False)}

    def evaluate(self, *, call: Call) -> list[Response]:
        from makercloud.calls.services.engine import valid_responses

        return sorted(valid_responses(call), key=lambda r: (-int(r.content.get("amount", 0)), r.pk))

    def award(self, *, call: Call, response: Response, actor: User | None) -> None:
        from makercloud.calls.services.kinds import tranches_plan

        tranches_plan(call=call, response=response)


kind = Funding()
