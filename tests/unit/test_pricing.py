"""Pricing against bills computed by hand (kWh x 元/kWh, each line rounded half-up to the fen once)."""

from datetime import date
from decimal import Decimal

import pytest

from billing.errors import InvalidInput
from billing.pricing import PeriodNotCovered, Usage, quote
from billing.tariff_files import load_tariff
from tests.unit.test_tariff_files import GOOD, write

NOV = (date(2026, 11, 1), date(2026, 11, 30))


def lines(result) -> list[tuple[str, int | None, int]]:
    return [(line.kind, line.wh, line.amount_fen) for line in result.lines]


# Zhejiang's published annual tiers: <= 2760 kWh 0.538, 2761-4800 0.588, >= 4801 0.838 元/kWh.
@pytest.mark.parametrize(
    ("ytd_kwh", "kwh", "expected", "total_fen"),
    [
        (0, 200, [("tier_1", 200_000, 10_760)], 10_760),  # 200 x 0.538 = 107.60
        (2500, 500, [("tier_1", 260_000, 13_988), ("tier_2", 240_000, 14_112)], 28_100),  # 139.88 + 141.12
        (2700, 2200, [("tier_1", 60_000, 3_228), ("tier_2", 2_040_000, 119_952), ("tier_3", 100_000, 8_380)],
         131_560),  # 32.28 + 1199.52 + 83.80
        (5000, 300, [("tier_3", 300_000, 25_140)], 25_140),  # 300 x 0.838 = 251.40
        (2760, 1, [("tier_2", 1_000, 59)], 59),  # the 2761st kWh: 0.588 -> 0.59
        (0, 0, [], 0),
    ],
)
def test_zhejiang_annual_tiers(ytd_kwh, kwh, expected, total_fen):
    result = quote("zj-residential", *NOV, Usage(wh=kwh * 1000, before_wh=ytd_kwh * 1000))
    assert lines(result) == expected and result.total_fen == total_fen


def test_a_line_rounds_half_up_once():
    # 2.5 kWh x 0.538 = 1.345 元 = 134.5 fen -> 135
    assert quote("zj-residential", *NOV, Usage(wh=2_500)).total_fen == 135


@pytest.mark.parametrize(
    ("ytd_kwh", "peak", "valley", "expected", "total_fen"),
    [
        # 300 x 0.568 + 200 x 0.288 + 240 x (0.618 - 0.568) = 170.40 + 57.60 + 12.00; the same as the
        # published per-tier prices: 156 x 0.568 + 104 x 0.288 + 144 x 0.618 + 96 x 0.338 = 240.00
        (2500, 300, 200, [("peak", 300_000, 17_040), ("valley", 200_000, 5_760), ("tier_2_markup", 240_000, 1_200)],
         24_000),
        # 150 x 0.568 + 50 x 0.288 + 100 x 0.05 + 100 x 0.30 = 85.20 + 14.40 + 5.00 + 30.00; by the tier
        # prices: 75 x 0.618 + 25 x 0.338 + 75 x 0.868 + 25 x 0.588 = 46.35 + 8.45 + 65.10 + 14.70 = 134.60
        (4700, 150, 50, [("peak", 150_000, 8_520), ("valley", 50_000, 1_440), ("tier_2_markup", 100_000, 500),
                         ("tier_3_markup", 100_000, 3_000)], 13_460),
        (0, 100, 80, [("peak", 100_000, 5_680), ("valley", 80_000, 2_304)], 7_984),
    ],
)
def test_zhejiang_peak_valley_per_tier(ytd_kwh, peak, valley, expected, total_fen):
    usage = Usage(wh=(peak + valley) * 1000, buckets={"peak": peak * 1000, "valley": valley * 1000},
                  before_wh=ytd_kwh * 1000)
    result = quote("zj-residential", *NOV, usage)
    assert lines(result) == expected and result.total_fen == total_fen


