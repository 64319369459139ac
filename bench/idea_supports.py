"""A burst of 10,000 supports on one idea, from many threads at once on PostgreSQL, loses and doubles none: every
verified person supports through `support_add` (the real service: the unique constraint, the counter row updated
under its lock, the stages advanced), and a share of them try a second time at the same moment — each of those must
be refused (already-supported). At the end the Support rows, the idea's counter and the stage must agree exactly.

    .venv/bin/python bench/idea_supports.py                     # 10,000 supporters, 2,000 double tries, 16 threads
    .venv/bin/python bench/idea_supports.py --supporters 20000 --threads 32

Runs in a scratch database (created and dropped). Prints numbers and exits non-zero on any loss or double.
"""

import argparse
import queue
import sys
import threading
import time

from scratch import scratch_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--supporters", type=int, default=10_000)
    parser.add_argument("--doubles", type=int, default=2_000, help="supporters who also try a second time")
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    args = parser.parse_args()

    with scratch_database(args.server, bench="idea_supports"):
        ok = run(args)
    sys.exit(0 if ok else 1)


def run(args: argparse.Namespace) -> bool:
    import django

    django.setup()
    from datetime import timedelta

    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    call_command("migrate", verbosity=0)

    from makercloud.accounts import services as accounts_services
    from makercloud.accounts.models import User
    from makercloud.calls.kinds.errors import AlreadySupported
    from makercloud.calls.models import IdeaProgress, Support
    from makercloud.calls.services import engine as services
    from makercloud.calls.services import kinds as kind_services

    founder = accounts_services.person_sign_up(email="founder@bench.local", name="Founder", password="x" * 20,
                                               intent="maker", send_verification=False)
    venture = accounts_services.organisation_create(actor=founder, kind="venture", name="Bench Venture")
    idea = services.call_create(actor=founder, owner=venture, kind="idea", title="A quiet fan",
                                responses_until=services.database_now() + timedelta(days=30))
    idea = services.call_publish(actor=founder, call=idea)
    verified = timezone.now()
    people = User.objects.bulk_create([User(email=f"fan{n}@bench.local", name=f"Fan {n}", email_verified_at=verified)
                                       for n in range(args.supporters)], batch_size=2000)
    work: queue.Queue[User | None] = queue.Queue()
    doubles = people[: args.doubles]
    # Interleave: each double try follows its first try closely, so both are in flight at once on two threads.
    for n, person in enumerate(people):
        work.put(person)
        if n < args.doubles:
            work.put(doubles[n])
    for _ in range(args.threads):
        work.put(None)
    results = {"added": 0, "refused": 0, "errors": 0}
    lock = threading.Lock()

    def worker() -> None:
        added = refused = errors = 0
        try:
            while (person := work.get()) is not None:
                try:
                    kind_services.support_add(actor=person, call=idea)
                    added += 1
                except AlreadySupported:
                    refused += 1
                except Exception as error:  # counted and printed: any is a failure of the bench
                    errors += 1
                    print("error:", repr(error))
        finally:
            connection.close()
            with lock:
                results["added"] += added
                results["refused"] += refused
                results["errors"] += errors

    threads = [threading.Thread(target=worker) for _ in range(args.threads)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    rows = Support.objects.filter(call=idea).count()
    distinct = Support.objects.filter(call=idea).values("person").distinct().count()
    progress = IdeaProgress.objects.get(call=idea)
    attempts = args.supporters + args.doubles
    print(f"{attempts} attempts ({args.supporters} supporters, {args.doubles} second tries) on {args.threads} "
          f"threads in {elapsed:.2f} s = {attempts / elapsed:.0f} attempts/s")
    print(f"added {results['added']}, refused as doubles {results['refused']}, errors {results['errors']}; "
          f"Support rows {rows} (distinct people {distinct}); counter {progress.supports}; "
          f"stage {progress.stage} ({progress.state})")
    ok = (results["added"] == rows == distinct == progress.supports == args.supporters
          and results["refused"] == args.doubles and results["errors"] == 0)
    print("OK: none lost, none doubled" if ok else "FAILED: supports lost or doubled")
    return ok


if __name__ == "__main__":
    main()
