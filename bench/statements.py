"""Win-win statements for 4,000 ventures x 12 months on PostgreSQL: how long computing all of them takes.

    .venv/bin/python bench/statements.py                                  # 4,000 ventures, 4 sales a month each
    .venv/bin/python bench/statements.py --ventures 400 --sales 2         # a smaller world

Builds, in a scratch database (created and dropped), a world of `--ventures` ventures, each with a sharing rule,
a supplier, a co-creator, five devices of its own model (three in users' homes, sending telemetry) and, for each of
the 12 months before this one, `--sales` product sales and one subscription, each shared four ways (platform 5%,
supplier 30%, co-creator 10%, the venture the rest) by single-phase transfers out of clearing written with the
journal's own `transfers_create` (linked batches of 10,000, hash chain included); every third month one sale of
each venture is refunded. Settlement rows are bulk-inserted beside their transfers (the bench needs their kind,
class, amount and time, not the allocation that `settle` computes per sale).

Then it times `statements_compute` — every figure of every statement, one SQL aggregate each over all ventures and
periods — for all ventures x 12 months, all ventures x 4 quarters, and one venture x 12 months (the page), and each
aggregate on its own. Prints numbers; not a test.
"""

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

from scratch import scratch_database

SHARES = (("platform_revenue", 50), ("supplier_payable", 300), ("co_creator_earnings", 100))  # per mille


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ventures", type=int, default=4000)
    parser.add_argument("--sales", type=int, default=4, help="product sales per venture and month")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each measurement (the median is shown)")
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--database", help="time again on a database kept by an earlier run (--keep)")
    args = parser.parse_args()

    with scratch_database(args.server, bench="statements", keep=args.keep, existing=args.database):
        run(args)


def _timed(label: str, repeat: int, work: "object") -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    print(f"  {label:<58} median {median * 1000:9.1f} ms   (runs: {', '.join(f'{t * 1000:.0f}' for t in times)})")
    return median


