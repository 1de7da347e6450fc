"""违约金 against figures computed by hand: arrears (fen) x rate (‰) x days = millifen, rounded once."""

from datetime import date, datetime

import pytest

from billing.errors import InvalidAmount, InvalidInput
from billing.late_fees import bill_late_fee, late_fee, late_fees

D = date.fromisoformat

# (category, arrears_fen, due, paid, days, parts as (first, last, days, rate ‰), exact millifen, fee fen)
TABLE = {
    # 1000.00 元 x 1‰ x 10 days = 10.00 元
    "residential 1 per mille": ("residential", 100000, "2026-03-10", "2026-03-20", 10,
                                [("2026-03-11", "2026-03-20", 10, 1)], 1000000, 1000),
    # 1005.00 元 x 1‰ x 1 day = 1.005 元: half a fen rounds up
    "half a fen rounds up": ("residential", 100500, "2026-03-10", "2026-03-11", 1,
                             [("2026-03-11", "2026-03-11", 1, 1)], 100500, 101),
    "just under half a fen rounds down": ("residential", 100499, "2026-03-10", "2026-03-11", 1,
                                          [("2026-03-11", "2026-03-11", 1, 1)], 100499, 100),
    # 2345.67 元 x 1‰ x 3 days = 7.03701 元
    "rounded once on the total": ("residential", 234567, "2026-05-31", "2026-06-03", 3,
                                  [("2026-06-01", "2026-06-03", 3, 1)], 703701, 704),
    # 50.00 元 x 1‰ x 3 days = 0.15 元, charged as 1 元
    "under 1 yuan is 1 yuan": ("residential", 5000, "2026-03-10", "2026-03-13", 3,
                               [("2026-03-11", "2026-03-13", 3, 1)], 15000, 100),
    # 0.01 元 x 1‰ x 1 day = 0.00001 元: rounds to nothing, still charged 1 元
    "a thousandth of a fen is 1 yuan": ("residential", 1, "2026-03-10", "2026-03-11", 1,
                                        [("2026-03-11", "2026-03-11", 1, 1)], 1, 100),
    # 10000.00 元: 11 days at 2‰ in 2025 (220 元) + 5 days at 3‰ in 2026 (150 元)
    "non-residential across new year": ("non_residential", 1000000, "2025-12-20", "2026-01-05", 16,
                                        [("2025-12-21", "2025-12-31", 11, 2), ("2026-01-01", "2026-01-05", 5, 3)],
                                        37000000, 37000),
    # due on 31 December: every overdue day is in a later year, 3‰ from the first: 5000.00 元 x 3‰ x 10
    "due on 31 December": ("large_industry", 500000, "2025-12-31", "2026-01-10", 10,
                           [("2026-01-01", "2026-01-10", 10, 3)], 15000000, 15000),
    # due on 30 December, paid 1 January: 1 day at 2‰ + 1 day at 3‰ of 1000.00 元
    "due on 30 December": ("non_residential", 100000, "2025-12-30", "2026-01-01", 2,
                           [("2025-12-31", "2025-12-31", 1, 2), ("2026-01-01", "2026-01-01", 1, 3)], 500000, 500),
    # residential days split at the year end too, both at 1‰: 100.00 元, 365 + 1 days
    "residential across new year": ("residential", 10000, "2024-01-01", "2025-01-01", 366,
                                    [("2024-01-02", "2024-12-31", 365, 1), ("2025-01-01", "2025-01-01", 1, 1)],
                                    3660000, 3660),
    # 2024 is a leap year: 29 February is an overdue day
    "leap day counted": ("non_residential", 300000, "2024-02-28", "2024-03-01", 2,
                         [("2024-02-29", "2024-03-01", 2, 2)], 1200000, 1200),
    "whole leap year cross-year": ("non_residential", 10000, "2023-12-31", "2024-12-31", 366,
                                   [("2024-01-01", "2024-12-31", 366, 3)], 10980000, 10980),
    "not a leap year": ("non_residential", 300000, "2025-02-28", "2025-03-01", 1,
                        [("2025-03-01", "2025-03-01", 1, 2)], 600000, 600),
    # two years and more: every day after 31 December 2024 is cross-year, 184 x 2‰ + 367 x 3‰ of 100.00 元
    "more than a year late": ("non_residential", 10000, "2024-06-30", "2026-01-02", 551,
                              [("2024-07-01", "2024-12-31", 184, 2), ("2025-01-01", "2026-01-02", 367, 3)],
                              14690000, 14690),
    # 12,345,678.90 元: 184 days at 2‰ + 46 days at 3‰ = 506‰ -> 6,246,913.5234 元
    "big arrears": ("large_industry", 1234567890, "2025-06-30", "2026-02-15", 230,
                    [("2025-07-01", "2025-12-31", 184, 2), ("2026-01-01", "2026-02-15", 46, 3)],
                    624691352340, 624691352),
    "zero days": ("non_residential", 1000000, "2026-03-10", "2026-03-10", 0, [], 0, 0),
    "the last day Python has": ("non_residential", 100000, "9999-12-30", "9999-12-31", 1,
                                [("9999-12-31", "9999-12-31", 1, 2)], 200000, 200),
    "due on the last day Python has": ("non_residential", 100000, "9999-12-31", "9999-12-31", 0, [], 0, 0),
    "zero arrears": ("non_residential", 0, "2025-12-20", "2026-01-05", 16,
                     [("2025-12-21", "2025-12-31", 11, 2), ("2026-01-01", "2026-01-05", 5, 3)], 0, 0),
}


