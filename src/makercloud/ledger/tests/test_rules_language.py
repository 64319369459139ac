"""The split language: what parses, what is refused (with the line and column), and how amounts are shared."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from makercloud.core.money import Money
from makercloud.ledger.rules import Context, Member, allocate, content_hash, rule_parse, seed_of
from makercloud.ledger.rules.errors import RuleDoesNotApply, RuleProblem

WASHER = """# Smart washer — sales
split sale, service
  5% to @platform
  2% max 50.00 CNY to @platform
  10% to @co_creators by points
  30% to @suppliers by bom_cost
  remaining to @venture
"""


def shares(text: str, minor: int, **context: object) -> dict[str, int]:
    result: dict[str, int] = {}
    rule = rule_parse(text)
    for share in allocate(rule, Money(minor, "CNY"), context=Context(**context)).shares:  # type: ignore[arg-type]
        key = share.member or share.party
        result[key] = result.get(key, 0) + share.minor
    return result


def test_the_washer_rule_shares_a_sale_to_the_fen() -> None:
    got = shares(WASHER, 100_000)  # 1,000.00 CNY
    assert got == {"platform": 5_000 + 2_000, "co_creators": 10_000, "suppliers": 30_000, "venture": 53_000}


def test_a_max_cap_gives_the_excess_to_remaining() -> None:
    got = shares(WASHER, 1_000_000)  # 10,000 CNY: 2% would be 200 CNY, capped at 50
    assert got["platform"] == 50_000 + 5_000
    assert got["venture"] == 1_000_000 - 55_000 - 100_000 - 300_000


def test_a_min_cap_takes_from_remaining() -> None:
    got = shares("split sale\n 1% min 2.00 CNY to @platform\n remaining to @venture", 1_000)
    assert got == {"platform": 200, "venture": 800}


def test_fixed_amounts_come_first_and_never_go_negative() -> None:
    text = "split sale\n 3.00 CNY to @platform\n 50% to @investors equally\n remaining to @venture"
    assert shares(text, 1_000) == {"platform": 300, "investors": 350, "venture": 350}
    assert shares(text, 100) == {"platform": 100, "investors": 0, "venture": 0}


def test_nesting_splits_a_portion_further() -> None:
    text = """split sale
      40% to {
        25% to @platform
        remaining to @venture
      }
      remaining to @suppliers equally
    """
    sets = {"suppliers": [Member("organisation:1", "Motors", 1), Member("organisation:2", "Sensors", 1)]}
    assert shares(text, 10_000, sets=sets) == {
        "platform": 1_000, "venture": 3_000, "organisation:1": 3_000, "organisation:2": 3_000,
    }


def test_a_set_is_shared_by_its_weights() -> None:
    sets = {"suppliers": [Member("organisation:1", "Motors", 3_000), Member("organisation:2", "Sensors", 1_000)],
            "co_creators": [Member("person:7", "Zhao", 30), Member("person:8", "María", 10)]}
    got = shares(WASHER, 100_000, sets=sets)
    assert got["organisation:1"] == 22_500 and got["organisation:2"] == 7_500
    assert got["person:7"] == 7_500 and got["person:8"] == 2_500


def test_sections_by_revenue_kind() -> None:
    rule = rule_parse("split sale\n remaining to @venture\n"
                      "split subscription\n 30% to @platform\n remaining to @venture")
    assert allocate(rule, Money(100, "CNY"), kind="subscription").shares[0].minor == 30
    with pytest.raises(RuleDoesNotApply, match="no `split service`"):
        allocate(rule, Money(100, "CNY"), kind="service")
    assert rule.kinds == {"sale", "subscription"}
    assert rule_parse("split any\n remaining to @venture").kinds == {"sale", "subscription", "service"}


def test_the_content_hash_is_the_sha256_of_the_exact_text() -> None:
    assert rule_parse(WASHER).content_hash == content_hash(WASHER)
    assert content_hash(WASHER) != content_hash(WASHER + " ")
    assert len(content_hash(WASHER)) == 64


@pytest.mark.parametrize(("text", "line", "column", "message"), [
    ("split sale\n  5% to @platfrm\n  remaining to @venture", 2, 9, "unknown party @platfrm"),
    ("split sale\n  60% to @platform\n  50% to @venture", 3, 3, "110%, more than 100%"),
    ("split sale\n  50% to @platform\n  20% to @venture", 3, 3, "add up to 70%: add a `remaining"),
    ("split sale\n  remaining to @venture\n  remaining to @platform", 3, 3, "a second `remaining`"),
    ("split sale\n  5 to @platform\n  remaining to @venture", 2, 5, "expected `%` or a currency code"),
    ("split sale\n  5% to @suppliers by points\n  remaining to @venture", 2, 23, "`by bom_cost` or `equally`"),
    ("split sale\n  5% to @suppliers\n  remaining to @venture", 2, 9, "say how it is shared"),
    ("split sale\n  5% to @platform by points\n  remaining to @venture", 2, 22, "single party"),
    ("split sale\n  5% max 1.00 CNY to @platform\n  95% to @venture", 2, 3, "needs a `remaining`"),
    ("split sale\n  5.00001% to @platform\n  remaining to @venture", 2, 3, "more than four decimals"),
    ("split sale\n  0.001 CNY to @platform\n  remaining to @venture", 2, 3, "more decimals than CNY has (2)"),
    ("split sale\n  remaining to @venture\nsplit sale\n  remaining to @platform", 3, 1, "already split on line 1"),
    ("split sale\n  5% to @platform\n  remaining to {", 3, 16, "found the end of the rule"),
    ("split gifts\n  remaining to @venture", 1, 7, "expected a revenue kind"),
    ("# nothing but a comment\n", 1, 1, "the rule is empty"),
])
def test_problems_point_at_the_line_and_column(text: str, line: int, column: int, message: str) -> None:
    with pytest.raises(RuleProblem) as caught:
        rule_parse(text)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert message in caught.value.detail
    assert caught.value.detail.startswith(f"line {line}, column {column}: ")


def test_a_fixed_amount_in_another_currency_does_not_apply() -> None:
    with pytest.raises(RuleDoesNotApply) as caught:
        allocate(rule_parse("split sale\n 1.00 EUR to @platform\n remaining to @venture"), Money(500, "CNY"))
    assert caught.value.line == 2


def test_settling_needs_the_sets_members() -> None:
    with pytest.raises(RuleDoesNotApply, match="@co_creators has no members"):
        allocate(rule_parse(WASHER), Money(100, "CNY"), context=Context(require_members=True))


# Properties -----------------------------------------------------------------------------------------------------

percent = st.integers(min_value=0, max_value=400_000)  # up to 40% each, in ppm


@st.composite
def rules(draw: st.DrawFn) -> str:
    """A random valid rule: percentages (some capped), fixed amounts, a nested block, sets; always a `remaining`."""
    parties = ["@platform", "@venture", "@suppliers by bom_cost", "@co_creators by points", "@investors equally"]
    lines, budget = [], 1_000_000
    for _ in range(draw(st.integers(0, 4))):
        share = draw(st.integers(0, budget))
        budget -= share
        cap = draw(st.sampled_from(["", " max 3.00 CNY", " min 0.50 CNY"]))
        lines.append(f"  {share / 10_000:.4f}%{cap} to {draw(st.sampled_from(parties))}")
    if draw(st.booleans()):
        lines.append(f"  {draw(st.integers(0, 500)) / 100:.2f} CNY to {draw(st.sampled_from(parties))}")
    if draw(st.booleans()) and budget:
        inner = draw(st.integers(0, budget))
        lines.append(f"  {inner / 10_000:.4f}% to {{\n    33.3333% to @platform\n    remaining to @venture\n  }}")
    lines.append(f"  remaining to {draw(st.sampled_from(parties))}")
    draw(st.randoms()).shuffle(lines)
    return "split sale\n" + "\n".join(lines)


members = st.lists(st.integers(0, 10_000), min_size=1, max_size=6).filter(lambda ws: sum(ws) > 0)


@settings(max_examples=300, deadline=None)
@given(text=rules(), minor=st.integers(0, 10**12), seed=st.integers(0, 2**64 - 1), weights=members)
def test_allocation_sums_exactly_and_is_never_negative(text: str, minor: int, seed: int, weights: list[int]) -> None:
    sets = {name: [Member(f"organisation:{i}", f"M{i}", w) for i, w in enumerate(weights)]
            for name in ("suppliers", "co_creators", "investors")}
    context = Context(sets=sets, seed=seed, require_members=True)
    result = allocate(rule_parse(text), Money(minor, "CNY"), context=context)
    assert sum(share.minor for share in result.shares) == minor
    assert all(share.minor >= 0 for share in result.shares)


@settings(max_examples=100, deadline=None)
@given(minor=st.integers(1, 10**9), seed=st.integers(0, 2**64 - 1))
def test_each_share_is_within_one_unit_of_its_exact_value(minor: int, seed: int) -> None:
    text = "split sale\n 33.3333% to @platform\n 33.3333% to @investors equally\n remaining to @venture"
    for share in allocate(rule_parse(text), Money(minor, "CNY"), context=Context(seed=seed)).shares:
        exact = minor * (333_333 if share.party != "venture" else 333_334) / 1_000_000
        assert abs(share.minor - exact) < 1


def test_the_rotating_tie_break_spreads_spare_units() -> None:
    """Three equal thirds of 100 fen leave one spare fen: across events it goes to each party in turn."""
    text = "split sale\n remaining to @co_creators equally"
    sets = {"co_creators": [Member(f"person:{i}", f"P{i}", 1) for i in range(3)]}
    winners: dict[str, int] = {}
    for n in range(300):
        seed = seed_of(f"sale-{n}")
        for share in allocate(rule_parse(text), Money(100, "CNY"), context=Context(sets=sets, seed=seed)).shares:
            if share.minor == 34:
                winners[share.member or ""] = winners.get(share.member or "", 0) + 1
    assert sum(winners.values()) == 300
    assert set(winners) == {"person:0", "person:1", "person:2"}
    assert min(winners.values()) > 60  # each gets roughly a third of the spare units, none is always favoured
