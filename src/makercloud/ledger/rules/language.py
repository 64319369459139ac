"""The split language: text → a validated `Rule` (parsing and the checks that point at a line and column).

    # Smart washer
    split sale, service
      5% to @platform
      2% max 50.00 CNY to @platform
      10% to @co_creators by points
      30% to @suppliers by bom_cost
      40% to {
        50% to @investors by stake
        remaining to @venture
      }
      remaining to @venture

The meaning of each line (and how rounding is decided) is in `allocation.py` and docs/rules.md.
"""

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from babel.numbers import get_currency_precision
from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from makercloud.core.money import Money
from makercloud.ledger.rules.errors import RuleProblem

PPM = 1_000_000  # percentages are held in parts per million: 12.5% is 125000; four decimals of a percent at most
KINDS = ("sale", "subscription", "service")
MAX_TEXT = 20_000

# The parties a rule may name. A set is shared among its members by a weight that the rule names with `by`.
SINGLE_PARTIES = ("platform", "venture")
SETS = {"co_creators": "points", "suppliers": "bom_cost", "investors": "stake"}
PARTIES = (*SINGLE_PARTIES, *SETS)


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a block: a portion (percent, fixed amount or `remaining`) going to a party or a nested block."""

    line: int
    column: int
    source: str
    portion: str  # "percent" | "fixed" | "remaining"
    ppm: int = 0
    fixed: Money | None = None
    cap_max: Money | None = None
    cap_min: Money | None = None
    party: str | None = None  # "platform", "suppliers", …; None for a nested block
    weight: str | None = None  # "points", "bom_cost", "stake", "equally"; None for a single party
    block: "Block | None" = None

    @property
    def is_set(self) -> bool:
        return self.party in SETS


@dataclass(frozen=True, slots=True)
class Block:
    line: int
    column: int
    lines: tuple[Line, ...]

    @property
    def remaining(self) -> Line | None:
        return next((item for item in self.lines if item.portion == "remaining"), None)


@dataclass(frozen=True, slots=True)
class Section:
    line: int
    kinds: tuple[str, ...]  # "sale", "subscription", "service" or "any"
    block: Block


@dataclass(frozen=True, slots=True)
class Rule:
    text: str
    sections: tuple[Section, ...]
    content_hash: str = field(default="")

    def section_for(self, kind: str) -> Section | None:
        exact = next((s for s in self.sections if kind in s.kinds), None)
        return exact or next((s for s in self.sections if "any" in s.kinds), None)

    @property
    def kinds(self) -> set[str]:
        covered = {kind for section in self.sections for kind in section.kinds}
        return set(KINDS) if "any" in covered else covered

    def parties(self) -> set[str]:
        found: set[str] = set()

        def walk(block: Block) -> None:
            for item in block.lines:
                if item.block is not None:
                    walk(item.block)
                elif item.party:
                    found.add(item.party)

        for section in self.sections:
            walk(section.block)
        return found


def content_hash(text: str) -> str:
    """The published hash of a rule: sha256 of its exact text, UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@cache
def _parser() -> Lark:
    grammar = (Path(__file__).with_name("grammar.lark")).read_text()
    return Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=False)


# What the parser expected, in words a person writing a rule understands.
EXPECTED = {
    "NUMBER": "a number", "PERCENT": "`%`", "CURRENCY": "a currency code such as CNY", "TO": "`to`",
    "PARTY": "a party such as @venture", "LBRACE": "`{`", "RBRACE": "`}`", "REMAINING": "`remaining`",
    "SPLIT": "`split`", "KIND": "a revenue kind (sale, subscription, service or any)", "CAP": "`max` or `min`",
    "BY": "`by`", "EQUALLY": "`equally`", "WEIGHT": "a weight name", "COMMA": "`,`", "$END": "the end of the rule",
}


def _expected(names: set[str] | frozenset[str]) -> str:
    words = sorted({EXPECTED.get(name, name.lower()) for name in names})
    return ", ".join(words[:-1]) + (" or " if len(words) > 1 else "") + words[-1] if words else "something else"


class _Problem(Exception):
    def __init__(self, msg: str, line: int, column: int) -> None:
        super().__init__(msg)
        self.msg, self.line, self.column = msg, line, column


