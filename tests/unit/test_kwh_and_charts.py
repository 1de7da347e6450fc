"""Register values typed and shown in kWh, rates in percent, and the layout of the SVG bar charts."""

import pytest

from billing.errors import InvalidInput
from billing.kwh import format_kwh, parse_kwh
from portal.charts import Point, bar_chart, nice_step
from portal.filters import percent


@pytest.mark.parametrize(("text", "wh"), [("0", 0), ("12345.6", 12_345_600), (" 12345.67 ", 12_345_670),
                                          ("9999999999.99", 9_999_999_999_990)])
def test_kwh_parses_exactly(text, wh):
    assert parse_kwh(text, "value") == wh


@pytest.mark.parametrize("text", ["", "-1", "1.234", "1,000", "１００", "1e3", "NaN", "12345678901", None, 12])
def test_bad_kwh_names_the_field(text):
    with pytest.raises(InvalidInput) as caught:
        parse_kwh(text, "value")
    assert caught.value.field == "value"


@pytest.mark.parametrize(("wh", "text"), [(0, "0.00"), (12_345_675, "12345.68"), (12_345_674, "12345.67"),
                                          (-5_005, "-5.01"), (-4_994, "-4.99")])
def test_kwh_shows_half_up_to_two_decimals(wh, text):
    assert format_kwh(wh) == text


@pytest.mark.parametrize(("part", "whole", "text"), [(1, 20, "5.00%"), (1, 3, "33.33%"), (2, 3, "66.67%"),
                                                     (-8, 100, "-8.00%"), (0, 7, "0.00%"), (5, 0, "—")])
def test_percent(part, whole, text):
    assert percent(part, whole) == text


def test_bars_hang_below_zero_and_span_their_days():
    chart = bar_chart([Point(0, 1, 10_000, "a"), Point(1, 30, -5_000, "b", "negative")], extent=31,
                      tick=lambda value, step: str(value), marks=[(31, "end")])
    first, second = chart.bars
    assert first.y + first.height == pytest.approx(chart.zero, abs=0.1)  # up from zero
    assert second.y == pytest.approx(chart.zero, abs=0.1) and second.css == "negative"  # down from zero
    assert second.width > 25 * first.width  # a month-long interval is a wide bar
    assert [label for _, label in chart.ticks] == ["-5000", "0", "5000", "10000"]
    assert chart.marks[0][2] == "end"  # a label at the right edge reads leftwards
    assert nice_step(0) == 1 and nice_step(18_000) == 5_000
