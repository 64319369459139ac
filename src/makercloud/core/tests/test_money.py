import pytest
from hypothesis import given
from hypothesis import strategies as st

from makercloud.core.money import CurrencyMismatch, InvalidMoney, Money

amounts = st.integers(min_value=-(10**15), max_value=10**15)
weights = st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=12).filter(lambda w: sum(w) > 0)


@given(amount=amounts, weights=weights, start=st.integers(min_value=0, max_value=20))
def test_allocate_never_loses_or_invents_a_minor_unit(amount: int, weights: list[int], start: int) -> None:
    parts = Money(amount, "CNY").allocate(weights, start=start)
    assert sum(p.minor for p in parts) == amount
    assert all(p.currency == "CNY" for p in parts)


@given(amount=st.integers(min_value=0, max_value=10**12), weights=weights)
def test_allocate_is_within_one_unit_of_the_exact_share_and_never_negative(amount: int, weights: list[int]) -> None:
    parts = Money(amount, "CNY").allocate(weights)
    total = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        assert part.minor >= 0
        assert abs(part.minor * total - amount * weight) < total
        if weight == 0:
            assert part.minor == 0


def test_ties_rotate_with_start_so_rounding_does_not_always_favour_the_first_party() -> None:
    hundred = Money(100, "CNY")
    assert [p.minor for p in hundred.allocate([1, 1, 1])] == [34, 33, 33]
    assert [p.minor for p in hundred.allocate([1, 1, 1], start=1)] == [33, 34, 33]
    assert [p.minor for p in hundred.allocate([1, 1, 1], start=2)] == [33, 33, 34]


def test_negative_amounts_allocate_symmetrically() -> None:
    assert [p.minor for p in Money(-100, "CNY").allocate([1, 1, 1])] == [-34, -33, -33]


def test_arithmetic_refuses_mixed_currencies_and_non_integer_amounts() -> None:
    assert Money(150, "CNY") + Money(50, "CNY") == Money(200, "CNY")
    with pytest.raises(CurrencyMismatch):
        Money(1, "CNY") + Money(1, "EUR")
    with pytest.raises(InvalidMoney):
        Money(1.5, "CNY")  # type: ignore[arg-type]
    with pytest.raises(InvalidMoney):
        Money(1, "yuan")
    with pytest.raises(InvalidMoney):
        Money(100, "CNY").allocate([0, 0])


def test_formats_with_the_currency_precision_and_locale() -> None:
    assert Money(199900, "CNY").format("en") == "CN¥1,999.00"
    assert Money(199900, "CNY").format("zh-hans") == "¥1,999.00"
    assert Money(500, "JPY").format("en") == "¥500"
    assert Money(1999, "EUR").as_json() == {"amount": 1999, "currency": "EUR"}