def test_anhui_monthly_tiers():
    # 180 x 0.5653 = 101.754 -> 101.75; 170 x 0.6153 = 104.601 -> 104.60; 50 x 0.8653 = 43.265 -> 43.27
    result = quote("ah-residential", *NOV, Usage(wh=400_000))
    assert lines(result) == [("tier_1", 180_000, 10_175), ("tier_2", 170_000, 10_460), ("tier_3", 50_000, 4_327)]
    assert result.total_fen == 24_962
    assert (result.tiers.period, result.tiers.tier, result.tiers.left_in_tier_wh) == ("monthly", 3, None)


def test_annual_thresholds_prorated_for_a_move_in():
    # In from 1 July: 184 of 365 days, tier 1 ends at 2760 x 184/365 = 1391.342 kWh, tier 2 at 2419.726.
    usage = Usage(wh=200_000, before_wh=1_300_000, move_in=date(2026, 7, 1))
    result = quote("zj-residential", date(2026, 12, 1), date(2026, 12, 31), usage)
    # 91.342 x 0.538 = 49.141996 -> 49.14; 108.658 x 0.588 = 63.890904 -> 63.89
    assert lines(result) == [("tier_1", 91_342, 4_914), ("tier_2", 108_658, 6_389)]
    assert result.tiers.thresholds_wh == (1_391_342, 2_419_726)
    assert (result.tiers.used_wh, result.tiers.tier, result.tiers.left_in_tier_wh) == (1_500_000, 2, 919_726)


def test_monthly_thresholds_prorated_and_the_period_clipped_for_a_move_in():
    # In on 21 November: 10 of 30 days, tier 1 ends at 60 kWh, tier 2 at 116.667 kWh.
    result = quote("ah-residential", *NOV, Usage(wh=100_000, move_in=date(2026, 11, 21)))
    assert (result.start, result.end) == (date(2026, 11, 21), date(2026, 11, 30))
    # 60 x 0.5653 = 33.918 -> 33.92; 40 x 0.6153 = 24.612 -> 24.61
    assert lines(result) == [("tier_1", 60_000, 3_392), ("tier_2", 40_000, 2_461)]


def test_thresholds_prorated_for_a_move_out():
    # Out on 10 November: 10 of 30 days served.
    result = quote("ah-residential", *NOV, Usage(wh=70_000, move_out=date(2026, 11, 10)))
    assert result.end == date(2026, 11, 10)
    assert lines(result) == [("tier_1", 60_000, 3_392), ("tier_2", 10_000, 615)]  # 6.153 -> 6.15


def test_a_price_change_mid_period_splits_it_and_carries_the_tier_position(tmp_path):
    tariff = load_tariff(write(tmp_path, GOOD))  # 0.538/0.588/0.838 until 15 Nov, 0.600/0.650/0.900 after
    result = quote(tariff, *NOV, Usage(wh=600_000, before_wh=2_500_000))
    # 15 + 15 days: 300 kWh each.  Before: 260 x 0.538 + 40 x 0.588 = 139.88 + 23.52; after, from
    # 2800 kWh on: 300 x 0.650 = 195.00
    assert [(line.kind, line.start, line.end, line.wh, line.amount_fen) for line in result.lines] == [
        ("tier_1", date(2026, 11, 1), date(2026, 11, 15), 260_000, 13_988),
        ("tier_2", date(2026, 11, 1), date(2026, 11, 15), 40_000, 2_352),
        ("tier_2", date(2026, 11, 16), date(2026, 11, 30), 300_000, 19_500),
    ]
    assert result.total_fen == 35_840


def test_single_price_with_surcharges_split_at_the_shipped_price_change():
    result = quote("zj-commercial", date(2026, 7, 1), date(2026, 7, 31), Usage(wh=3_100_000))
    # 14 + 17 of 31 days: 1400 + 1700 kWh at 0.6444 then 0.6644; funds 0.00393, 0.019, 0.0062 per kWh
    assert lines(result) == [
        ("energy", 1_400_000, 90_216), ("surcharge:water_fund", 1_400_000, 550),  # 5.502 -> 5.50
        ("surcharge:renewable", 1_400_000, 2_660), ("surcharge:reservoir_resettlement", 1_400_000, 868),
        ("energy", 1_700_000, 112_948), ("surcharge:water_fund", 1_700_000, 668),  # 6.681 -> 6.68
        ("surcharge:renewable", 1_700_000, 3_230), ("surcharge:reservoir_resettlement", 1_700_000, 1_054),
    ]
    assert result.total_fen == 212_194 and result.tiers is None


