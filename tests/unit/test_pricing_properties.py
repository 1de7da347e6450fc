"""Pricing properties over every shipped tariff: the lines add up, each line is its own arithmetic,
no energy is lost or made, and more kWh never costs less."""

import calendar
from datetime import date
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, strategies as st

from billing.money import round_half_up
from billing.pricing import Usage, quote
from billing.tariff_files import BUCKETS, RESIDENT_BUCKETS, shipped_tariffs

TIMED = {"tiered": RESIDENT_BUCKETS, "tou": BUCKETS, "two_part": BUCKETS}


@st.composite
def cases(draw, kinds=("tiered", "single", "tou", "two_part")):
    tariff = draw(st.sampled_from(sorted((t for t in shipped_tariffs().values() if t.kind in kinds), key=lambda t: t.id)))
    year, month = draw(st.sampled_from([2025, 2026])), draw(st.integers(1, 12))
    last_day = calendar.monthrange(year, month)[1]
    first = draw(st.integers(1, last_day))
    start, end = date(year, month, first), date(year, month, draw(st.integers(first, last_day)))
    move_in = draw(st.none() | st.dates(date(year, 1, 1), end))
    move_out = draw(st.none() | st.dates(max(start, move_in or start), date(year, 12, 31)))
    scale = 1000 if tariff.kind == "two_part" else 1
    buckets = {}
    timed = TIMED.get(tariff.kind, ())
    if timed and (tariff.kind != "tiered" or draw(st.booleans())):
        buckets = {bucket: draw(st.integers(0, 2_000_000 * scale)) for bucket in draw(st.sets(st.sampled_from(timed), min_size=1))}
    wh = sum(buckets.values()) if buckets else draw(st.integers(0, 3_000_000))
    two_part = {}
    if tariff.kind == "two_part":
        basis = draw(st.sampled_from(["capacity_kva", "max_demand_w"]))
        two_part = {basis: draw(st.integers(0, 10_000_000)),
                    "power_factor": Decimal(draw(st.integers(40, 100))) / 100}
    before = draw(st.integers(0, 8_000_000 if tariff.tier_period == "annual" else 600_000))
    return tariff, start, end, Usage(wh=wh, buckets=buckets, before_wh=before, move_in=move_in, move_out=move_out,
                                     **two_part)


def _more(usage: Usage, bucket: str | None, extra: int) -> Usage:
    buckets = dict(usage.buckets)
    if buckets:
        bucket = bucket if bucket in buckets else next(iter(buckets))
        buckets[bucket] += extra
    return Usage(**{**usage.__dict__, "wh": usage.wh + extra, "buckets": buckets})


@given(cases())
def test_the_total_is_the_sum_of_lines_and_each_line_is_its_own_arithmetic(case):
    tariff, start, end, usage = case
    result = quote(tariff, start, end, usage)
    shown = result.as_dict()
    assert shown["total_fen"] == sum(line["amount_fen"] for line in shown["lines"]) == result.total_fen
    for line in result.lines:
        if line.wh is not None:
            assert line.amount_fen == round_half_up(line.wh * line.price_millifen_per_kwh, 1_000_000)
        assert start <= line.start <= line.end <= end


@given(cases())
def test_every_wh_is_priced_once(case):
    tariff, start, end, usage = case
    result = quote(tariff, start, end, usage)
    energy = [line for line in result.lines if line.wh is not None and not line.kind.startswith("surcharge:")
              and not line.kind.endswith("_markup")]
    assert sum(line.wh for line in energy) == usage.wh
    for code in (surcharge.code for version in tariff.versions for surcharge in version.surcharges):
        assert sum(line.wh for line in result.lines if line.kind == f"surcharge:{code}") in (0, usage.wh)
    markups = sum(line.wh for line in result.lines if line.kind.endswith("_markup"))
    assert markups <= usage.wh


@given(cases(), st.integers(1, 500_000), st.sampled_from(BUCKETS))
def test_more_kwh_never_costs_less(case, extra, bucket):
    tariff, start, end, usage = case
    assert quote(tariff, start, end, _more(usage, bucket, extra)).total_fen >= quote(tariff, start, end, usage).total_fen


@given(cases(kinds=("tiered",)), st.integers(0, 2_000_000), st.integers(1, 2_000_000))
def test_peak_valley_markups_equal_the_published_per_tier_prices(case, peak, valley):
    """Pricing 峰谷 kWh at tier 1 plus each tier's markup is the published per-tier 峰谷 table, shared
    over the tiers in proportion to the peak and valley use, to within the rounding of the lines."""
    tariff, start, end, usage = case
    timed = Usage(**{**usage.__dict__, "wh": peak + valley, "buckets": {"peak": peak, "valley": valley}})
    untimed = Usage(**{**timed.__dict__, "buckets": {}})
    result = quote(tariff, start, end, timed)
    if len({line.start for line in result.lines}) > 1:
        return  # split at a price change: each part shares its own days
    exact = Fraction(0)
    for line in quote(tariff, start, end, untimed).lines:
        tier = tariff.version_on(line.start).tiers[int(line.kind.removeprefix("tier_")) - 1]
        exact += Fraction(line.wh * (peak * tier.tou["peak"] + valley * tier.tou["valley"]), (peak + valley) * 1_000_000)
    assert abs(result.total_fen - exact) <= Fraction(len(result.lines) + 2, 2)
