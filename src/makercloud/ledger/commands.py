"""`makercloud ledger verify` and `makercloud ledger export --format beancount [--venture SLUG] [--output FILE]`."""

import argparse
import sys

from makercloud.accounts.models import Organisation, OrganisationKind
from makercloud.ledger import beancount
from makercloud.ledger.selectors.journal import ledger_report


def verify() -> int:
    report = ledger_report()
    if report.broken_seq is None:
        print(f"OK: {report.count} transfers, head {report.head}")
        return 0
    print(
        f"BROKEN at transfer #{report.broken_seq}: {report.reason} "
        f"({report.count} transfers check out before it, up to {report.head})",
        file=sys.stderr,
    )
    return 1


def export(args: argparse.Namespace) -> int:
    venture = None
    if args.venture:
        venture = Organisation.objects.filter(slug=args.venture, kind=OrganisationKind.VENTURE).first()
        if venture is None:
            print(f"makercloud: no venture has the short name {args.venture!r}", file=sys.stderr)
            return 2
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            beancount.export(out=out, venture=venture)
    else:
        beancount.export(out=sys.stdout, venture=venture)
    return 0


def run(args: argparse.Namespace) -> int:
    if args.action == "verify":
        return verify()
    return export(args)
