"""idea: a user posts a need or an idea; verified people support it (one each) through staged thresholds with
deadlines (LEGO Ideas: 100 in 60 days, then 1,000, 5,000 and 10,000 within a year each); makers respond with design
proposals; the author, supporters and proposers discuss; the owner picks one proposal with a published reason; the
author, the supporters and the chosen proposer earn contribution points.

Rules: selection = {"method": "owner", "stages": [{"supports": 100, "days": 60}, …],
                    "points": {"author": 100, "proposer": 100, "supporter": 1}}
Proposal: {"title": "…", "summary": "…", "links": ["https://…"]}
"""

from typing import Any

from django.utils.translation import gettext as _

from makercloud.accounts.models import Organisation, User
from makercloud.calls.kinds.base import Kind, links, only, text, whole
from makercloud.calls.kinds.errors import InvalidKindRules, NotVerified
from makercloud.calls.models.engine import Call, Response

DEFAULT_STAGES = [
    {"supports": 100, "days": 60},
    {"supports": 1_000, "days": 365},
    {"supports": 5_000, "days": 365},
    {"supports": 10_000, "days": 365},
]
DEFAULT_POINTS = {"author": 100, "proposer": 100, "supporter": 1}


def stages_of(call: Call) -> list[dict[str, int]]:
    return list((call.selection or {}).get("stages") or DEFAULT_STAGES)


def points_of(call: Call) -> dict[str, int]:
    return {**DEFAULT_POINTS, **((call.selection or {}).get("points") or {})}


class Idea(Kind):
    name = "idea"

    def validate_call(self, *, call: Call) -> None:
        selection = dict(call.selection or {})
        only(selection, {"method", "stages", "points"}, error=InvalidKindRules)
        if selection.get("method", "owner") != "owner":
            raise InvalidKindRules(detail=_("The owner picks an idea's proposal: method is \"owner\"."))
        stages = selection.get("stages") or DEFAULT_STAGES
        if not isinstance(stages, list) or not 1 <= len(stages) <= 10:
            raise InvalidKindRules(detail=_("An idea has one to ten stages."))
        previous = 0
        for stage in stages:
            if not isinstance(stage, dict):
                raise InvalidKindRules(detail=_("A stage is {\"supports\": n, \"days\": d}."))
            only(stage, {"supports", "days"}, error=InvalidKindRules)
            supports = whole(stage, "supports", minimum=previous + 1, maximum=10**8, error=InvalidKindRules)
            whole(stage, "days", minimum=1, maximum=3650, error=InvalidKindRules)
            previous = supports or 0
        points = selection.get("points") or DEFAULT_POINTS
        if not isinstance(points, dict):
            raise InvalidKindRules(detail=_("points gives each role's points."))
        only(points, set(DEFAULT_POINTS), error=InvalidKindRules)
        for role in points:
            whole(points, role, minimum=0, maximum=1_000_000, error=InvalidKindRules)
        call.selection = {"method": "owner", "stages": stages, "points": {**DEFAULT_POINTS, **points}}

    def eligible(self, *, call: Call, person: User, organisation: Organisation | None) -> bool | None:
        if not person.email_verified:
            raise NotVerified(detail=_("Verify your e-mail address to propose a design."))
        return True

    def validate_response(self, *, call: Call, content: dict[str, Any], person: User,
                          organisation: Organisation | None) -> dict[str, Any]:
        only(content, {"title", "summary", "links"})
        return {"title": text(content, "title", max_length=200), "summary": text(content, "summary"),
                "links": links(content)}

    def award(self, *, call: Call, response: Response, actor: User | None) -> None:
        from makercloud.calls.services.kinds import contribution_points_award

        contribution_points_award(call=call, proposal=response)


kind = Idea()