@pytest.mark.parametrize(("category", "arrears_fen", "due", "paid", "days", "parts", "exact", "fen"),
                         TABLE.values(), ids=TABLE.keys())
def test_late_fee_by_hand(category, arrears_fen, due, paid, days, parts, exact, fen):
    fee = late_fee(category, arrears_fen, D(due), D(paid))
    assert [(str(p.first_day), str(p.last_day), p.days, p.rate_permille) for p in fee.parts] == parts
    assert [p.exact_millifen for p in fee.parts] == [arrears_fen * p[3] * p[2] for p in parts]
    assert (fee.days, fee.exact_millifen, fee.late_fee_fen) == (days, exact, fen)
    assert fee.minimum_applied == (0 < exact < 99500)


def test_cross_year_marks_the_days_after_31_december_of_the_due_dates_year():
    fee = late_fee("residential", 10000, D("2025-12-20"), D("2026-01-05"))
    assert [(part.cross_year, part.rate_permille) for part in fee.parts] == [(False, 1), (True, 1)]
    assert fee.rates_permille == (1,)
    assert late_fee("large_industry", 10000, D("2025-12-20"), D("2026-01-05")).rates_permille == (2, 3)


def test_several_arrears_each_rounded_and_held_to_the_minimum_on_their_own():
    fees = late_fees("residential", [(5000, D("2026-03-10")), (100000, D("2026-03-03")), (700, D("2026-03-13"))],
                     D("2026-03-13"))
    # 50.00 元 x 3 days = 0.15 元 -> 1 元; 1000.00 元 x 10 days = 10 元; due today: nothing
    assert [(fee.days, fee.late_fee_fen) for fee in fees.fees] == [(3, 100), (10, 1000), (0, 0)]
    assert fees.late_fee_fen == 1100
    assert late_fees("non_residential", [], D("2026-03-13")).late_fee_fen == 0


@pytest.mark.parametrize(
    ("args", "field", "error"),
    [
        (("commercial", 100, D("2026-01-01"), D("2026-01-02")), "category", InvalidInput),
        (("residential", -1, D("2026-01-01"), D("2026-01-02")), "arrears_fen", InvalidAmount),
        (("residential", 1.5, D("2026-01-01"), D("2026-01-02")), "arrears_fen", InvalidAmount),
        (("residential", "100", D("2026-01-01"), D("2026-01-02")), "arrears_fen", InvalidAmount),
        (("residential", 100, "2026-01-01", D("2026-01-02")), "due", InvalidInput),
        (("residential", 100, D("2026-01-01"), datetime(2026, 1, 2)), "paid", InvalidInput),
        (("residential", 100, D("2026-01-02"), D("2026-01-01")), "paid", InvalidInput),
        # 9,999,999,999,999,999.99 元 (the most parse_yuan reads) ten years late: the fee would not fit a BIGINT
        (("large_industry", 10**18 - 1, D("2000-01-01"), D("2010-01-01")), "arrears_fen", InvalidAmount),
    ],
)
def test_bad_input_names_the_field(args, field, error):
    with pytest.raises(error) as raised:
        late_fee(*args)
    assert raised.value.field == field


def test_several_arrears_name_the_bad_row():
    with pytest.raises(InvalidAmount) as raised:
        late_fees("residential", [(100, D("2026-01-01")), (-5, D("2026-01-01"))], D("2026-02-01"))
    assert raised.value.field == "arrears[1].arrears_fen"
    with pytest.raises(InvalidInput) as raised:
        late_fees("commercial", [], D("2026-02-01"))
    assert raised.value.field == "category"


def test_a_bill_paid_in_slices_rounds_once_and_holds_the_minimum_on_the_bill():
    due = date(2026, 3, 10)
    slices = [(5_000, date(2026, 3, 11)), (5_000, date(2026, 3, 12)), (1_000, date(2026, 3, 10))]
    # 5 fen + 10 fen exact, the slice paid on the due date nothing: 0.15 元, charged as 1 元 once
    assert bill_late_fee("residential", due, slices, date(2026, 3, 31)) == 100
    # two slices of 1.005 元 exact: 2.01 元 rounded once, not 1.01 + 1.01
    assert bill_late_fee("residential", due, [(100_500, date(2026, 3, 11))] * 2, date(2026, 3, 12)) == 201
    big = [(1_000_000, date(2026, 3, 20)), (1_000_000, date(2026, 4, 9))]  # 10 and 30 days at 1‰
    assert bill_late_fee("residential", due, big, date(2026, 12, 31)) == 40_000


def test_a_bill_accrues_only_up_to_the_day_asked():
    due, later = date(2025, 12, 20), date(2026, 1, 5)
    assert bill_late_fee("large_industry", due, [(1_000_000, later)], date(2025, 12, 25)) == \
        late_fee("large_industry", 1_000_000, due, date(2025, 12, 25)).late_fee_fen
    assert bill_late_fee("large_industry", due, [(1_000_000, later)], later) == 37_000
    assert bill_late_fee("residential", due, [(1_000_000, later)], due) == 0
    with pytest.raises(InvalidInput):
        bill_late_fee("farm", due, [], later)
