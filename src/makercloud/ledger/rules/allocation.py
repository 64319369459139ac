"""Sharing an amount under a rule, in integer minor units, with every step written down.

Within a block whose base is B (the whole amount for a section, a line's share for a nested block):
1. Fixed amounts are taken first, line by line, each at most what is left (never below zero).
2. The percentages and `remaining` share what is left after them (B'): one `Money.allocate` over the weights
   [each percentage in parts per million…, 1,000,000 − their sum for `remaining`]. Each line gets the floor of its
   exact share; the units left over go one each to the lines with the largest remainders; a tie between equal
   remainders goes to the line first in order counted from `seed mod n` (n = the number of lines sharing), so the
   spare unit moves round the lines from one event to the next.
3. Caps: a `max` gives what is above it to `remaining`; a `min` then takes from `remaining` up to its floor (never
   more than `remaining` holds), in line order.
4. A line to a set (@suppliers by bom_cost) shares its amount among the set's members with their weights, by the same
   `Money.allocate` and the same tie-break; a nested block shares its amount by its own lines.
The shares always add up to the amount exactly, and none is negative.
"""

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from makercloud.core.money import Money
from makercloud.ledger.rules.errors import RuleDoesNotApply
from makercloud.ledger.rules.language import PPM, Block, Line, Rule


@dataclass(frozen=True, slots=True)
class Member:
    """A member of a named set: `key` is "organisation:12" or "person:7"; weight a non-negative integer."""

    key: str
    label: str
    weight: int


@dataclass(frozen=True, slots=True)
class Context:
    sets: Mapping[str, Sequence[Member]] = field(default_factory=dict)
    seed: int = 0
    require_members: bool = False  # settling needs real members; a preview shows an empty set as one party


@dataclass(frozen=True, slots=True)
class Share:
    party: str  # platform | venture | co_creators | suppliers | investors
    member: str | None  # "organisation:12" / "person:7" for a set's member; None for a single party or an empty set
    label: str
    minor: int
    line: int


@dataclass(slots=True)
class Step:
    """What one line did: the base it applied to, how, what it got and whether it took a spare unit."""

    line: int
    column: int
    source: str
    depth: int
    base: int
    how: str
    minor: int
    spare_unit: bool = False
    note: str = ""
    members: list[dict[str, object]] = field(default_factory=list)


@dataclass(slots=True)
class Allocation:
    amount: Money
    shares: list[Share]
    steps: list[Step]
    section_line: int

    def by_party(self) -> dict[tuple[str, str | None], int]:
        totals: dict[tuple[str, str | None], int] = {}
        for share in self.shares:
            totals[(share.party, share.member)] = totals.get((share.party, share.member), 0) + share.minor
        return totals


def seed_of(event_id: str) -> int:
    """The published tie-break seed of an event: the first 8 bytes of sha256(event id) as an unsigned integer."""
    return int.from_bytes(hashlib.sha256(event_id.encode("utf-8")).digest()[:8], "big")


def _percent(ppm: int) -> str:
    whole, fraction = divmod(ppm, 10_000)
    return f"{whole}.{fraction:04d}".rstrip("0").rstrip(".") + "%"


def allocate(rule: Rule, amount: Money, *, kind: str = "sale", context: Context | None = None) -> Allocation:
    """Share `amount` (≥ 0) under the rule's section for `kind`."""
    context = context or Context()
    if amount.minor < 0:
        raise RuleDoesNotApply("the amount to share must not be negative", line=1, column=1)
    section = rule.section_for(kind)
    if section is None:
        raise RuleDoesNotApply(f"the rule has no `split {kind}` (nor `split any`) section", line=1, column=1)
    result = Allocation(amount=amount, shares=[], steps=[], section_line=section.line)
    _block(section.block, amount.minor, amount.currency, context, result, depth=0)
    assert sum(s.minor for s in result.shares) == amount.minor
    return result