def _percent_ppm(token: Token) -> int:
    value = Decimal(str(token))
    ppm = value * 10_000
    if ppm != ppm.to_integral_value():
        raise _Problem(f"{token}% has more than four decimals", token.line or 0, token.column or 0)
    return int(ppm)


def _money(number: Token, currency: Token) -> Money:
    code = str(currency)
    try:
        places = get_currency_precision(code)
    except Exception:  # babel raises several kinds for codes it does not know
        places = 2
    value = Decimal(str(number))
    minor = value.scaleb(places)
    if minor != minor.to_integral_value():
        raise _Problem(f"{number} {code} has more decimals than {code} has ({places})", number.line or 0,
                       number.column or 0)
    return Money(int(minor), code)


@v_args(meta=True, inline=True)
class _Build(Transformer[Token, Any]):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.lines = text.splitlines()

    def _source(self, meta: Any) -> str:
        first = self.lines[meta.line - 1] if 0 < meta.line <= len(self.lines) else ""
        return first.strip()

    def kind(self, meta: Any, token: Token) -> str:
        return str(token)

    def percent(self, meta: Any, number: Token) -> int:
        return _percent_ppm(number)

    def money(self, meta: Any, number: Token, currency: Token) -> Money:
        return _money(number, currency)

    def cap(self, meta: Any, which: Token, money: Money) -> tuple[str, Money, int, int]:
        return str(which), money, which.line or 0, which.column or 0

    def percent_portion(self, meta: Any, ppm: int, *caps: tuple[str, Money, int, int]) -> dict[str, Any]:
        found: dict[str, Any] = {"portion": "percent", "ppm": ppm}
        for which, money, line, column in caps:
            key = "cap_max" if which == "max" else "cap_min"
            if key in found:
                raise _Problem(f"two `{which}` caps on one line", line, column)
            found[key] = money
        if "cap_max" in found and "cap_min" in found and found["cap_min"].currency == found["cap_max"].currency and (
            found["cap_min"].minor > found["cap_max"].minor
        ):
            raise _Problem("the `min` is larger than the `max`", meta.line, meta.column)
        return found

    def fixed_portion(self, meta: Any, money: Money) -> dict[str, Any]:
        return {"portion": "fixed", "fixed": money}

    def remaining_portion(self, meta: Any) -> dict[str, Any]:
        return {"portion": "remaining"}

    def party(self, meta: Any, token: Token) -> tuple[str, int, int]:
        name = str(token)[1:]
        if name not in PARTIES:
            raise _Problem(
                f"unknown party @{name}; a rule can name {', '.join('@' + p for p in PARTIES)}",
                token.line or 0, token.column or 0,
            )
        return name, token.line or 0, token.column or 0

    def weighted(self, meta: Any, token: Token) -> tuple[str, int, int]:
        return str(token), token.line or 0, token.column or 0

    def equally(self, meta: Any) -> tuple[str, int, int]:
        return "equally", meta.line, meta.column

    def party_target(self, meta: Any, party: tuple[str, int, int],
                     weight: tuple[str, int, int] | None = None) -> dict[str, Any]:
        name, line, column = party
        if name in SETS:
            expected = SETS[name]
            if weight is None:
                raise _Problem(f"@{name} is a set: say how it is shared, `by {expected}` or `equally`", line, column)
            if weight[0] not in (expected, "equally"):
                raise _Problem(f"@{name} is shared `by {expected}` or `equally`, not by {weight[0]}", weight[1],
                               weight[2])
            return {"party": name, "weight": weight[0]}
        if weight is not None:
            raise _Problem(f"@{name} is a single party; only a set (@co_creators, @suppliers, @investors) is "
                           f"shared by a weight", weight[1], weight[2])
        return {"party": name}

    def block_target(self, meta: Any, *lines: Line) -> dict[str, Any]:
        return {"block": _block(meta.line, meta.column, lines)}

    def line(self, meta: Any, portion: dict[str, Any], target: dict[str, Any]) -> Line:
        return Line(line=meta.line, column=meta.column, source=self._source(meta), **portion, **target)

    def section(self, meta: Any, *items: Any) -> Section:
        kinds = tuple(item for item in items if isinstance(item, str))
        lines = tuple(item for item in items if isinstance(item, Line))
        if len(set(kinds)) != len(kinds):
            raise _Problem("a revenue kind is named twice", meta.line, meta.column)
        return Section(line=meta.line, kinds=kinds, block=_block(meta.line, meta.column, lines))

    def start(self, meta: Any, *sections: Section) -> tuple[Section, ...]:
        seen: dict[str, int] = {}
        for section in sections:
            for kind in section.kinds:
                if kind in seen:
                    raise _Problem(f"`{kind}` is already split on line {seen[kind]}", section.line, 1)
                seen[kind] = section.line
        return sections


