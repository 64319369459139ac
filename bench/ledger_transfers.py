"""Journal append throughput on PostgreSQL: transfers/s through `transfers_create`, hash chain included, against a
bare COPY of the same rows into a scratch table.

    .venv/bin/python bench/ledger_transfers.py                        # 100,000 settlements x 5 parties = 500,000
    .venv/bin/python bench/ledger_transfers.py --sales 20000 --batch 5000

Each "settlement" is five single-phase transfers out of the platform's clearing account (a sale's money) to five
parties — platform revenue, the venture, a supplier, a co-creator and an investor — spread over 100 ventures. They
go in linked batches of `--batch` transfers, each one `transfers_create` call in its own transaction (lookup of
existing ids, account locks, balance checks, hash chain, COPY of transfers and balance rows, checkpoint).
The bare COPY writes the very same rows (all columns) with psycopg's COPY into an unindexed scratch table.
Runs in a scratch database (created and dropped). Prints numbers; not a test.
"""

import argparse
import os
import sys
import time
import uuid

from scratch import bare_copy, scratch_database

PARTIES = ("platform_revenue", "venture_operating", "supplier_payable", "co_creator_earnings", "investor_returns")
WEIGHTS = (10, 60, 20, 5, 5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sales", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000, help="transfers per linked batch")
    parser.add_argument("--ventures", type=int, default=100)
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions of transfers_create")
    args = parser.parse_args()

    with scratch_database(args.server, bench="ledger", keep=args.keep):
        run(args)


def run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from makercloud.accounts.models import Organisation
    from makercloud.accounts.services import platform_organisation
    from makercloud.core.money import Money
    from makercloud.ledger.selectors.journal import balance_of, ledger_verify
    from makercloud.ledger.services.journal import TRANSFER_COLUMNS, TransferSpec, account_open, transfers_create

    platform = platform_organisation()
    clearing = account_open(organisation=platform, purpose="clearing", currency="CNY")
    revenue = account_open(organisation=platform, purpose="platform_revenue", currency="CNY")
    per_venture = []
    for n in range(args.ventures):
        org = Organisation.objects.create(kind="venture", name=f"Venture {n}", slug=f"venture-{n}")
        supplier = Organisation.objects.create(kind="supplier", name=f"Supplier {n}", slug=f"supplier-{n}")
        investor = Organisation.objects.create(kind="investor", name=f"Investor {n}", slug=f"investor-{n}")
        per_venture.append((
            org,
            revenue,
            account_open(organisation=org, purpose="venture_operating", currency="CNY"),
            account_open(organisation=supplier, purpose="supplier_payable", currency="CNY"),
            account_open(organisation=org, purpose="co_creator_earnings", currency="CNY"),
            account_open(organisation=investor, purpose="investor_returns", currency="CNY"),
        ))

    def settlements(start: int, count: int) -> list[TransferSpec]:
        specs = []
        for sale in range(start, start + count):
            venture, *accounts = per_venture[sale % len(per_venture)]
            price = Money(1999 + sale % 5000, "CNY")
            for account, share, code in zip(accounts, price.allocate(list(WEIGHTS), start=sale % 5), PARTIES,
                                            strict=True):
                specs.append(TransferSpec(
                    id=uuid.uuid4(), debit_account=clearing, credit_account=account, amount=share.minor,
                    code="sale", venture=venture, reference=f"sale-{sale}", metadata={"party": code, "rule": 1},
                ))
        return specs

    total = args.sales * len(PARTIES)
    sales_per_batch = max(1, args.batch // len(PARTIES))
    print(f"{args.sales:,} settlements x {len(PARTIES)} parties = {total:,} transfers, "
          f"batches of {sales_per_batch * len(PARTIES):,}; load {os.getloadavg()[0]:.2f}", flush=True)
    inside = 0.0
    inside_cpu = 0.0
    built = 0.0
    import cProfile
    import pstats

    profile = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    for start in range(0, args.sales, sales_per_batch):
        t0 = time.perf_counter()
        specs = settlements(start, min(sales_per_batch, args.sales - start))
        t1 = time.perf_counter()
        c1 = time.process_time()
        if profile:
            profile.enable()
        transfers_create(transfers=specs)
        if profile:
            profile.disable()
        t2 = time.perf_counter()
        inside_cpu += time.process_time() - c1
        built += t1 - t0
        inside += t2 - t1
    elapsed = time.perf_counter() - started
    print(f"transfers_create: {total / inside:,.0f} transfers/s ({inside:.1f} s inside transfers_create; "
          f"{total / elapsed:,.0f}/s counting {built:.1f} s building the specs); this process's CPU inside it: "
          f"{inside_cpu:.1f} s, so {total / inside_cpu:,.0f} transfers per CPU-second of Python", flush=True)

    if profile:
        stats = pstats.Stats(profile).sort_stats(os.environ.get("BENCH_SORT", "tottime"))
        stats.print_stats(int(os.environ.get("BENCH_TOP", "20")))
    expected = sum(1999 + sale % 5000 for sale in range(args.sales))
    assert balance_of(account=clearing).debits_posted == expected, "the clearing account does not add up"

    t0 = time.perf_counter()
    broken = ledger_verify()
    print(f"ledger_verify: {total / (time.perf_counter() - t0):,.0f} transfers/s, broken at {broken}", flush=True)

    bare = bare_copy(table="ledger_transfer", columns=TRANSFER_COLUMNS, order_by="seq", batch=args.batch,
                     json_columns=["metadata"])
    print(f"bare COPY of the same rows: {total / bare:,.0f} rows/s ({bare:.1f} s); "
          f"transfers_create reaches {bare / inside:.2f} of it; load {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
