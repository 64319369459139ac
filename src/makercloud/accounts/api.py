from django.http import HttpRequest
from ninja import Router, Schema

from makercloud.accounts import selectors
from makercloud.accounts.auth import requires

router = Router(tags=["people"])


class MembershipOut(Schema):
    organisation_id: int
    organisation_name: str
    organisation_kind: str
    role: str


class MeOut(Schema):
    id: int
    email: str
    name: str
    intent: str
    email_verified: bool
    operator: bool
    memberships: list[MembershipOut]


@router.get("/me", response=MeOut, auth=requires("profile"), summary="Who is asking")
def me(request: HttpRequest) -> MeOut:
    person = request.auth  # type: ignore[attr-defined]
    return MeOut(
        id=person.pk, email=person.email, name=person.name, intent=person.intent,
        email_verified=person.email_verified, operator=selectors.is_operator(person=person),
        memberships=[
            MembershipOut(organisation_id=m.organisation_id, organisation_name=m.organisation.name,
                          organisation_kind=m.organisation.kind, role=m.role)
            for m in selectors.memberships_of(person=person)
        ],
    )
