"""The demo world of open calls and contracts (issue 6): calls of every kind at different stages, two qualified
suppliers, and a sourcing round that ran to a signed supply contract (with a complaint heard on the way).

History is made the way the platform makes it — the engine's services and its scheduler (`calls_tick`) — with the
clock moved for past deadlines by setting them to a moment just gone. Idempotent: calls are looked up by title, so
seeding again changes nothing.
"""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.utils import timezone

from makercloud.accounts.models import Organisation, User
from makercloud.calls.models import Call, CallState, QualificationState, SupplierQualification
from makercloud.calls.services import engine as calls
from makercloud.contracts import services
from makercloud.contracts.models import Contract

DEMO_PASSWORD = "rendanheyi-2026"  # noqa: S105 — the demo world's published password (web/demo.py)

SOURCING_DONE = "Brushless motors for the Laundry Lab washer"
SOURCING_OPEN = "Humidity sensors for the Cool Air bedroom unit"
IDEA = "A night mode that keeps the washer below 40 dB"
CHALLENGE = "Cut compressor noise below 30 dB"
ROLE = "Sell 3,000 Laundry Lab washers in East China by June"
FUNDING = "Seed round for Kitchen Co-create's food-saving fridge"

FORMULA = {"method": "formula", "weights": {"price": 50, "delivery": 20, "quality": 15, "rating": 15},
           "quality_commitments": {"iso9001": 2, "warranty-24m": 2, "ppm-500": 1}, "unrated": 3}


def _org(name: str) -> Organisation:
    return Organisation.objects.get(name=name)


def _qualify(operator: User, owner: User, supplier: Organisation, category: str) -> None:
    if SupplierQualification.objects.filter(organisation=supplier, category=category,
                                            state=QualificationState.QUALIFIED).exists():
        return
    application = calls.qualification_apply(actor=owner, organisation=supplier, category=category, documents=[
        {"name": "ISO 9001 certificate", "url": "https://example.com/iso9001.pdf"}])
    calls.qualification_decide(actor=operator, qualification=application, qualified=True,
                               reasons="Audit of the factory and the certificate passed.",
                               valid_until=timezone.now() + timedelta(days=365))


def _post(actor: User, owner: Organisation, kind: str, title: str, days: float, **rules: Any) -> Call | None:
    """A published call, unless one with this title exists (then None: seeded before)."""
    if Call.objects.filter(title=title).exists():
        return None
    now = timezone.now()
    call = calls.call_create(actor=actor, owner=owner, kind=kind, title=title, responses_until=now + timedelta(
        days=days), questions_until=now + timedelta(days=days / 2), **rules)
    return calls.call_publish(actor=actor, call=call)


def _deadline_passes(call: Call) -> None:
    """Time passes: the call's deadline is now just gone and the scheduler runs."""
    just_gone = calls.database_now() - timedelta(seconds=1)  # the scheduler's clock (a transaction's start on PG)
    Call.objects.filter(pk=call.pk).update(responses_until=just_gone, questions_until=just_gone)
    calls.calls_tick()
    call.refresh_from_db()


def _standstill_ends(call: Call) -> None:
    Call.objects.filter(pk=call.pk).update(standstill_until=calls.database_now() - timedelta(seconds=1))
    calls.calls_tick()
    call.refresh_from_db()


