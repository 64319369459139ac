"""The developer portal on the API: registering apps, secrets shown once and stored hashed, rotation, icons, review."""

import base64
from collections.abc import Callable

from django.contrib.auth.hashers import check_password
from django.test import Client

from makercloud.accounts.models import Membership, Role, User
from makercloud.core.models import Event
from makercloud.developers.models import App, AppStatus
from makercloud.developers.tests.test_oauth_support import REDIRECT_URI, World, register, world  # noqa: F401

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def _body(**changes: object) -> dict[str, object]:
    return {"name": "Laundry assistant", "client_type": "confidential", "redirect_uris": ["https://app.example/cb"],
            "scopes": ["devices:read", "devices:control"], **changes}


def test_a_member_registers_a_confidential_app_whose_secret_is_shown_once_and_stored_hashed(
    world: World, client_for: Callable[[User], Client]  # noqa: F811
) -> None:
    maker = client_for(world.maker)
    response = maker.post(f"/api/v1/ventures/{world.venture.pk}/apps", _body(), content_type="application/json")
    assert response.status_code == 201
    created = response.json()
    assert created["status"] == "sandbox" and created["client_secret"] and created["client_id"]
    app = App.objects.select_related("application").get(pk=created["id"])
    assert app.application.client_secret != created["client_secret"]
    assert check_password(created["client_secret"], app.application.client_secret)
    assert "client_secret" not in maker.get(f"/api/v1/apps/{app.pk}").json()
    assert [a["id"] for a in maker.get("/api/v1/apps").json()["items"]] == [app.pk]
    assert Event.objects.filter(kind="app.registered", subject_id=str(app.pk)).exists()

    rotated = maker.post(f"/api/v1/apps/{app.pk}/secret")
    assert rotated.status_code == 201
    app.application.refresh_from_db()
    assert check_password(rotated.json()["client_secret"], app.application.client_secret)
    assert not check_password(created["client_secret"], app.application.client_secret)


def test_a_public_app_has_no_secret_to_show_or_rotate(world: World, client_for: Callable[[User], Client]) -> None:  # noqa: F811
    maker = client_for(world.maker)
    created = maker.post(f"/api/v1/ventures/{world.venture.pk}/apps", _body(client_type="public"),
                         content_type="application/json").json()
    assert created["client_secret"] is None
    assert maker.post(f"/api/v1/apps/{created['id']}/secret").status_code == 409


def test_redirect_uris_must_be_https_or_loopback_http(world: World, client_for: Callable[[User], Client]) -> None:  # noqa: F811
    maker = client_for(world.maker)
    for uris in (["http://app.example/cb"], ["https://app.example/cb#frag"], ["javascript:alert(1)"],
                 ["https://*.example/cb"], ["/relative"]):
        response = maker.post(f"/api/v1/ventures/{world.venture.pk}/apps", _body(redirect_uris=uris),
                              content_type="application/json")
        assert response.status_code == 422, uris
        assert response.headers["content-type"] == "application/problem+json"
    ok = maker.post(f"/api/v1/ventures/{world.venture.pk}/apps",
                    _body(redirect_uris=["http://127.0.0.1:8000/cb", "http://localhost/cb"]),
                    content_type="application/json")
    assert ok.status_code == 201
    unknown_scope = maker.post(f"/api/v1/ventures/{world.venture.pk}/apps", _body(scopes=["devices:manage"]),
                               content_type="application/json")
    assert unknown_scope.status_code == 422


def test_strangers_neither_register_nor_see_a_ventures_apps(
    world: World, make_person: Callable[..., User], client_for: Callable[[User], Client]  # noqa: F811
) -> None:
    app, _ = register(world, approve=False)
    stranger = client_for(make_person())
    assert stranger.post(f"/api/v1/ventures/{world.venture.pk}/apps", _body(),
                         content_type="application/json").status_code == 403
    assert stranger.get(f"/api/v1/apps/{app.pk}").status_code == 404
    assert stranger.patch(f"/api/v1/apps/{app.pk}", {"name": "Mine now"},
                          content_type="application/json").status_code == 404
    assert stranger.get("/api/v1/apps").json()["items"] == []


