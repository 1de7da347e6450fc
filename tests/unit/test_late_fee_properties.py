"""违约金 properties: later or larger never costs less, the 1 元 minimum, and the parts equal a day-by-day count."""

from datetime import date, timedelta

from hypothesis import given, settings, strategies as st

from billing.accounts import CATEGORIES, RESIDENTIAL
from billing.late_fees import late_fee, late_fees
from billing.money import round_half_up

categories = st.sampled_from(CATEGORIES)
arrears = st.integers(min_value=0, max_value=10**12)  # up to 100 亿元
due_dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))
late_days = st.integers(min_value=0, max_value=3000)
untimed = settings(deadline=None)  # a busy shared machine must not fail a test on time (no timed asserts)


@untimed
@given(categories, arrears, due_dates, late_days, late_days)
def test_a_later_payment_never_costs_less(category, arrears_fen, due, days, more):
    sooner = late_fee(category, arrears_fen, due, due + timedelta(days=days))
    later = late_fee(category, arrears_fen, due, due + timedelta(days=days + more))
    assert later.late_fee_fen >= sooner.late_fee_fen


@untimed
@given(categories, arrears, arrears, due_dates, late_days)
def test_larger_arrears_never_cost_less(category, arrears_fen, more, due, days):
    paid = due + timedelta(days=days)
    assert late_fee(category, arrears_fen + more, due, paid).late_fee_fen >= late_fee(category, arrears_fen, due, paid).late_fee_fen


@untimed
@given(categories, arrears, due_dates, late_days)
def test_never_under_1_yuan_when_late_and_owing_and_nothing_otherwise(category, arrears_fen, due, days):
    fee = late_fee(category, arrears_fen, due, due + timedelta(days=days))
    if days > 0 and arrears_fen > 0:
        assert fee.late_fee_fen >= 100
    else:
        assert fee.late_fee_fen == 0 and not fee.minimum_applied


@untimed
@given(categories, arrears, due_dates, st.integers(min_value=0, max_value=800))
def test_the_parts_equal_a_day_by_day_count(category, arrears_fen, due, days):
    """按日累加计收: the rate of each overdue day summed one day at a time, rounded once at the end."""
    paid = due + timedelta(days=days)
    fee = late_fee(category, arrears_fen, due, paid)
    overdue = [due + timedelta(days=n) for n in range(1, days + 1)]
    rates = [1 if category == RESIDENTIAL else 3 if day.year > due.year else 2 for day in overdue]
    assert fee.days == len(overdue) == sum(part.days for part in fee.parts)
    assert fee.exact_millifen == arrears_fen * sum(rates) == sum(part.exact_millifen for part in fee.parts)
    assert fee.late_fee_fen == (max(round_half_up(fee.exact_millifen, 1000), 100) if fee.exact_millifen else 0)
    assert [day for part in fee.parts for day in _days(part.first_day, part.last_day)] == overdue


@untimed
@given(categories, st.lists(st.tuples(arrears, late_days), max_size=6), due_dates)
def test_several_arrears_sum_their_own_fees(category, owed, paid):
    parts = [(amount_fen, paid - timedelta(days=days)) for amount_fen, days in owed]
    fees = late_fees(category, parts, paid)
    assert fees.late_fee_fen == sum(late_fee(category, amount, due, paid).late_fee_fen for amount, due in parts)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
