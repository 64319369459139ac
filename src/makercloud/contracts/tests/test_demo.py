"""The demo world of issue 6: calls of every kind at different stages, qualified suppliers, a signed contract from
a sourcing round with a complaint heard; seeding twice changes nothing."""

import pytest

from makercloud.calls.models import Call, CallKind, CallState, Complaint, QualificationState, SupplierQualification
from makercloud.contracts import demo, selectors
from makercloud.contracts.models import Contract, ContractState
from makercloud.web import demo as web_demo

pytestmark = pytest.mark.django_db


def test_the_demo_world_has_calls_of_every_kind_and_a_signed_supply_contract() -> None:
    web_demo.seed(say=lambda _line: None)
    assert {c.kind for c in Call.objects.all()} == set(CallKind.values)
    states = {c.title: c.state for c in Call.objects.all()}
    assert states[demo.SOURCING_DONE] == CallState.CONTRACTED
    assert states[demo.SOURCING_OPEN] == CallState.OPEN and states[demo.ROLE] == CallState.EVALUATED
    assert SupplierQualification.objects.filter(state=QualificationState.QUALIFIED).values(
        "organisation").distinct().count() == 2
    assert Complaint.objects.get().decision_reasons  # heard, with reasons

    contract = Contract.objects.get()
    assert contract.state == ContractState.SIGNED and selectors.chain_verify(contract=contract).valid
    assert {p.name for p in contract.parties.all()} == {"Laundry Lab", "Precision Motors Ltd"}
    assert contract.current.signatures.count() == 2  # type: ignore[union-attr]
    assert contract.current.rule_version is not None  # the venture's published sharing rule is bound

    counts = (Call.objects.count(), Contract.objects.count(), SupplierQualification.objects.count())
    web_demo.seed(say=lambda _line: None)
    assert (Call.objects.count(), Contract.objects.count(), SupplierQualification.objects.count()) == counts
