"""A year of daily charges (智能交费), as the settlement prices them day by day with the year's tiers
and the year's rounding carried: it comes to the fen of one annual quote of the year's use, and
more kWh never costs less."""

from datetime import date, timedelta

from hypothesis import given, settings, strategies as st

from billing.daily_settlement import carry_rounding, price_day
from billing.pricing import Usage, quote
from billing.tariff_files import shipped_tariffs

YEAR = [date(2026, 1, 1) + timedelta(days=n) for n in range(365)]  # 2025 has as many days
# Whole-year tariffs priced by the total: annual tiers, monthly tiers, one price.
TARIFFS = ("zj-residential", "ah-residential", "zj-commercial")


def year_of_days(tariff_id: str, daily_wh: list[int], year: int = 2026) -> tuple[int, dict[str, int]]:
    """The year's charges in fen, and the Wh per line kind, settled day by day.  A price change
    within the year starts new lines; a line at a price both versions share carries on."""
    tariff = shipped_tariffs()[tariff_id]
    year_wh = month_wh = total_fen = 0
    carry: dict[str, int] = {}
    by_kind: dict[str, int] = {}
    for day, wh in zip((day.replace(year=year) for day in YEAR), daily_wh):
        month_wh = 0 if day.day == 1 else month_wh
        charged = carry_rounding(price_day(tariff, day, wh, year_wh=year_wh, month_wh=month_wh), wh, carry)
        carry, year_wh, month_wh = charged.year_lines, year_wh + wh, month_wh + wh
        total_fen += charged.amount_fen
        for line in charged.lines:
            by_kind[line["kind"]] = by_kind.get(line["kind"], 0) + line["wh"]
    return total_fen, by_kind


# A household's day: nothing (away) to 60 kWh, drawn for stretches of the year so the tiers are crossed.
years = st.lists(st.integers(0, 60_000), min_size=12, max_size=12).map(
    lambda months: [months[day.month - 1] + day.day * 37 for day in YEAR])


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(("zj-residential", "zj-commercial")), years)
def test_a_year_of_days_comes_to_the_annual_quote_of_its_use(tariff_id, daily_wh):
    year = 2025 if tariff_id == "zj-commercial" else 2026  # a year under one version (2026 changes its price)
    total, by_kind = year_of_days(tariff_id, daily_wh, year)
    annual = quote(tariff_id, date(year, 1, 1), date(year, 12, 31), Usage(sum(daily_wh)))
    assert total == annual.total_fen
    assert by_kind == {line.kind: line.wh for line in annual.lines}


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(TARIFFS), years, st.integers(0, 364), st.integers(1, 50_000))
def test_more_kwh_never_costs_less_over_a_year(tariff_id, daily_wh, day, extra_wh):
    more = list(daily_wh)
    more[day] += extra_wh
    assert year_of_days(tariff_id, more)[0] >= year_of_days(tariff_id, daily_wh)[0]


def test_a_daily_charge_can_round_to_nothing_and_the_year_still_adds_up():
    # 1 Wh a day at 0.538 元/kWh is 0.0538 fen: most days charge 0, every ~19th day 1 fen.
    total, _ = year_of_days("zj-residential", [1] * 365)
    assert total == quote("zj-residential", YEAR[0], YEAR[-1], Usage(365)).total_fen == 20
