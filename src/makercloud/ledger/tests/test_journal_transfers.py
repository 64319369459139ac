"""transfers_create, transfer_post, transfer_void, transfers_expire and balance_of through the service layer."""

# ruff: noqa: F811  (fixtures imported from journal_fixtures)

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from makercloud.accounts.models import Organisation
from makercloud.accounts.services import platform_organisation
from makercloud.ledger import errors
from makercloud.ledger.models import Account, AccountPurpose, Checkpoint, Transfer
from makercloud.ledger.selectors.journal import Balance, balance_of
from makercloud.ledger.services import journal as journal_services
from makercloud.ledger.services.journal import (
    TransferSpec,
    account_open,
    transfer_post,
    transfer_void,
    transfers_create,
    transfers_expire,
)
from makercloud.ledger.tests.journal_fixtures import accounts, venture_org  # noqa: F401

pytestmark = pytest.mark.django_db


def spec(debit: Account, credit: Account, amount: int, **extra: Any) -> TransferSpec:
    return TransferSpec(id=extra.pop("id", None) or uuid.uuid4(), debit_account=debit, credit_account=credit,
                        amount=amount, code=extra.pop("code", "sale"), **extra)


def test_a_single_transfer_moves_posted_money_and_is_balanced(accounts: dict[str, Account]) -> None:
    clearing, wallet = accounts["clearing"], accounts["wallet"]
    [transfer] = transfers_create(transfers=[spec(clearing, wallet, 1999)])
    assert (transfer.seq, transfer.amount, transfer.currency, transfer.kind) == (1, 1999, "CNY", "single")
    assert balance_of(account=clearing) == Balance(debits_posted=1999)
    assert balance_of(account=wallet) == Balance(credits_posted=1999)
    assert Transfer.objects.get(pk=transfer.id).hash == transfer.hash


def test_a_flagged_account_is_never_overdrawn(accounts: dict[str, Account]) -> None:
    clearing, wallet, venture = accounts["clearing"], accounts["wallet"], accounts["venture"]
    transfers_create(transfers=[spec(clearing, wallet, 500)])
    with pytest.raises(errors.ExceedsCredits):
        transfers_create(transfers=[spec(wallet, venture, 501)])
    transfers_create(transfers=[spec(wallet, venture, 500)])
    assert balance_of(account=wallet) == Balance(debits_posted=500, credits_posted=500)


def test_a_linked_batch_with_one_refusal_leaves_nothing(accounts: dict[str, Account]) -> None:
    clearing, wallet, venture = accounts["clearing"], accounts["wallet"], accounts["venture"]
    batch = [spec(clearing, wallet, 100), spec(clearing, venture, 50), spec(wallet, venture, 101)]
    with pytest.raises(errors.ExceedsCredits):
        transfers_create(transfers=batch)
    assert Transfer.objects.count() == 0
    assert balance_of(account=wallet) == Balance()
    # Applied in order: the third may spend what the first brought in.
    transfers_create(transfers=[*batch[:2], spec(wallet, venture, 100)])
    assert balance_of(account=venture) == Balance(credits_posted=150)
    assert list(Transfer.objects.values_list("seq", flat=True)) == [1, 2, 3]