def test_non_residential_time_of_use():
    usage = Usage(wh=1_000_000, buckets={"sharp": 50_000, "peak": 200_000, "flat": 300_000, "valley": 450_000})
    result = quote("zj-commercial-tou", *NOV, usage)
    # 50 x 1.1016 + 200 x 0.9180 + 300 x 0.6474 + 450 x 0.3524 = 55.08 + 183.60 + 194.22 + 158.58; funds 3.93 + 19 + 6.20
    assert lines(result) == [
        ("sharp", 50_000, 5_508), ("peak", 200_000, 18_360), ("flat", 300_000, 19_422), ("valley", 450_000, 15_858),
        ("surcharge:water_fund", 1_000_000, 393), ("surcharge:renewable", 1_000_000, 1_900),
        ("surcharge:reservoir_resettlement", 1_000_000, 620),
    ]
    assert result.total_fen == 62_061


INDUSTRY_USE = {"sharp": 10_000_000, "peak": 30_000_000, "flat": 40_000_000, "valley": 20_000_000}


def test_large_industry_by_capacity_with_a_low_power_factor():
    usage = Usage(wh=100_000_000, buckets=INDUSTRY_USE, capacity_kva=1000, power_factor=Decimal("0.85"))
    result = quote("zj-large-industry", *NOV, usage)
    # energy 10532.00 + 26121.00 + 23528.00 + 6126.00 = 66307.00; basic 1000 kVA x 30 = 30000.00;
    # 力调 at 0.85 against 0.90: +2.5 % of 96307.00 = 2407.675 -> 2407.68; funds 393 + 1900 + 620
    assert lines(result) == [
        ("sharp", 10_000_000, 1_053_200), ("peak", 30_000_000, 2_612_100), ("flat", 40_000_000, 2_352_800),
        ("valley", 20_000_000, 612_600), ("basic_capacity", None, 3_000_000), ("power_factor", None, 240_768),
        ("surcharge:water_fund", 100_000_000, 39_300), ("surcharge:renewable", 100_000_000, 190_000),
        ("surcharge:reservoir_resettlement", 100_000_000, 62_000),
    ]
    basic, power_factor = result.lines[4], result.lines[5]
    assert (basic.capacity_kva, basic.price_millifen_per_month, basic.days, basic.of_days) == (1000, 3_000_000, 30, 30)
    assert (power_factor.base_fen, power_factor.power_factor, power_factor.standard,
            power_factor.percent_hundredths) == (9_630_700, 85, 90, 250)
    assert result.total_fen == 10_162_768


def test_large_industry_by_demand_for_part_of_a_month_with_a_good_power_factor():
    usage = Usage(wh=1_000_000, buckets={"peak": 400_000, "flat": 400_000, "valley": 200_000},
                  max_demand_w=812_500, power_factor=Decimal("0.954"), move_in=date(2026, 11, 21))
    result = quote("zj-large-industry", *NOV, usage)
    # energy 348.28 + 235.28 + 61.26 = 644.82; basic 812.5 kW x 40 x 10/30 (in from the 21st) = 10833.333
    # -> 10833.33; 0.954 -> 0.95: -0.75 % of 11478.15 = -86.086 -> -86.09; funds 3.93 + 19.00 + 6.20
    assert lines(result) == [
        ("peak", 400_000, 34_828), ("flat", 400_000, 23_528), ("valley", 200_000, 6_126),
        ("basic_demand", None, 1_083_333), ("power_factor", None, -8_609),
        ("surcharge:water_fund", 1_000_000, 393), ("surcharge:renewable", 1_000_000, 1_900),
        ("surcharge:reservoir_resettlement", 1_000_000, 620),
    ]
    assert (result.lines[3].days, result.lines[3].of_days, result.lines[4].power_factor) == (10, 30, 95)
    assert result.total_fen == 1_142_119