def _block(line: int, column: int, lines: tuple[Line, ...]) -> Block:
    """A block's lines must add up: at most one `remaining`; without it the percentages make exactly 100%;
    never more than 100%; caps need a `remaining` to give to or take from."""
    remaining = [item for item in lines if item.portion == "remaining"]
    if len(remaining) > 1:
        raise _Problem(f"a second `remaining` (the first is on line {remaining[0].line}); a block has at most one",
                       remaining[1].line, remaining[1].column)
    total = sum(item.ppm for item in lines)
    percent = Decimal(total) / 10_000
    if total > PPM:
        over = next(item for item in lines if sum(i.ppm for i in lines[: lines.index(item) + 1]) > PPM)
        raise _Problem(f"the percentages add up to {percent.normalize():f}%, more than 100%", over.line, over.column)
    if not remaining and total != PPM:
        last = lines[-1]
        raise _Problem(
            f"the percentages add up to {percent.normalize():f}%: add a `remaining to …` line, or make them 100%"
            + (" (fixed amounts are taken first and the percentages share the rest)"
               if any(item.portion == "fixed" for item in lines) else ""),
            last.line, last.column,
        )
    if not remaining:
        capped = next((item for item in lines if item.cap_max or item.cap_min), None)
        if capped is not None:
            raise _Problem("a `max` or `min` needs a `remaining` line in the same block to give to or take from",
                           capped.line, capped.column)
    return Block(line=line, column=column, lines=lines)


def rule_parse(text: str) -> Rule:
    """Parse and validate a rule; a problem raises `RuleProblem` with the line and column it is at."""
    if len(text) > MAX_TEXT:
        raise RuleProblem(f"a rule is at most {MAX_TEXT} characters", line=1, column=1)
    if "\x00" in text:
        raise RuleProblem("the text contains a NUL character", line=1, column=1)
    if not text.strip() or all(not ln.strip() or ln.strip().startswith("#") for ln in text.splitlines()):
        raise RuleProblem("the rule is empty: start with `split sale` and a line such as `remaining to @venture`",
                          line=1, column=1)
    try:
        tree: Tree[Token] = _parser().parse(text)
    except UnexpectedInput as error:
        raise RuleProblem(_syntax_message(error, text), line=error.line, column=error.column) from None
    try:
        sections = _Build(text).transform(tree)
    except VisitError as error:
        if isinstance(error.orig_exc, _Problem):
            problem = error.orig_exc
            raise RuleProblem(problem.msg, line=problem.line, column=problem.column) from None
        raise
    return Rule(text=text, sections=tuple(sections), content_hash=content_hash(text))


def _syntax_message(error: UnexpectedInput, text: str) -> str:
    if isinstance(error, UnexpectedEOF):
        return f"the rule ends too early; expected {_expected(set(error.expected))}"
    if isinstance(error, UnexpectedToken):
        found = "the end of the rule" if error.token.type == "$END" else f"`{error.token}`"
        return f"expected {_expected(error.accepts or error.expected)}; found {found}"
    if isinstance(error, UnexpectedCharacters):
        pos = error.pos_in_stream or 0
        char = text[pos] if pos < len(text) else ""
        word = text[pos:].split(None, 1)[0] if char.strip() else repr(char)
        allowed = _expected(error.allowed) if error.allowed else "something else"
        return f"`{word}` is not understood here; expected {allowed}"
    return str(error)