def test_an_exception_inside_a_batch_leaves_nothing_half_posted(
    accounts: dict[str, Account], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash between writing the transfers and writing the balances rolls both back."""
    clearing, wallet = accounts["clearing"], accounts["wallet"]

    def crash_after_transfers(snapshots: list[tuple[int, ...]]) -> None:
        assert Transfer.objects.count() == 2  # the transfers are in, the balances are not
        raise RuntimeError("power cut")

    monkeypatch.setattr(journal_services, "_write_snapshots", crash_after_transfers)
    with pytest.raises(RuntimeError):
        transfers_create(transfers=[spec(clearing, wallet, 10), spec(clearing, wallet, 20)])
    monkeypatch.undo()
    assert Transfer.objects.count() == 0
    assert balance_of(account=wallet) == Balance()
    transfers_create(transfers=[spec(clearing, wallet, 30)])
    assert Transfer.objects.get().seq == 1


def test_a_refusal_in_the_middle_of_a_streamed_batch_leaves_nothing(
    accounts: dict[str, Account], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL the first rows are already on their way to the server when a later one is refused."""
    monkeypatch.setattr(journal_services._Sink, "CHUNK", 2)
    clearing, wallet, venture = accounts["clearing"], accounts["wallet"], accounts["venture"]
    batch = [spec(clearing, wallet, 1) for _ in range(5)] + [spec(wallet, venture, 6)]
    with pytest.raises(errors.ExceedsCredits):
        transfers_create(transfers=batch)
    assert Transfer.objects.count() == 0 and balance_of(account=wallet) == Balance()
    transfers = transfers_create(transfers=batch[:5])
    assert [t.seq for t in transfers] == [1, 2, 3, 4, 5]
    assert balance_of(account=wallet) == Balance(credits_posted=5)
    again = transfers_create(transfers=batch[:5])  # the duplicate ids are refused mid-stream: the originals
    assert [(t.id, t.seq) for t in again] == [(t.id, t.seq) for t in transfers]
    assert Transfer.objects.count() == 5 and balance_of(account=wallet) == Balance(credits_posted=5)


def test_a_retry_returns_the_original_and_moves_money_once(accounts: dict[str, Account]) -> None:
    clearing, wallet = accounts["clearing"], accounts["wallet"]
    first = spec(clearing, wallet, 700, reference="sale-1", metadata={"rule": 3})
    [original] = transfers_create(transfers=[first])
    [again] = transfers_create(transfers=[first])
    assert (again.id, again.seq, again.hash) == (original.id, original.seq, original.hash)
    assert balance_of(account=wallet).credits_posted == 700
    with pytest.raises(errors.TransferExists):
        transfers_create(transfers=[spec(clearing, wallet, 701, id=first.id, reference="sale-1",
                                         metadata={"rule": 3})])
    with pytest.raises(errors.TransferExists):  # part of a batch already in: all or nothing
        transfers_create(transfers=[first, spec(clearing, wallet, 1)])
    assert Transfer.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"amount": 0}, errors.InvalidTransfer),
        ({"amount": -5}, errors.InvalidTransfer),
        ({"amount": 1.5}, errors.InvalidTransfer),
        ({"code": "gift"}, errors.InvalidTransfer),
        ({"metadata": {"ratio": 0.5}}, errors.InvalidTransfer),
        ({"timeout": 30}, errors.InvalidTransfer),
    ],
)
def test_bad_transfers_are_refused_by_name(accounts: dict[str, Account], changes: dict[str, Any], error: type) -> None:
    with pytest.raises(error):
        transfers_create(transfers=[spec(accounts["clearing"], accounts["wallet"], changes.pop("amount", 10),
                                         **changes)])
    assert Transfer.objects.count() == 0


def test_currency_must_match_both_accounts(accounts: dict[str, Account], venture_org: Organisation) -> None:
    eur = account_open(organisation=venture_org, purpose=AccountPurpose.VENTURE_OPERATING, currency="EUR")
    with pytest.raises(errors.TransferCurrencyMismatch):
        transfers_create(transfers=[spec(accounts["clearing"], eur, 10)])
    with pytest.raises(errors.TransferCurrencyMismatch):
        transfers_create(transfers=[spec(accounts["clearing"], accounts["wallet"], 10, currency="EUR")])


def test_two_phase_post_in_part_releases_the_rest(accounts: dict[str, Account]) -> None:
    clearing, wallet = accounts["clearing"], accounts["wallet"]
    [pending] = transfers_create(transfers=[spec(clearing, wallet, 1000, kind="pending", timeout=60)])
    assert balance_of(account=wallet) == Balance(credits_pending=1000)
    posted = transfer_post(id=uuid.uuid4(), pending_id=pending.id, amount=600)
    assert (posted.kind, posted.amount, posted.pending_id) == ("post", 600, pending.id)
    assert balance_of(account=wallet) == Balance(credits_posted=600)
    assert balance_of(account=clearing) == Balance(debits_posted=600)
    with pytest.raises(errors.PendingTransferResolved):
        transfer_void(id=uuid.uuid4(), pending_id=pending.id)


def test_post_more_than_pending_and_void(accounts: dict[str, Account]) -> None:
    clearing, wallet = accounts["clearing"], accounts["wallet"]
    [pending] = transfers_create(transfers=[spec(clearing, wallet, 100, kind="pending")])
    with pytest.raises(errors.ExceedsPendingAmount):
        transfer_post(id=uuid.uuid4(), pending_id=pending.id, amount=101)
    voided = transfer_void(id=uuid.uuid4(), pending_id=pending.id)
    assert (voided.kind, voided.amount) == ("void", 100)
    assert balance_of(account=wallet) == Balance()
    with pytest.raises(errors.PendingTransferNotFound):
        transfer_post(id=uuid.uuid4(), pending_id=uuid.uuid4())


def test_pending_and_post_in_one_batch(accounts: dict[str, Account]) -> None:
    clearing, wallet = accounts["clearing"], accounts["wallet"]
    hold = spec(clearing, wallet, 80, kind="pending")
    transfers_create(transfers=[hold, TransferSpec(id=uuid.uuid4(), kind="post", pending_id=hold.id)])
    assert balance_of(account=wallet) == Balance(credits_posted=80)


