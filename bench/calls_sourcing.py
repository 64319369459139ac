"""A sealed sourcing call with 2,000 bids closes and ranks: `call_close` (every bid decrypted with the call's key and
stored opened, the close event, the respondents told) then `call_evaluate` (the published formula over every bid,
ranks and scores written, the top bid selected, the standstill started, everyone told). Aim: under 2 s together.

    .venv/bin/python bench/calls_sourcing.py                    # 2,000 bids, 3 rounds, PostgreSQL scratch database
    .venv/bin/python bench/calls_sourcing.py --bids 5000 --rounds 1

The world is built fast and directly (people, supplier organisations, live qualifications, bids sealed by the
sourcing kind's own `seal`, exactly what `response_submit` stores); the deadline is then moved into the past (as if
the clock had run) and the measured steps are the engine's own. Runs in a scratch database (created and dropped).
Prints numbers; not a test.
"""

import argparse
import cProfile
import itertools
import os
import pstats
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from scratch import scratch_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bids", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=3, help="calls closed and ranked, one after another")
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions of the last round")
    args = parser.parse_args()

    with scratch_database(args.server, bench="calls_sourcing"):
        run(args)


def run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from datetime import timedelta

    from django.conf import settings
    from django.core.management import call_command
    from django.urls import reverse

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    call_command("migrate", verbosity=0)

    from makercloud.accounts import services as accounts_services
    from makercloud.accounts.models import Membership, Organisation, Role, User
    from makercloud.calls.kinds import registry
    from makercloud.calls.models import Call, CallState, QualificationState, Response, SupplierQualification
    from makercloud.calls.services import engine as services

    founder = accounts_services.person_sign_up(email="founder@bench.local", name="Founder", password="x" * 20,
                                               intent="maker", send_verification=False)
    venture = accounts_services.organisation_create(actor=founder, kind="venture", name="Bench Venture")
    category = "brushless-motors"
    started = time.perf_counter()
    people = User.objects.bulk_create([User(email=f"supplier{n}@bench.local", name=f"Supplier {n}")
                                       for n in range(args.bids)], batch_size=1000)
    companies = Organisation.objects.bulk_create([
        Organisation(kind="supplier", name=f"Motors {n}", slug=f"motors-{n}", created_by=people[n])
        for n in range(args.bids)], batch_size=1000)
    Membership.objects.bulk_create([Membership(person=p, organisation=c, role=Role.OWNER)
                                    for p, c in zip(people, companies, strict=True)], batch_size=1000)
    SupplierQualification.objects.bulk_create([
        SupplierQualification(organisation=c, category=category, state=QualificationState.QUALIFIED,
                              applied_by=p, documents=[{"name": "ISO", "url": "https://example.com"}])
        for p, c in zip(people, companies, strict=True)], batch_size=1000)
    print(f"world: {args.bids} suppliers in {time.perf_counter() - started:.1f} s")

    kind = registry["sourcing"]
    rng = random.Random(7)  # noqa: S311 - reproducible bids, not secrets
    reverse("calls:detail", args=[1])  # load the URLconf once, as a running process has

    # The kinds' own share of the measured steps: decrypting every bid (unseal) and the formula (evaluate).
    spent = {"unseal": 0.0, "evaluate": 0.0}

    def timed(name: str, hook: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(**kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return hook(**kwargs)
            finally:
                spent[name] += time.perf_counter() - start
        return wrapper

    kind.unseal, kind.evaluate = timed("unseal", kind.unseal), timed("evaluate", kind.evaluate)
    closes, evaluates, totals, hooks = [], [], [], []
    for round_ in range(args.rounds):
        now = services.database_now()
        call = services.call_create(
            actor=founder, owner=venture, kind="sourcing", title=f"Motors, round {round_}",
            eligibility={"category": category},
            response_form={"quantity": 100_000, "unit_price_ceiling": {"minor": 20_000, "currency": "CNY"},
                           "delivery_by": (now + timedelta(days=400)).date().isoformat()},
            selection={"method": "formula", "weights": {"price": 50, "delivery": 20, "quality": 15, "rating": 15},
                       "quality_commitments": {"iso9001": 2, "warranty-24m": 2, "ppm-500": 1}, "unrated": 3},
            responses_until=now + timedelta(hours=1), standstill_days=5)
        call = services.call_publish(actor=founder, call=call)
        bids = []
        for person, company in zip(people, companies, strict=True):
            content = {"unit_price": rng.randint(8_000, 20_000), "currency": "CNY",
                       "delivery_days": rng.randint(10, 90),
                       "quality": sorted(rng.sample(["iso9001", "warranty-24m", "ppm-500"], rng.randint(0, 3))),
                       "note": "Sealed bench bid"}
            sealed = kind.seal(call=call, content=content)
            bids.append(Response(call=call, respondent=person, organisation=company, sealed_content=sealed,
                                 receipt=os.urandom(32).hex(), terms_version=call.terms_version))
        Response.objects.bulk_create(bids, batch_size=1000)
        Call.objects.filter(pk=call.pk).update(responses_until=services.database_now() - timedelta(seconds=1))

        profiler = cProfile.Profile() if args.profile and round_ == args.rounds - 1 else None
        if profiler is not None:
            profiler.enable()
        spent.update(unseal=0.0, evaluate=0.0)
        t0 = time.perf_counter()
        services.call_close(call=call)
        t1 = time.perf_counter()
        services.call_evaluate(call=call)
        t2 = time.perf_counter()
        if profiler is not None:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
        call.refresh_from_db()
        assert call.state == CallState.STANDSTILL and call.winner_id is not None
        ranks = list(Response.objects.filter(call=call).order_by("rank").values_list("rank", "score"))
        assert [r for r, _s in ranks] == list(range(1, args.bids + 1))
        assert all(a >= b for (_r, a), (_q, b) in itertools.pairwise(ranks))
        hooks.append(spent["unseal"] + spent["evaluate"])
        closes.append(t1 - t0)
        evaluates.append(t2 - t1)
        totals.append(t2 - t0)
        print(f"round {round_}: close {t1 - t0:.3f} s, evaluate {t2 - t1:.3f} s, total {t2 - t0:.3f} s "
              f"(winner score {ranks[0][1]}); the kind's hooks: unseal {spent['unseal']:.3f} s, formula "
              f"{spent['evaluate']:.3f} s")
    print(f"median of {args.rounds}: close {statistics.median(closes):.3f} s, evaluate "
          f"{statistics.median(evaluates):.3f} s, close + rank {statistics.median(totals):.3f} s "
          f"for {args.bids} sealed bids (aim < 2 s); "
          f"of which the sourcing kind's hooks (decrypt + formula) {statistics.median(hooks):.3f} s")


if __name__ == "__main__":
    main()
