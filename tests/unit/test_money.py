"""Money helpers: fen <-> yuan at the edges, half-up rounding in one place."""

import pytest
from hypothesis import given, strategies as st

from billing.errors import InvalidAmount
from billing.money import (
    MAX_FEN, format_yuan, format_yuan_millifen, parse_yuan, parse_yuan_millifen, require_fen, round_half_up,
)


@pytest.mark.parametrize(
    ("fen", "text"),
    [(0, "0.00"), (1, "0.01"), (10, "0.10"), (100, "1.00"), (12345, "123.45"), (-1, "-0.01"), (-12345, "-123.45"),
     (10**12, "10000000000.00")],
)
def test_format_yuan(fen, text):
    assert format_yuan(fen) == text


@pytest.mark.parametrize(
    ("text", "fen"),
    [("0", 0), ("0.0", 0), ("1", 100), ("1.5", 150), ("1.05", 105), ("123.45", 12345), (" 7.10 ", 710), ("-0.01", -1),
     ("10000", 1000000)],
)
def test_parse_yuan(text, fen):
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(
    "bad",
    ["", "abc", "1.234", "1,00", "01.00", "1e3", "+1", "1.", ".5", "--1", "１.００", "NaN", "inf", "1.0.0", " ", "12 3"],
)
def test_parse_yuan_rejects_malformed_strings(bad):
    with pytest.raises(InvalidAmount) as error:
        parse_yuan(bad, field="amount")
    assert error.value.field == "amount"


@pytest.mark.parametrize("bad", [0.1, 1.0, None, b"1.00", True])
def test_parse_yuan_rejects_non_strings(bad):
    with pytest.raises(InvalidAmount):
        parse_yuan(bad)


@pytest.mark.parametrize("bad", [0.1, 1.0, "100", None, True, False])
def test_fen_must_be_int(bad):
    with pytest.raises(InvalidAmount):
        require_fen(bad)
    with pytest.raises(InvalidAmount):
        format_yuan(bad)


@pytest.mark.parametrize(
    ("numerator", "denominator", "rounded"),
    [(0, 1000, 0), (499, 1000, 0), (500, 1000, 1), (501, 1000, 1), (1499, 1000, 1), (1500, 1000, 2),
     (-499, 1000, 0), (-500, 1000, -1), (-1500, 1000, -2), (7, 2, 4), (5, 2, 3), (10, 3, 3), (20, 3, 7)],
)
def test_round_half_up(numerator, denominator, rounded):
    assert round_half_up(numerator, denominator) == rounded


@pytest.mark.parametrize("denominator", [0, -3, 1.5, True])
def test_round_half_up_needs_positive_integer_denominator(denominator):
    with pytest.raises(InvalidAmount):
        round_half_up(10, denominator)


@given(st.integers(min_value=-10**15, max_value=10**15))
def test_format_then_parse_is_identity(fen):
    assert parse_yuan(format_yuan(fen)) == fen


@given(st.integers(min_value=-10**9, max_value=10**9), st.integers(min_value=1, max_value=10**6))
def test_round_half_up_is_nearest(numerator, denominator):
    rounded = round_half_up(numerator, denominator)
    assert abs(rounded * denominator - numerator) * 2 <= denominator


@pytest.mark.parametrize(
    ("text", "millifen"),
    [("0.00600", 600), ("0.006", 600), ("0.00001", 1), ("0.6", 60000), ("1", 100000), ("-0.15300", -15300),
     ("0.00", 0), ("9999999999999.99999", 999999999999999999)],
)
def test_parse_yuan_millifen_is_exact_to_five_decimals(text, millifen):
    assert parse_yuan_millifen(text) == millifen
    assert parse_yuan_millifen(format_yuan_millifen(millifen)) == millifen


@pytest.mark.parametrize("bad", ["0.000001", "", "abc", "１.００", "1e-5", "10000000000000.0", 0.006, None])
def test_parse_yuan_millifen_refuses_what_is_not_exact(bad):
    with pytest.raises(InvalidAmount) as error:
        parse_yuan_millifen(bad, field="fee")
    assert error.value.field == "fee"


@pytest.mark.parametrize(("millifen", "text"), [(600, "0.00600"), (1, "0.00001"), (-24000, "-0.24000"),
                                                (100000, "1.00000")])
def test_format_yuan_millifen(millifen, text):
    assert format_yuan_millifen(millifen) == text


@given(st.integers(-(10**18) + 1, 10**18 - 1))
def test_millifen_round_trips(millifen):
    assert parse_yuan_millifen(format_yuan_millifen(millifen)) == millifen


def test_the_largest_yuan_amounts_fit_bigint():
    assert parse_yuan("9999999999999999.99") <= MAX_FEN
    assert parse_yuan_millifen("9999999999999.99999") <= MAX_FEN