def run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    if not args.database:
        call_command("migrate", verbosity=0)

    from makercloud.accounts.models import Organisation, User
    from makercloud.accounts.services import platform_organisation
    from makercloud.devices.models import Device, DeviceModel, TelemetryPoint
    from makercloud.ledger.models.journal import Account
    from makercloud.ledger.models.rules import RuleVersion, Settlement, SharingRule
    from makercloud.ledger.selectors import statements as st
    from makercloud.ledger.services.journal import TransferSpec, transfers_create
    from makercloud.ledger.statement_periods import period_current
    from makercloud.ventures.models import Venture

    if args.database:
        measure(args, st, list(Venture.objects.order_by("id")), period_current().series(13)[:-1], connection)
        return
    n = args.ventures
    started = time.perf_counter()
    platform = platform_organisation()
    orgs = Organisation.objects.bulk_create(
        [Organisation(kind="venture", name=f"Venture {i}", slug=f"venture-{i}", verification="verified")
         for i in range(n)], batch_size=5000)
    suppliers = Organisation.objects.bulk_create(
        [Organisation(kind="supplier", name=f"Supplier {i}", slug=f"supplier-{i}") for i in range(n)],
        batch_size=5000)
    ventures = Venture.objects.bulk_create(
        [Venture(organisation=org, mission="Benchmark venture", origin="outside") for org in orgs], batch_size=5000)
    people = User.objects.bulk_create(
        [User(email=f"user{i}@bench.local", name=f"User {i}", password="!") for i in range(3 * n)],  # noqa: S106 — unusable
        batch_size=5000)
    accounts = Account.objects.bulk_create(
        [Account(organisation=platform, purpose="clearing", currency="CNY"),
         Account(organisation=platform, purpose="platform_revenue", currency="CNY")]
        + [Account(organisation=org, purpose="venture_operating", currency="CNY") for org in orgs]
        + [Account(organisation=s, purpose="supplier_payable", currency="CNY") for s in suppliers]
        + [Account(person=people[3 * i], purpose="co_creator_earnings", currency="CNY") for i in range(n)],
        batch_size=5000)
    clearing, platform_revenue = accounts[0], accounts[1]
    operating, payable, earnings = accounts[2:2 + n], accounts[2 + n:2 + 2 * n], accounts[2 + 2 * n:]
    rules = SharingRule.objects.bulk_create([SharingRule(venture=org, name="Sales") for org in orgs],
                                            batch_size=5000)
    text = "split sale, subscription\n  5% to @platform\n  30% to @suppliers by bom_cost\n" \
           "  10% to @co_creators by points\n  remaining to @venture\n"
    versions = RuleVersion.objects.bulk_create(
        [RuleVersion(rule=rule, number=1, text=text, content_hash="0" * 64, kinds=["sale", "subscription"])
         for rule in rules], batch_size=5000)
    models = DeviceModel.objects.bulk_create(
        [DeviceModel(organisation=org, key="washer", version=1, title="Washer", document={}, content_hash="0" * 64)
         for org in orgs], batch_size=5000)
    months = period_current().series(13)[:-1]  # the 12 months before this one
    devices = []
    for i, (org, model) in enumerate(zip(orgs, models, strict=True)):
        for d in range(5):
            owner = people[3 * i + d] if d < 3 else None
            devices.append(Device(
                id=f"b{i:05d}d{d}", organisation=org, model=model, name=f"Washer {d}", secret_hash="x",  # noqa: S106
                owner=owner, claimed_at=months[d * 3].start + timedelta(days=2) if owner else None,
                last_seen_at=months[-1].start + timedelta(days=d) if d < 4 else None,
            ))
    Device.objects.bulk_create(devices, batch_size=5000)
    TelemetryPoint.objects.bulk_create(
        [TelemetryPoint(device=device, ts=month.start + timedelta(days=3, hours=k), name="drum_rpm", number=1200,
                        value=1200)
         for device in devices if device.owner_id for k, month in enumerate(months)], batch_size=10000)
    built = time.perf_counter() - started
    print(f"world: {n} ventures, {len(devices)} devices, {Device.objects.filter(owner__isnull=False).count()} in "
          f"homes, {TelemetryPoint.objects.count()} telemetry points ({built:.1f} s)")

    started = time.perf_counter()
    specs: list[TransferSpec] = []
    settlements: list[Settlement] = []
    transfers_total = 0

    def flush() -> None:
        nonlocal transfers_total
        if specs:
            with transaction.atomic():
                batch = transfers_create(transfers=specs)[0].batch
                for row in settlements:
                    row.batch = batch
                Settlement.objects.bulk_create(settlements, batch_size=5000)
            transfers_total += len(specs)
            specs.clear()
            settlements.clear()

    def share(event_id: str, i: int, amount: int, occurred: datetime, kind: str, revenue_class: str,
              refund_of: Settlement | None = None) -> Settlement:
        parts = [(platform_revenue, amount * SHARES[0][1] // 1000), (payable[i], amount * SHARES[1][1] // 1000),
                 (earnings[i], amount * SHARES[2][1] // 1000)]
        parts.append((operating[i], amount - sum(p for _a, p in parts)))
        for account, part in parts:
            debit, credit = (account, clearing) if refund_of else (clearing, account)
            specs.append(TransferSpec(id=uuid.uuid4(), debit_account=debit, credit_account=credit, amount=part,
                                      code="refund" if refund_of else kind, venture=orgs[i], reference=event_id))
        row = Settlement(event_id=event_id, venture=orgs[i], kind="refund" if refund_of else kind,
                         revenue_class=revenue_class, amount=amount, currency="CNY", rule_version=versions[i],
                         refund_of=refund_of, occurred_at=occurred, seed="0", batch=uuid.uuid4())
        settlements.append(row)
        return row

    for m, month in enumerate(months):
        refunds = []
        for i in range(n):
            for s in range(args.sales):
                sale = share(f"v{i}-m{m}-s{s}", i, 199_00 + 100 * (i % 7), month.start + timedelta(days=s + 1),
                             "sale", "product")
                if s == 0 and m % 3 == 2:
                    refunds.append((i, sale))
            share(f"v{i}-m{m}-sub", i, 19_00, month.start + timedelta(days=10), "subscription", "ecosystem")
            if len(specs) >= 10_000:
                flush()
        flush()  # the refunds need their sales' rows
        for i, sale in refunds:
            share(f"{sale.event_id}-refund", i, sale.amount, sale.occurred_at + timedelta(days=5), "sale", "product",
                  refund_of=sale)
            if len(specs) >= 10_000:
                flush()
        flush()
    elapsed = time.perf_counter() - started
    print(f"ledger: {Settlement.objects.count()} settlements, {transfers_total} transfers through transfers_create "
          f"({elapsed:.1f} s, {transfers_total / elapsed:,.0f} transfers/s)")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    measure(args, st, ventures, months, connection)


def measure(args: argparse.Namespace, st: Any, ventures: list[Any], months: list[Any], connection: Any) -> None:
    from makercloud.ledger.statement_periods import QUARTER, period_current

    n = len(ventures)
    print(f"\nstatements of {months[0].label} … {months[-1].label} (PostgreSQL {connection.pg_version // 10000}, "
          f"load {os.getloadavg()[0]:.2f}):")
    last = months[-1]
    result: dict = {}

    def all_months() -> None:
        result["months"] = st.statements_compute(ventures=None, periods=last.series(12), currency="CNY")

    def all_months_public() -> None:
        st.statements_compute(ventures=None, periods=last.series(12), currency="CNY", parties=False)

    quarter = period_current(granularity=QUARTER).previous()

    def all_quarters() -> None:
        result["quarters"] = st.statements_compute(ventures=None, periods=quarter.series(4), currency="CNY")

    sample = ventures[:: max(1, n // 20)][:20]

    def one_venture() -> None:
        for venture in sample:
            st.statements_of(venture=venture, period=last, count=12, currency="CNY")

    total = _timed(f"all {n} ventures x 12 months (every figure, each party)", args.repeat, all_months)
    _timed(f"all {n} ventures x 12 months (group totals only)", args.repeat, all_months_public)
    _timed(f"all {n} ventures x 4 quarters", args.repeat, all_quarters)
    per_page = _timed(f"one venture x 12 months, {len(sample)} ventures one after another", args.repeat,
                      one_venture) / len(sample)
    print(f"  => {len(result['months'])} statements; {total / len(result['months']) * 1e6:.0f} µs per statement; "
          f"one venture's page: {per_page * 1000:.1f} ms")
    window = [last.series(12)[0].previous(), *last.series(12)]
    print("each aggregate on its own, all ventures x 13 months:")
    _timed("revenue (settlements by venture, month, kind, class)", args.repeat,
           lambda: st._revenue(None, window, "CNY"))
    _timed("units refunded (refund ⋈ sale)", args.repeat, lambda: st._units_refunded(None, window, "CNY"))
    _timed("shares (settlement ⋈ transfer ⋈ account, net per account)", args.repeat,
           lambda: st._shares(None, window, "CNY"))
    _timed("activity (telemetry ∪ events ∪ last seen)", args.repeat, lambda: st._activity(None, window))
    _timed("users reached and devices in homes (first claims)", args.repeat, lambda: st._firsts(None, window))

    # A check that the figures are the world's: every sale shared in full, revenue = the sales less refunds.
    statements = result["months"]
    assert all(s.unshared == 0 for s in statements.values()), "some revenue was not shared"
    one = statements[(ventures[0].pk, months[2].label)]
    expected = args.sales * (199_00 + 0) + 19_00 - 199_00
    print(f"check: {ventures[0].organisation.name} {months[2].label}: revenue {one.revenue} (expected {expected}), "
          f"value added {one.value_added}, active users {one.active_users}, users reached {one.users_reached}")
    assert one.revenue == expected, (one.revenue, expected)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
