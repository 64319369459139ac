"""The demo world's apps (called from web.demo.seed): idempotent, like the rest of the demo world.

- "Laundry assistant" of Laundry Lab: approved, a public client (PKCE) with the fixed client id
  `demo-laundry-assistant` and loopback redirect URIs, so examples/ can run against `makercloud up --demo`;
  Zhao Lei has connected it to the family washer.
- "Comfort scheduler" of Cool Air Studio: submitted, waiting in the operators' review queue.
"""

from makercloud.accounts.models import Organisation, User
from makercloud.developers.models import App, AppStatus
from makercloud.developers.services import clients as services
from makercloud.devices.models import Device

LAUNDRY_CLIENT_ID = "demo-laundry-assistant"
LOOPBACK = ["http://127.0.0.1:8765/callback", "http://localhost:8765/callback"]


def seed_apps(*, people: dict[str, User]) -> int:
    """The demo apps; returns how many apps the demo world has."""
    operator = people["operator"]
    laundry = Organisation.objects.get(name="Laundry Lab")
    app = App.objects.filter(venture=laundry, name="Laundry assistant").first()
    if app is None:
        app, _ = services.app_register(
            actor=people["li.wei"], venture=laundry, name="Laundry assistant", client_type="public",
            redirect_uris=LOOPBACK, client_id=LAUNDRY_CLIENT_ID,
            scopes=["devices:read", "devices:control", "telemetry:read", "events:subscribe"],
            description="Tells you when the wash is done, and can start a rinse for you.",
        )
    if app.status == AppStatus.SANDBOX:
        app = services.app_submit(actor=people["li.wei"], app=app)
    if app.status == AppStatus.IN_REVIEW:
        app = services.app_review(actor=operator, app=app, decision="approve")
    washer = Device.objects.filter(organisation=laundry, name="Family washer", owner=people["zhao.lei"]).first()
    if washer is not None and not app.grants.filter(person=people["zhao.lei"], revoked_at__isnull=True).exists():
        services.grant_consent(person=people["zhao.lei"], app=app, device_ids=[washer.pk],
                               scopes=["devices:read", "telemetry:read", "events:subscribe"])

    cool_air = Organisation.objects.get(name="Cool Air Studio")
    scheduler = App.objects.filter(venture=cool_air, name="Comfort scheduler").first()
    if scheduler is None:
        scheduler, _ = services.app_register(
            actor=people["amara.okafor"], venture=cool_air, name="Comfort scheduler", client_type="confidential",
            redirect_uris=["https://comfort.example/oauth/callback"], scopes=["devices:read", "devices:control"],
            description="Cools the bedroom before you come home, on your schedule.",
        )
        services.app_submit(actor=people["amara.okafor"], app=scheduler)
    return App.objects.filter(venture__in=[laundry, cool_air]).count()