@pytest.mark.parametrize(("power_factor", "hundredths", "percent"), [("0.895", 90, 0), ("0.8949", 89, 50), ("1", 100, -75)])
def test_the_power_factor_is_taken_to_two_decimals_half_up(power_factor, hundredths, percent):
    usage = Usage(wh=0, capacity_kva=100, power_factor=Decimal(power_factor))
    line = quote("zj-large-industry", *NOV, usage).lines[-1]
    assert (line.kind, line.power_factor, line.percent_hundredths) == ("power_factor", hundredths, percent)
    assert line.amount_fen == 300_000 * percent // 10_000  # 3000.00 basic x the percentage, exact here


def test_tier_progress_at_a_threshold():
    progress = quote("zj-residential", *NOV, Usage(wh=260_000, before_wh=2_500_000)).tiers
    assert (progress.used_wh, progress.tier, progress.left_in_tier_wh) == (2_760_000, 1, 0)


@pytest.mark.parametrize(
    ("tariff", "period", "usage", "field", "words"),
    [
        ("zj-residential", (date(2012, 6, 1), date(2012, 6, 30)), Usage(wh=1), "period", "no version in force on 2012-06-01"),
        ("zj-residential", (date(2026, 12, 15), date(2027, 1, 14)), Usage(wh=1), "period", "new tier year"),
        ("ah-residential", (date(2026, 11, 15), date(2026, 12, 14)), Usage(wh=1), "period", "new tier month"),
        ("zj-residential", (date(2026, 11, 30), date(2026, 11, 1)), Usage(wh=1), "period", "before it starts"),
        ("zj-residential", NOV, Usage(wh=-1), "wh", ">= 0"),
        ("zj-residential", NOV, Usage(wh=10, before_wh=-5), "before_wh", ">= 0"),
        ("zj-residential", NOV, Usage(wh=10, buckets={"peak": 3, "valley": 3}), "buckets", "add up to 6 Wh"),
        ("zj-residential", NOV, Usage(wh=10, buckets={"peak": 5, "flat": 5}), "buckets.flat", "no flat price"),
        ("zj-residential", NOV, Usage(wh=10, buckets={"dusk": 10}), "buckets.dusk", "not a TOU bucket"),
        ("zj-commercial", NOV, Usage(wh=10, buckets={"peak": 10}), "buckets.peak", "one price for every hour"),
        ("zj-commercial-tou", NOV, Usage(wh=10), "buckets", "time of use"),
        ("zj-commercial", NOV, Usage(wh=10, capacity_kva=100), "capacity_kva", "no basic charge"),
        ("zj-large-industry", NOV, Usage(wh=0, power_factor=Decimal("0.9")), "capacity_kva", "give one"),
        ("zj-large-industry", NOV, Usage(wh=0, capacity_kva=1, max_demand_w=1, power_factor=Decimal("0.9")),
         "capacity_kva", "give one"),
        ("zj-large-industry", NOV, Usage(wh=0, capacity_kva=100), "power_factor", "give the period's power factor"),
        ("zj-large-industry", NOV, Usage(wh=0, capacity_kva=100, power_factor=Decimal("1.2")), "power_factor",
         "between 0 and 1"),
        ("zj-large-industry", (date(2026, 11, 15), date(2026, 12, 14)),
         Usage(wh=0, capacity_kva=100, power_factor=Decimal("0.9")), "period", "one calendar month"),
        ("zj-residential", NOV, Usage(wh=1, move_in=date(2026, 11, 20), move_out=date(2026, 11, 10)), "move_out",
         "before move_in"),
        ("zj-residential", NOV, Usage(wh=1, move_in=date(2026, 12, 20)), "period", "no day between move-in"),
    ],
)
def test_bad_input_names_the_field(tariff, period, usage, field, words):
    with pytest.raises((InvalidInput, PeriodNotCovered)) as error:
        quote(tariff, *period, usage)
    assert error.value.field == field and words in error.value.message
