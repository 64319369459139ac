"""Settlement throughput on PostgreSQL: 100,000 sales under a five-party rule through `settlements_bulk` — the rule
in force looked up and parsed once per call, every sale allocated in minor units (rotating tie-break), its five
transfers (clearing → platform, co-creator, supplier, investor, venture) appended to the hash-chained journal in one
linked batch per call, the settlement rows bulk-inserted. Prints settlements/s and transfers/s, checks that the
money adds up and a sample recomputes, and compares with a bare COPY of the same rows (the transfers and the settlement
rows, a call's worth per COPY, into unindexed tables).

    .venv/bin/python bench/settlement.py                         # 100,000 sales, 2,000 per call (10,000 transfers)
    .venv/bin/python bench/settlement.py --sales 20000 --per-call 1000 --ventures 20

Sales are spread round-robin over `--ventures` ventures (each with its own rule and sets). Runs in a scratch database
(created and dropped). Prints numbers; not a test.
"""

import argparse
import os
import time

from scratch import bare_copy, scratch_database

RULE = """# five parties
split sale
  5% to @platform
  10% to @co_creators by points
  30% to @suppliers by bom_cost
  5% to @investors by stake
  remaining to @venture
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sales", type=int, default=100_000)
    parser.add_argument("--per-call", type=int, default=2_000, help="sales per settlements_bulk call")
    parser.add_argument("--ventures", type=int, default=10)
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions of the calls")
    args = parser.parse_args()

    with scratch_database(args.server, bench="settlement", keep=args.keep):
        run(args)


def run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0)

    from makercloud.accounts import services as accounts_services
    from makercloud.core.money import Money
    from makercloud.ledger.models import Settlement, Transfer
    from makercloud.ledger.selectors.rules import settlement_recompute
    from makercloud.ledger.services import rules as rule_services
    from makercloud.ledger.services.journal import TRANSFER_COLUMNS
    from makercloud.ledger.services.settlement import SETTLEMENT_COLUMNS, RevenueEvent, settlements_bulk
    from makercloud.ventures import services as ventures_services

    founder = accounts_services.person_sign_up(email="founder@bench.local", name="Founder", password="x" * 20,
                                               intent="maker", send_verification=False)
    ventures = []
    for n in range(args.ventures):
        venture = ventures_services.venture_found(actor=founder, name=f"Venture {n}", mission="Bench.",
                                                  origin="outside").organisation
        co_creator = accounts_services.person_sign_up(email=f"user{n}@bench.local", name=f"User {n}",
                                                      password="x" * 20, intent="user", send_verification=False)
        supplier = accounts_services.organisation_create(actor=founder, kind="supplier", name=f"Supplier {n}")
        investor = accounts_services.organisation_create(actor=founder, kind="investor", name=f"Investor {n}")
        rule = rule_services.rule_create(actor=founder, venture=venture, name="Sales", text=RULE).rule
        spec = rule_services.MemberSpec
        rule_services.party_set_update(actor=founder, rule=rule, name="co_creators",
                                       members=[spec(person=co_creator, weight=1)])
        rule_services.party_set_update(actor=founder, rule=rule, name="suppliers",
                                       members=[spec(organisation=supplier, weight=1)])
        rule_services.party_set_update(actor=founder, rule=rule, name="investors",
                                       members=[spec(organisation=investor, weight=1)])
        ventures.append(venture)

    now = timezone.now()
    # Sales at catalogue prices (each venture sells a few models, now and then discounted), as shops sell.
    prices = [1_999_00, 2_499_00, 2_999_00, 3_499_00, 3_899_00, 4_599_00, 1_899_05, 2_799_99]
    events = [RevenueEvent(event_id=f"sale-{n}", venture=ventures[n % len(ventures)], kind="sale",
                           revenue_class="product", amount=Money(prices[(n * 7) % len(prices)], "CNY"),
                           occurred_at=now)
              for n in range(args.sales)]
    total = sum(e.amount.minor for e in events)
    import cProfile
    import pstats

    profile = cProfile.Profile()
    import gc

    if os.environ.get("BENCH_NO_GC"):
        gc.disable()
    started, cpu_started = time.perf_counter(), time.process_time()
    calls = []
    for start in range(0, len(events), args.per_call):
        t0 = time.perf_counter()
        if args.profile:
            profile.enable()
        settlements_bulk(events=events[start:start + args.per_call], actor=None)
        if args.profile:
            profile.disable()
        calls.append(time.perf_counter() - t0)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if args.profile:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(35)

    transfers = Transfer.objects.filter(code="sale").count()
    settled = Settlement.objects.count()
    moved = sum(Transfer.objects.filter(code="sale").values_list("amount", flat=True).iterator(chunk_size=50_000))
    assert settled == args.sales, settled
    assert moved == total, (moved, total)
    sample = Settlement.objects.order_by("?")[:50]
    assert all(settlement_recompute(settlement=s).matches for s in sample)
    calls.sort()
    load = os.getloadavg()[0]
    bare = (bare_copy(table="ledger_transfer", columns=TRANSFER_COLUMNS, order_by="seq", batch=args.per_call * 5,
                      json_columns=["metadata"])
            + bare_copy(table="ledger_settlement", columns=["id", *SETTLEMENT_COLUMNS], order_by="id",
                        batch=args.per_call, json_columns=["shares", "context"]))
    print(f"settlement bench: {args.sales} sales x 5 parties over {args.ventures} ventures, "
          f"{args.per_call} sales per settlements_bulk call, PostgreSQL")
    print(f"  {elapsed:.1f} s: {args.sales / elapsed:,.0f} settlements/s, {transfers / elapsed:,.0f} transfers/s "
          f"({transfers} transfers, {moved} minor units, all accounted for)")
    print(f"  CPU of this process while settling: {cpu:.1f} s ({transfers / cpu:,.0f} transfers per CPU second; "
          f"PostgreSQL's own CPU not included)")
    print(f"  per call: p50 {calls[len(calls) // 2] * 1000:.0f} ms, max {calls[-1] * 1000:.0f} ms; "
          f"50 random settlements recomputed from their rule text: all match")
    print(f"  bare COPY of the same rows (transfers and settlement rows): {bare:.1f} s, "
          f"{(transfers + settled) / bare:,.0f} rows/s; settling reaches {bare / elapsed:.2f} of it")
    print(f"  load average at the end of settling: {load:.2f} (uptime; 2 CPUs shared)")


if __name__ == "__main__":
    main()
