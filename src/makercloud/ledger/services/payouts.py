"""ledger services (writes): payouts — a party withdraws from its account to an external payout provider.

Two-phase in the journal: requesting holds the amount with a pending transfer from the party's account to the
platform's payout_pending account; when the provider confirms, the pending transfer is posted and, in the same
linked batch, the money leaves payout_pending for clearing (the outside world); when it fails, it is voided and the
party has its money back. Providers sit behind `PayoutProvider`; the built-in sandbox confirms after a short delay
(checked by a job) and fails every payout whose destination is `sandbox:fail`.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from makercloud.accounts import services as accounts_services
from makercloud.accounts.models import User
from makercloud.core.events import record_event
from makercloud.core.money import Money
from makercloud.ledger.models.journal import Account, AccountPurpose
from makercloud.ledger.models.rules import Payout, PayoutState
from makercloud.ledger.rules.errors import NotAccountOwner, PayoutInvalid, PayoutNotFound
from makercloud.ledger.selectors import rules as selectors
from makercloud.ledger.services.journal import TransferSpec, account_open, transfers_create

PAYOUT_NS = uuid.UUID("0c3f5b7e-8d2a-5f61-b4c9-7061796f7574")


@dataclass(frozen=True, slots=True)
class ProviderStatus:
    state: str  # "pending" | "paid" | "failed"
    reason: str = ""


class PayoutProvider(Protocol):
    name: str

    def submit(self, payout: Payout) -> str:
        """Hand the payout to the provider; return its reference. Called again for the same payout, the same."""

    def status(self, payout: Payout, *, now: datetime) -> ProviderStatus:
        """What the provider says about a submitted payout."""


class SandboxProvider:
    """Pays nothing out for real: confirms `confirm_after` after submission, fails destinations `sandbox:fail`."""

    name = "sandbox"
    confirm_after = timedelta(seconds=3)

    def submit(self, payout: Payout) -> str:
        return f"sbx_{payout.pk.hex}"

    def status(self, payout: Payout, *, now: datetime) -> ProviderStatus:
        if payout.destination.strip().lower() == "sandbox:fail":
            return ProviderStatus("failed", "The sandbox provider was told to fail this payout.")
        if now - payout.updated_at >= self.confirm_after:
            return ProviderStatus("paid")
        return ProviderStatus("pending")


PROVIDERS: dict[str, PayoutProvider] = {"sandbox": SandboxProvider()}


def _provider(name: str) -> PayoutProvider:
    return PROVIDERS[name]


def pending_id(payout: Payout) -> uuid.UUID:
    return payout.pending_transfer_id


def _outgoing(currency: str) -> tuple[Account, Account]:
    platform = accounts_services.platform_organisation()
    return (account_open(organisation=platform, purpose=AccountPurpose.PAYOUT_PENDING, currency=currency),
            account_open(organisation=platform, purpose=AccountPurpose.CLEARING, currency=currency))


@transaction.atomic
def payout_request(*, actor: User, account: Account, amount: Money, destination: str, provider: str = "sandbox",
                   idempotency_key: str = "") -> Payout:
    """Hold `amount` of the account for a payout (only its owner: the person, or an organisation's owner/admin)."""
    if not selectors.can_withdraw(person=actor, account=account):
        raise NotAccountOwner()
    if amount.currency != account.currency:
        raise PayoutInvalid(detail=_("This account holds %(currency)s.") % {"currency": account.currency})
    if amount.minor <= 0:
        raise PayoutInvalid(detail=_("The amount must be more than zero."))
    destination = destination.strip()
    if not destination or len(destination) > 200 or "\x00" in destination:
        raise PayoutInvalid(detail=_("Say where the money goes (at most 200 characters)."))
    if provider not in PROVIDERS:
        raise PayoutInvalid(detail=_("There is no payout provider %(name)s.") % {"name": provider})
    if idempotency_key:
        earlier = Payout.objects.filter(requested_by=actor, idempotency_key=idempotency_key).first()
        if earlier is not None:
            if (earlier.account_id, earlier.amount, earlier.destination) != (account.pk, amount.minor, destination):
                raise PayoutInvalid(detail=_("This idempotency key was used for another payout."))
            return earlier
    payout_pending, _clearing = _outgoing(account.currency)
    payout_id = uuid.uuid4()
    pending = uuid.uuid5(PAYOUT_NS, f"{payout_id}/pending")
    transfers_create(transfers=[TransferSpec(
        id=pending, kind="pending", debit_account=account, credit_account=payout_pending, amount=amount.minor,
        code="payout", venture=None, reference=str(payout_id), metadata={"payout": str(payout_id),
                                                                         "provider": provider},
    )], actor=actor)
    try:
        with transaction.atomic():
            payout = Payout.objects.create(
                id=payout_id, account=account, amount=amount.minor, currency=account.currency,
                destination=destination, provider=provider, pending_transfer_id=pending,
                idempotency_key=idempotency_key, requested_by=actor,
            )
    except IntegrityError:  # the same key raced in from another request; ours rolls back with this transaction
        raise PayoutInvalid(detail=_("This payout is being requested already.")) from None
    record_event(actor=actor, subject=payout, kind="payout.requested", organisation=account.organisation,
                 data={"amount": amount.minor, "currency": account.currency})
    from makercloud.ledger import jobs

    transaction.on_commit(lambda: jobs.payout_submit(str(payout_id)))
    return payout


def _locked(payout_id: uuid.UUID | str) -> Payout:
    payout = Payout.objects.select_for_update().filter(pk=payout_id).first()
    if payout is None:
        raise PayoutNotFound()
    return payout


@transaction.atomic
def payout_submit(*, payout_id: uuid.UUID | str) -> Payout:
    """Hand a requested payout to its provider (the job does this just after the request commits)."""
    payout = _locked(payout_id)
    if payout.state != PayoutState.REQUESTED:
        return payout
    payout.submit(_provider(payout.provider).submit(payout))
    payout.save()
    return payout


@transaction.atomic
def payout_resolve(*, payout_id: uuid.UUID | str, paid: bool, reason: str = "") -> Payout:
    """The provider's word (by callback or by `payouts_check`): post the hold and pay out, or void it."""
    payout = _locked(payout_id)
    if payout.state in (PayoutState.PAID, PayoutState.FAILED):
        return payout
    payout_pending, clearing = _outgoing(payout.currency)
    if paid:
        transfers_create(transfers=[
            TransferSpec(id=uuid.uuid5(PAYOUT_NS, f"{payout.pk}/post"), kind="post",
                         pending_id=payout.pending_transfer_id, reference=str(payout.pk)),
            TransferSpec(id=uuid.uuid5(PAYOUT_NS, f"{payout.pk}/out"), debit_account=payout_pending,
                         credit_account=clearing, amount=payout.amount, code="payout", reference=str(payout.pk),
                         metadata={"payout": str(payout.pk), "provider_reference": payout.provider_reference}),
        ])
        payout.confirm()
    else:
        transfers_create(transfers=[TransferSpec(id=uuid.uuid5(PAYOUT_NS, f"{payout.pk}/void"), kind="void",
                                                 pending_id=payout.pending_transfer_id, reference=str(payout.pk))])
        payout.fail(reason or _("The provider refused the payout."))
    payout.save()
    record_event(actor=None, subject=payout, kind="payout.paid" if paid else "payout.failed",
                 organisation=payout.account.organisation, data={"reason": payout.failure} if not paid else {})
    return payout


def payout_callback(*, provider: str, reference: str, state: str, reason: str = "") -> Payout:
    """A provider calls back with the state of a payout it was given."""
    payout = Payout.objects.filter(provider=provider, provider_reference=reference).first()
    if payout is None:
        raise PayoutNotFound()
    if state not in ("paid", "failed"):
        return payout
    return payout_resolve(payout_id=payout.pk, paid=state == "paid", reason=reason)


def payouts_check(*, now: datetime | None = None, limit: int = 200) -> int:
    """Submit payouts whose submission was lost, and ask providers about submitted ones. Returns how many resolved."""
    now = now or timezone.now()
    for payout_id in Payout.objects.filter(state=PayoutState.REQUESTED).values_list("pk", flat=True)[:limit]:
        payout_submit(payout_id=payout_id)
    resolved = 0
    for payout in Payout.objects.filter(state=PayoutState.SUBMITTED).order_by("updated_at")[:limit]:
        status = _provider(payout.provider).status(payout, now=now)
        if status.state in ("paid", "failed"):
            payout_resolve(payout_id=payout.pk, paid=status.state == "paid", reason=status.reason)
            resolved += 1
    return resolved
