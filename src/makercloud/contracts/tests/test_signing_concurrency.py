"""The last two parties sign at the same moment (real threads, committed rows): the contract comes into force once —
one `contract.signed` event, one notification each — and an amendment racing the signatures either lands before
(and the stale signature is refused) or after (and needs every signature again); never a signed version that a
party did not sign."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from conftest import PASSWORD
from django.db import close_old_connections

from makercloud.accounts import services as accounts_services
from makercloud.accounts.models import User
from makercloud.contracts import services
from makercloud.contracts.errors import StaleVersion
from makercloud.contracts.models import Contract, ContractState, Signature
from makercloud.core.errors import DomainError
from makercloud.core.models import Event
from makercloud.notifications.models import Notification


def together(*actions: Callable[[], Any]) -> list[Any]:
    barrier = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)

    def run(index: int, action: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[index] = action()
        except DomainError as error:
            results[index] = error
        finally:
            close_old_connections()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def people() -> tuple[User, User, User, Contract]:
    def person(name: str) -> User:
        return accounts_services.person_sign_up(email=f"{name.lower()}@example.com", name=name, password=PASSWORD,
                                                intent="maker", send_verification=False)

    owner, alpha, beta = person("Owner"), person("Alpha"), person("Beta")
    venture = accounts_services.organisation_create(actor=owner, kind="venture", name="Race Lab")
    a = accounts_services.organisation_create(actor=alpha, kind="supplier", name="Alpha Parts")
    b = accounts_services.organisation_create(actor=beta, kind="supplier", name="Beta Parts")
    contract = services.contract_create(actor=owner, venture=venture, title="Three-way supply", parties=[
        {"key": "v", "role": "buyer", "organisation_id": venture.pk},
        {"key": "a", "role": "supplier", "organisation_id": a.pk},
        {"key": "b", "role": "supplier", "organisation_id": b.pk}])
    return owner, alpha, beta, contract


@pytest.mark.usefixtures("committed_db")
def test_the_last_two_signatures_at_once_put_the_terms_in_force_once() -> None:
    owner, alpha, beta, contract = people()
    version_hash = contract.pending.hash  # type: ignore[union-attr]
    services.contract_sign(contract=contract, actor=owner, password=PASSWORD, version_hash=version_hash)
    results = together(
        lambda: services.contract_sign(contract=contract, actor=alpha, password=PASSWORD, version_hash=version_hash),
        lambda: services.contract_sign(contract=contract, actor=beta, password=PASSWORD, version_hash=version_hash))
    assert all(isinstance(r, Signature) for r in results), results
    contract.refresh_from_db()
    assert contract.state == ContractState.SIGNED and contract.current.signatures.count() == 3  # type: ignore
    assert Event.objects.filter(kind="contract.signed", subject_id=str(contract.pk)).count() == 1
    assert Notification.objects.filter(person=owner, title__startswith="Signed by every party").count() == 1


@pytest.mark.usefixtures("committed_db")
def test_an_amendment_racing_a_signature_never_leaves_an_unsigned_version_in_force() -> None:
    owner, alpha, beta, contract = people()
    first = contract.pending
    assert first is not None
    for person in (owner, alpha):
        services.contract_sign(contract=contract, actor=person, password=PASSWORD, version_hash=first.hash)
    results = together(
        lambda: services.contract_sign(contract=contract, actor=beta, password=PASSWORD, version_hash=first.hash),
        lambda: services.contract_amend(contract=contract, actor=alpha, reason="Price index", text="New price"))
    contract.refresh_from_db()
    if isinstance(results[0], StaleVersion):  # the amendment came first: version 1 was replaced, never in force
        assert contract.current is None and contract.state == ContractState.AWAITING
    else:  # the signature came first: version 1 is in force, the amendment awaits every signature
        assert contract.current == first and contract.state == ContractState.AMENDING
        assert not contract.pending.signatures.exists()  # type: ignore[union-attr]
    for version in contract.versions.filter(state="signed"):
        assert version.signatures.count() == 3