def seed(*, people: dict[str, User], say: Callable[[str], None] = print) -> None:
    operator, li, amara, wang = people["operator"], people["li.wei"], people["amara.okafor"], people["wang.fang"]
    sofia, kenji, hannah = people["sofia.rossi"], people["kenji.sato"], people["hannah.berg"]
    motors, sensorik = _org("Precision Motors Ltd"), _org("Sensorik Modules")
    laundry, cool_air, kitchen = _org("Laundry Lab"), _org("Cool Air Studio"), _org("Kitchen Co-create")
    _qualify(operator, sofia, motors, "motors")
    _qualify(operator, kenji, sensorik, "motors")
    _qualify(operator, kenji, sensorik, "sensors")
    delivery_by = (timezone.now() + timedelta(days=150)).date().isoformat()

    # A sourcing round run to the end: two sealed bids, opened and ranked at the deadline, a complaint heard and
    # dismissed during the standstill, the award, and a supply contract both parties signed.
    call = _post(li, laundry, "sourcing", SOURCING_DONE, 10, standstill_days=5,
                 description="Brushless DC motor, 0.5 kW, 1,400 rpm, IPX4, for the 8 kg family washer.",
                 eligibility={"category": "motors"}, selection=FORMULA, response_form={
                     "quantity": 2000, "unit_price_ceiling": {"minor": 42_000, "currency": "CNY"},
                     "delivery_by": delivery_by})
    if call is not None:
        calls.response_submit(actor=sofia, call=call, organisation=motors, content={
            "unit_price": 36_500, "delivery_days": 45, "quality": ["iso9001", "warranty-24m"],
            "note": "Line 3 of our Ningbo plant reserved for the order."})
        calls.response_submit(actor=kenji, call=call, organisation=sensorik, content={
            "unit_price": 38_900, "delivery_days": 60, "quality": ["iso9001"]})
        _deadline_passes(call)
        if call.state == CallState.STANDSTILL:
            complaint = calls.complaint_submit(actor=kenji, call=call, reasons=(
                "Precision Motors' delivery of 45 days ignores the Spring Festival shutdown."))
            calls.complaint_decide(actor=operator, complaint=complaint, upheld=False, reasons=(
                "The bid's 45 days run after the shutdown; the plant's schedule was checked."))
            _standstill_ends(call)
        contract = Contract.objects.filter(call=call).first()
        if contract is not None and contract.pending is not None:
            for signer in (li, sofia):
                services.contract_sign(contract=contract, actor=signer, password=DEMO_PASSWORD,
                                       version_hash=contract.pending.hash)
                contract.refresh_from_db()

    # Open calls of every kind.
    call = _post(amara, cool_air, "sourcing", SOURCING_OPEN, 12, eligibility={"category": "sensors"},
                 selection=FORMULA, response_form={"quantity": 5000, "unit_price_ceiling": {
                     "minor": 2_800, "currency": "CNY"}, "delivery_by": delivery_by},
                 description="Capacitive humidity sensor, ±2% RH, I²C; sealed bids.")
    if call is not None:
        calls.response_submit(actor=kenji, call=call, organisation=sensorik, content={
            "unit_price": 2_350, "delivery_days": 30, "quality": ["iso9001", "ppm-500"]})
    _post(li, laundry, "idea", IDEA, 60, description="Wash overnight without waking anyone: a quieter spin "
          "profile and a silent end-of-cycle signal.", selection={"method": "owner", "stages": [
              {"supports": 100, "days": 60}, {"supports": 1000, "days": 365}]})
    _post(amara, cool_air, "challenge", CHALLENGE, 30, description="The 1 HP compressor measures 34 dB(A) at 1 m; "
          "propose a mount, enclosure or control change that brings it below 30.",
          selection={"method": "owner", "reward": {"minor": 5_000_000, "currency": "CNY"}})
    call = _post(li, laundry, "role", ROLE, 7, response_form={
        "role": "Regional sales lead, East China",
        "target": {"metric": "units_sold", "threshold": 3000,
                   "by": (timezone.now() + timedelta(days=200)).date().isoformat()}, "currency": "CNY"},
        selection={"method": "owner"})
    if call is not None:  # closed: the owner now chooses among the bids
        calls.response_submit(actor=people["chen.jing"], call=call, content={
            "target": 3500, "ask_share_bp": 300, "pitch": "Ten years of appliance retail in Hangzhou."})
        calls.response_submit(actor=people["zhao.lei"], call=call, content={
            "target": 3000, "ask_fixed": {"minor": 2_000_000, "currency": "CNY"}})
        _deadline_passes(call)
    call = _post(wang, kitchen, "funding", FUNDING, 21, response_form={
        "amount": {"minor": 300_000_000, "currency": "CNY"},
        "uses": [{"use": "Tooling", "minor": 180_000_000}, {"use": "Certification", "minor": 120_000_000}],
        "milestones": [{"title": "Prototype", "share_bp": 3000}, {"title": "Certification", "share_bp": 3000},
                       {"title": "First batch", "share_bp": 4000}]}, selection={"method": "owner"})
    if call is not None:
        calls.response_submit(actor=hannah, call=call, organisation=_org("Northstar Seed Fund"), content={
            "amount": 300_000_000, "conditions": "A board observer seat."})
    signed = Contract.objects.filter(signed_at__isnull=False).count()
    say(f"  open calls: {Call.objects.count()} (every kind), {signed} signed contract(s); "
        "qualified suppliers: Precision Motors Ltd, Sensorik Modules")