def test_pending_transfers_expire_after_their_timeout(accounts: dict[str, Account]) -> None:
    clearing, wallet = accounts["clearing"], accounts["wallet"]
    [pending] = transfers_create(transfers=[spec(clearing, wallet, 300, kind="pending", timeout=60)])
    [lasting] = transfers_create(transfers=[spec(clearing, wallet, 5, kind="pending")])
    assert transfers_expire() == 0
    later = timezone.now() + timedelta(seconds=61)
    assert transfers_expire(at=later) == 1
    assert transfers_expire(at=later) == 0
    expired = Transfer.objects.get(pending_id=pending.id)
    assert (expired.kind, expired.amount) == ("expire", 300)
    assert balance_of(account=wallet) == Balance(credits_pending=5)
    with pytest.raises(errors.PendingTransferResolved):
        transfer_post(id=uuid.uuid4(), pending_id=pending.id)
    assert lasting.timeout_at is None


def test_a_pending_transfer_past_its_timeout_cannot_be_posted_before_the_job_runs(accounts: dict[str, Account]) -> None:
    clearing, wallet = accounts["clearing"], accounts["wallet"]
    [pending] = transfers_create(
        transfers=[spec(clearing, wallet, 300, kind="pending", timeout=1)], at=timezone.now() - timedelta(seconds=5)
    )
    with pytest.raises(errors.PendingTransferExpired):
        transfer_post(id=uuid.uuid4(), pending_id=pending.id)


def test_accounts_are_one_per_owner_purpose_and_currency(venture_org: Organisation) -> None:
    first = account_open(organisation=venture_org, purpose="venture_operating", currency="CNY")
    assert account_open(organisation=venture_org, purpose="venture_operating", currency="CNY") == first
    assert first.debits_must_not_exceed_credits
    clearing = account_open(organisation=platform_organisation(), purpose="clearing", currency="CNY")
    assert not clearing.debits_must_not_exceed_credits
    with pytest.raises(errors.LedgerAccountExists):
        account_open(organisation=venture_org, purpose="venture_operating", currency="CNY",
                     debits_must_not_exceed_credits=False)


def test_checkpoints_are_published_every_n_transfers(
    accounts: dict[str, Account], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_services, "CHECKPOINT_EVERY", 3)
    clearing, wallet = accounts["clearing"], accounts["wallet"]
    transfers_create(transfers=[spec(clearing, wallet, 1), spec(clearing, wallet, 2)])
    assert not Checkpoint.objects.exists()
    transfers = transfers_create(transfers=[spec(clearing, wallet, 3), spec(clearing, wallet, 4)])
    checkpoint = Checkpoint.objects.get()
    assert (checkpoint.seq, checkpoint.hash) == (4, transfers[-1].hash)
    assert journal_services.checkpoint_publish() is None  # the head has not moved


def test_the_journal_refuses_update_and_delete(accounts: dict[str, Account]) -> None:
    [transfer] = transfers_create(transfers=[spec(accounts["clearing"], accounts["wallet"], 10)])
    assert journal_services.checkpoint_publish() is not None
    for statement in ("UPDATE ledger_transfer SET amount = 1", "DELETE FROM ledger_transfer",
                      "UPDATE ledger_balancesnapshot SET credits_posted = 0", "DELETE FROM ledger_balancesnapshot",
                      "UPDATE ledger_checkpoint SET hash = ''", "DELETE FROM ledger_checkpoint",
                      "UPDATE ledger_account SET currency = 'EUR'", "DELETE FROM ledger_account"):
        refused = pytest.raises(DatabaseError, match=r"append-only|never changed or deleted")
        with refused, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert Transfer.objects.get().amount == 10 == transfer.amount


def test_the_periodic_jobs_expire_and_checkpoint(accounts: dict[str, Account]) -> None:
    from makercloud.ledger import jobs

    clearing, wallet = accounts["clearing"], accounts["wallet"]
    [pending] = transfers_create(transfers=[spec(clearing, wallet, 300, kind="pending", timeout=1)],
                                 at=timezone.now() - timedelta(seconds=10))
    jobs.pending_transfers_expire.call_local()
    assert Transfer.objects.get(pending_id=pending.id).kind == "expire"
    assert balance_of(account=wallet) == Balance()
    jobs.checkpoint_publish.call_local()
    assert Checkpoint.objects.get().seq == 2


def test_a_transfer_to_an_account_or_venture_that_does_not_exist_is_refused(accounts: dict[str, Account]) -> None:
    with pytest.raises(errors.LedgerAccountNotFound):
        transfers_create(transfers=[spec(accounts["clearing"], 987654, 10)])
    with pytest.raises(errors.InvalidTransfer):
        transfers_create(transfers=[spec(accounts["clearing"], accounts["wallet"], 10, venture=987654)])
    assert Transfer.objects.count() == 0