def test_the_icon_is_a_small_png_or_jpeg_served_as_such(world: World, client_for: Callable[[User], Client]) -> None:  # noqa: F811
    maker = client_for(world.maker)
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    created = maker.post(f"/api/v1/ventures/{world.venture.pk}/apps", _body(icon=data_url),
                         content_type="application/json").json()
    icon = Client().get(created["icon_url"])
    assert icon.status_code == 200 and icon["Content-Type"] == "image/png" and icon.content == PNG
    svg = "data:image/svg+xml;base64," + base64.b64encode(b"<svg onload='alert(1)'/>").decode()
    refused = maker.patch(f"/api/v1/apps/{created['id']}", {"icon": svg}, content_type="application/json")
    assert refused.status_code == 422 and "PNG or JPEG" in refused.json()["detail"]
    big = "data:image/png;base64," + base64.b64encode(PNG + b"\0" * 70_000).decode()
    assert maker.patch(f"/api/v1/apps/{created['id']}", {"icon": big},
                       content_type="application/json").status_code == 422


def test_review_submit_reject_with_a_reason_resubmit_approve(
    world: World, client_for: Callable[[User], Client]  # noqa: F811
) -> None:
    app, _ = register(world, approve=False)
    maker, operator = client_for(world.maker), client_for(world.operator)
    assert maker.post(f"/api/v1/apps/{app.pk}/review", {"decision": "approve"},
                      content_type="application/json").status_code == 403  # makers do not approve themselves
    assert operator.post(f"/api/v1/apps/{app.pk}/review", {"decision": "approve"},
                         content_type="application/json").status_code == 409  # not submitted yet
    assert maker.post(f"/api/v1/apps/{app.pk}/submit").json()["status"] == "in_review"
    queue = operator.get("/api/v1/apps?status=in_review").json()["items"]
    assert [a["id"] for a in queue] == [app.pk]
    no_reason = operator.post(f"/api/v1/apps/{app.pk}/review", {"decision": "reject"},
                              content_type="application/json")
    assert no_reason.status_code == 422
    rejected = operator.post(f"/api/v1/apps/{app.pk}/review",
                             {"decision": "reject", "reason": "Explain what the app does with telemetry."},
                             content_type="application/json").json()
    assert rejected["status"] == "rejected" and rejected["review_reason"].startswith("Explain")
    assert maker.get(f"/api/v1/apps/{app.pk}").json()["review_reason"].startswith("Explain")
    maker.post(f"/api/v1/apps/{app.pk}/submit")
    approved = operator.post(f"/api/v1/apps/{app.pk}/review", {"decision": "approve"},
                             content_type="application/json").json()
    assert approved["status"] == "approved"
    assert list(Event.objects.filter(subject_id=str(app.pk), kind__startswith="app.").values_list("kind", flat=True)
                .order_by("id")) == ["app.registered", "app.submitted", "app.rejected", "app.submitted",
                                     "app.approved"]
    # an approved app may drop scopes, never add any without a new review; devices:manage is never an app's
    narrowed = maker.patch(f"/api/v1/apps/{app.pk}", {"scopes": ["devices:read"], "redirect_uris": [REDIRECT_URI]},
                           content_type="application/json")
    assert narrowed.status_code == 200 and narrowed.json()["scopes"] == ["devices:read"]
    widened = maker.patch(f"/api/v1/apps/{app.pk}", {"scopes": ["devices:read", "devices:control"]},
                          content_type="application/json")
    assert widened.status_code == 409 and widened.json()["type"].endswith("/app-not-reviewable")
    assert maker.patch(f"/api/v1/apps/{app.pk}", {"scopes": ["devices:read", "devices:manage"]},
                       content_type="application/json").status_code == 422
    app.refresh_from_db()
    assert app.status == AppStatus.APPROVED