def _block(block: Block, base: int, currency: str, context: Context, out: Allocation, *, depth: int) -> None:
    amounts: dict[int, int] = {}
    steps: dict[int, Step] = {}
    left = base
    for i, item in enumerate(block.lines):
        if item.portion == "fixed":
            assert item.fixed is not None
            _same_currency(item, item.fixed, currency)
            take = min(item.fixed.minor, left)
            left -= take
            amounts[i] = take
            steps[i] = Step(item.line, item.column, item.source, depth, base, f"fixed {item.fixed.minor}", take,
                            note="" if take == item.fixed.minor else f"only {take} was left")
    rest = left
    sharing = [i for i, item in enumerate(block.lines) if item.portion in ("percent", "remaining")]
    if sharing:
        weights = [block.lines[i].ppm if block.lines[i].portion == "percent"
                   else PPM - sum(it.ppm for it in block.lines) for i in sharing]
        total = sum(weights)
        if rest > 0 and total > 0:
            start = context.seed % len(sharing)
            parts = Money(rest, currency).allocate(weights, start=start)
        else:
            start, parts = 0, [Money(0, currency) for _ in sharing]
        for i, weight, part in zip(sharing, weights, parts, strict=True):
            item = block.lines[i]
            floor = rest * weight // total if total else 0
            how = (f"{_percent(weight)} of {rest}" if item.portion == "percent"
                   else f"remaining: {_percent(weight)} of {rest}")
            amounts[i] = part.minor
            steps[i] = Step(item.line, item.column, item.source, depth, rest, how, part.minor,
                            spare_unit=part.minor > floor)
        _caps(block, amounts, steps, currency)
    for i, item in enumerate(block.lines):
        step = steps[i]
        out.steps.append(step)
        if item.block is not None:
            _block(item.block, amounts[i], currency, context, out, depth=depth + 1)
        elif item.party is not None:
            _party(item, amounts[i], currency, context, out, step)


def _same_currency(item: Line, money: Money, currency: str) -> None:
    if money.currency != currency:
        raise RuleDoesNotApply(
            f"line {item.line} names an amount in {money.currency}; this amount is in {currency}",
            line=item.line, column=item.column,
        )


def _joined(note: str, more: str) -> str:
    return f"{note}; {more}" if note else more


def _caps(block: Block, amounts: dict[int, int], steps: dict[int, Step], currency: str) -> None:
    rem = next((i for i, item in enumerate(block.lines) if item.portion == "remaining"), None)
    if rem is None:
        return
    for i, item in enumerate(block.lines):
        if item.cap_max is not None:
            _same_currency(item, item.cap_max, currency)
            if amounts[i] > item.cap_max.minor:
                excess = amounts[i] - item.cap_max.minor
                amounts[i] -= excess
                amounts[rem] += excess
                steps[i].minor, steps[rem].minor = amounts[i], amounts[rem]
                steps[i].note = f"capped at max {item.cap_max.minor}; {excess} to remaining"
                steps[rem].note = _joined(steps[rem].note, f"+{excess} from line {item.line}'s max")
    for i, item in enumerate(block.lines):
        if item.cap_min is not None:
            _same_currency(item, item.cap_min, currency)
            if amounts[i] < item.cap_min.minor:
                take = min(item.cap_min.minor - amounts[i], amounts[rem])
                amounts[i] += take
                amounts[rem] -= take
                steps[i].minor, steps[rem].minor = amounts[i], amounts[rem]
                steps[i].note = f"raised towards min {item.cap_min.minor} by {take} from remaining"
                steps[rem].note = _joined(steps[rem].note, f"−{take} to line {item.line}'s min")


def _party(item: Line, minor: int, currency: str, context: Context, out: Allocation, step: Step) -> None:
    assert item.party is not None
    if not item.is_set:
        out.shares.append(Share(item.party, None, "@" + item.party, minor, item.line))
        return
    members = list(context.sets.get(item.party, ()))
    if not members:
        if context.require_members:
            raise RuleDoesNotApply(f"line {item.line}: the set @{item.party} has no members yet", line=item.line,
                                   column=item.column)
        out.shares.append(Share(item.party, None, "@" + item.party, minor, item.line))
        return
    weights = [1 if item.weight == "equally" else m.weight for m in members]
    if sum(weights) <= 0 or any(w < 0 for w in weights):
        raise RuleDoesNotApply(f"line {item.line}: every member of @{item.party} has {item.weight} 0",
                               line=item.line, column=item.column)
    total = sum(weights)
    parts = (Money(minor, currency).allocate(weights, start=context.seed % len(members)) if minor > 0
             else [Money(0, currency) for _ in members])
    for member, weight, part in zip(members, weights, parts, strict=True):
        out.shares.append(Share(item.party, member.key, member.label, part.minor, item.line))
        step.members.append({"key": member.key, "label": member.label, "weight": weight, "minor": part.minor,
                             "spare_unit": part.minor > minor * weight // total})