def test_pages_of_an_app_for_its_makers_operators_and_nobody_else(
    world: World, make_person: Callable[..., User], client_for: Callable[[User], Client]  # noqa: F811
) -> None:
    app, _ = register(world)
    page = client_for(world.maker).get(f"/developers/apps/{app.pk}/").content.decode()
    assert app.client_id in page and "Submit for review" not in page and "Change the app" in page
    operator_page = client_for(world.operator).get(f"/developers/apps/{app.pk}/").content.decode()
    assert "Record the decision" in operator_page and "Change the app" not in operator_page
    assert client_for(make_person()).get(f"/developers/apps/{app.pk}/").status_code == 404
    anonymous = Client().get(f"/o/authorize/?client_id={app.client_id}&response_type=code")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")


def test_the_portal_and_review_pages_work(world: World, client_for: Callable[[User], Client]) -> None:  # noqa: F811
    maker = client_for(world.maker)
    page = maker.post("/developers/", {
        "venture": world.venture.organisation.pk, "name": "Dryer helper", "client_type": "confidential",
        "redirect_uris": "https://dry.example/cb", "scopes": ["devices:read"],
    })
    assert page.status_code == 200 and 'id="client-secret"' in page.content.decode()
    app = App.objects.get(name="Dryer helper")
    assert maker.post(f"/developers/apps/{app.pk}/", {"action": "submit"}).status_code == 302
    operator = client_for(world.operator)
    queue = operator.get("/developers/review/")
    assert queue.status_code == 200 and "Dryer helper" in queue.content.decode()
    assert client_for(world.user).get("/developers/review/").status_code == 403
    operator.post(f"/developers/apps/{app.pk}/review", {"decision": "approve"})
    app.refresh_from_db()
    assert app.status == AppStatus.APPROVED


def test_a_malformed_icon_is_a_readable_problem(world: World, client_for: Callable[[User], Client]) -> None:  # noqa: F811
    maker = client_for(world.maker)
    for icon in ("not a data url", "data:image/png;base64,@@@"):
        response = maker.post(f"/api/v1/ventures/{world.venture.pk}/apps", _body(icon=icon),
                              content_type="application/json")
        assert response.status_code == 422 and response.json()["type"].endswith("/invalid-app"), icon


def test_a_plain_member_reads_the_ventures_apps_but_only_owners_and_admins_change_them(
    world: World, make_person: Callable[..., User], client_for: Callable[[User], Client]  # noqa: F811
) -> None:
    app, _ = register(world, approve=True)
    person = make_person(name="Chen Member")
    Membership.objects.create(person=person, organisation=world.venture.organisation, role=Role.MEMBER)
    member = client_for(person)
    assert member.get(f"/api/v1/apps/{app.pk}").status_code == 200
    for refused in (
        member.patch(f"/api/v1/apps/{app.pk}", {"redirect_uris": ["https://evil.example/cb"]},
                     content_type="application/json"),
        member.post(f"/api/v1/apps/{app.pk}/webhooks", {"url": "https://hooks.example/in",
                                                        "event_types": ["device.event"]},
                    content_type="application/json"),
        member.post(f"/api/v1/ventures/{world.venture.pk}/apps", _body(), content_type="application/json"),
    ):
        assert refused.status_code == 403, refused.content
        assert refused.json()["type"].endswith("/not-app-maker")
    app.refresh_from_db()
    assert app.redirect_uris == [REDIRECT_URI] and not app.webhook_endpoints.exists()


def test_an_approved_app_may_drop_redirect_uris_but_adding_one_needs_a_new_review(
    world: World, client_for: Callable[[User], Client]  # noqa: F811
) -> None:
    """Codes go to the redirect URIs; users consented and operators approved with the ones the app had."""
    app, _ = register(world, approve=True)
    maker = client_for(world.maker)
    added = maker.patch(f"/api/v1/apps/{app.pk}", {"redirect_uris": [REDIRECT_URI, "https://evil.example/cb"]},
                        content_type="application/json")
    assert added.status_code == 409 and "https://evil.example/cb" in added.json()["detail"]
    app.refresh_from_db()
    assert app.redirect_uris == [REDIRECT_URI] and app.application.redirect_uris == REDIRECT_URI

    sandboxed, _ = register(world, approve=False)
    moved = maker.patch(f"/api/v1/apps/{sandboxed.pk}", {"redirect_uris": ["https://new.example/cb"]},
                        content_type="application/json")
    assert moved.status_code == 200 and moved.json()["redirect_uris"] == ["https://new.example/cb"]
