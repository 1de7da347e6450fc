"""Usage from the reads (by day, month and year, with the 峰谷 split), the 户号 summary and the
payment history, on both databases; every expected figure is worked out by hand in the comments.

The account: a 峰谷 meter read every day from 2025-09-01 to 2026-11-26 (the day before the fixed
clock's 2026-11-27), 10 kWh a day, 6 of them peak and 4 valley, on the Zhejiang annual tiers."""

from datetime import date

import pytest
from sqlalchemy import update

from billing import account_summary, payment_history, usage
from billing.account_summary import DUE, IN_CREDIT, OVERDUE, OWING, standing_state
from billing.bill_explained import Standing
from billing.db import read_session, unit_of_work
from billing.ledger import Posting
from billing.meters import MeterInstallation, install
from billing.accounts import Meter
from billing.bindings import BindingNotFound
from billing.residents import Binding
from tests import factories
from tests.bill_helpers import pay, post, refund
from tests.read_helpers import OPENED, TODAY, old_account, reads

FIRST = date(2025, 9, 1)
DAYS = (TODAY - FIRST).days  # 452 reads: 2025-09-01 .. 2026-11-26
DAILY, PEAK, VALLEY = 10_000, 6_000, 4_000


def _steady(engine, clock, *, regime="prepaid"):
    with unit_of_work(engine) as db:
        account = old_account(db, account_no="3301000001", regime=regime)
        reads(db, account.meter_id, FIRST, [n * DAILY for n in range(DAYS)], clock,
              registers=[{"peak": n * PEAK, "valley": n * VALLEY} for n in range(DAYS)])
        resident = factories.resident(db, "13800000001", at=OPENED, accounts=(account,))
        stranger = factories.resident(db, "13800000002", at=OPENED)
        return account, resident.id, stranger.id


def test_daily_use_with_its_split(engine, clock):
    account, _, _ = _steady(engine, clock)
    with read_session(engine) as db:
        series = usage.daily_usage(db, account.id, on=TODAY, days=30)
    # 2026-10-28 .. 11-25: 11-26's use is read at 11-27's freeze, not in yet
    assert series.granularity == usage.DAY and len(series.periods) == 29
    assert series.periods[0].label == "2026-10-28" and series.periods[-1].label == "2026-11-25"
    assert {(p.wh, p.peak_wh, p.valley_wh, p.sharp_wh, p.flat_wh, p.days) for p in series.periods} == {
        (DAILY, PEAK, VALLEY, None, None, 1)}
    assert series.total_wh == 29 * DAILY and series.tou


def test_a_gap_in_the_reads_is_one_stretch_on_its_first_day(engine, clock):
    with unit_of_work(engine) as db:
        account = old_account(db)
        totals = [0, 10_000, 20_000, 50_000, 60_000]  # no reads on 11-22 and 11-23
        for day, wh in zip((18, 19, 20, 23, 24), totals, strict=True):
            reads(db, account.meter_id, date(2026, 11, day), [wh], clock)
    with read_session(engine) as db:
        series = usage.daily_usage(db, account.id, on=TODAY, days=30)
    assert [(p.label, p.days, p.wh, p.peak_wh) for p in series.periods] == [
        ("2026-11-18", 1, 10_000, None), ("2026-11-19", 1, 10_000, None), ("2026-11-20", 3, 30_000, None),
        ("2026-11-23", 1, 10_000, None)]
    assert not series.tou


def test_monthly_use_beside_the_same_month_last_year(engine, clock):
    account, _, _ = _steady(engine, clock)
    with read_session(engine) as db:
        series = usage.monthly_usage(db, account.id, on=TODAY)
    shown = [(p.label, p.wh, p.last_year_wh) for p in series.periods]
    assert len(shown) == 14 and shown[0] == ("2025-10", 31 * DAILY, None)
    assert shown[-3:] == [("2026-09", 30 * DAILY, 30 * DAILY), ("2026-10", 31 * DAILY, 31 * DAILY),
                          ("2026-11", 25 * DAILY, 30 * DAILY)]  # 11-01..11-25 so far
    assert series.periods[-1].peak_wh == 25 * PEAK and series.periods[-1].end == date(2026, 11, 25)


def test_yearly_use_adds_up_to_the_reads(engine, clock):
    account, _, _ = _steady(engine, clock)
    with read_session(engine) as db:
        series = usage.yearly_usage(db, account.id, on=TODAY)
    # 2025: Sep 1 .. Dec 31 = 122 days; 2026: Jan 1 .. Nov 25 = 304 + 25 = 329 days
    assert [(p.label, p.wh, p.valley_wh) for p in series.periods] == [
        ("2025", 122 * DAILY, 122 * VALLEY), ("2026", 329 * DAILY, 329 * VALLEY)]
    assert series.total_wh == (DAYS - 1) * DAILY  # the last read minus the first


def test_the_periods_add_up_to_the_reads_across_a_meter_change(engine, clock):
    """The old meter until 2026-06-01, then a new one at multiplier 2 from zero: each counted once."""
    with unit_of_work(engine) as db:
        account = old_account(db)
        old_totals = [n * n * 7 + n * 3001 for n in range(100)]  # uneven daily use, 2026-02-22 .. 2026-06-01
        reads(db, account.meter_id, date(2026, 2, 22), old_totals, clock)
        db.execute(update(MeterInstallation).where(MeterInstallation.account_id == account.id)
                   .values(removed_on=date(2026, 6, 1)))
        meter = Meter(meter_no="N0000000001", installed_on=date(2026, 6, 1), multiplier=2)
        db.add(meter)
        db.flush()
        install(db, account_id=account.id, meter_id=meter.id, multiplier=2, on=date(2026, 6, 1), now=clock())
        new_totals = [n * 2500 + n % 3 for n in range(150)]  # 2026-06-01 .. 2026-10-28
        reads(db, meter.id, date(2026, 6, 1), new_totals, clock)
    expected = (old_totals[-1] - old_totals[0]) + 2 * (new_totals[-1] - new_totals[0])
    with read_session(engine) as db:
        for series in (usage.daily_usage(db, account.id, on=TODAY, days=300),
                       usage.monthly_usage(db, account.id, on=TODAY), usage.yearly_usage(db, account.id, on=TODAY)):
            assert series.total_wh == expected
        june = next(p for p in usage.monthly_usage(db, account.id, on=TODAY).periods if p.label == "2026-06")
    assert june.wh == 2 * (new_totals[30] - new_totals[0])  # 06-01 .. 06-30 on the new meter only


def test_the_summary_of_a_prepaid_account_by_hand(engine, clock):
    account, resident, _ = _steady(engine, clock)
    pay(engine, clock, account, 10_000)
    with read_session(engine) as db:
        found = account_summary.account_summary(db, resident, "3301000001", on=TODAY)
    assert (found.balance_fen, found.state, found.due_date, found.read_through) == (
        10_000, IN_CREDIT, None, date(2026, 11, 25))
    # this year, 2026-01-01 .. 11-25: 329 days x 10 kWh = 3,290 kWh, in tier 2 (2,760 .. 4,800 kWh)
    assert (found.tiers.used_wh, found.tiers.tier, found.tiers.left_in_tier_wh) == (3_290_000, 2, 1_510_000)
    # the last 30 days' reads: 29 days (10-28 .. 11-25) of 10 kWh
    assert found.daily_use_wh == DAILY
    # one such day now: peak 6 kWh x 0.568 = 3.408 -> 3.41, valley 4 x 0.288 = 1.152 -> 1.15,
    # tier 2 markup 10 x 0.05 = 0.50: 5.06 元; 100 元 last 19 days
    assert (found.daily_cost_fen, found.days_left) == (506, 19)
    # November: 25 days read (250 kWh) + 5 days (11-26 .. 11-30) at 10 kWh = 300 kWh, all in tier 2:
    # peak 180 x 0.568 = 102.24, valley 120 x 0.288 = 34.56, markup 300 x 0.05 = 15.00: 151.80 元
    assert found.forecast == account_summary.MonthForecast("2026-11", 250_000, date(2026, 11, 25), 300_000, 15_180)
    assert (found.last_payment.amount_fen, found.last_payment.channel) == (10_000, "counter")


def test_a_kept_summary_is_reused_until_a_payment_or_a_read_changes_what_it_is_made_of(engine, clock):
    account, resident, _ = _steady(engine, clock)
    kept = account_summary.KeptSummaries()

    def summary():
        with read_session(engine) as db:
            (found,) = account_summary.summaries(db, resident, on=TODAY, kept=kept)
            assert found == account_summary.account_summary(db, resident, "3301000001", on=TODAY)  # as if new
        return found

    first = summary()
    assert summary() is not first and summary() == first and len(kept.found) == 1  # reused, not recomputed
    pay(engine, clock, account, 10_000)
    assert summary().balance_fen == first.balance_fen + 10_000
    with unit_of_work(engine) as db:  # 11-26's read arrives
        reads(db, account.meter_id, TODAY, [DAYS * DAILY], clock, registers=[{"peak": DAYS * PEAK, "valley": DAYS * VALLEY}])
    assert summary().read_through == date(2026, 11, 26)
    with unit_of_work(engine) as db:  # a new label is the binding's, not a kept figure: shown at once
        db.execute(update(Binding).where(Binding.resident_id == resident).values(label="父母家"))
    assert summary().account.label == "父母家" and len(kept.found) == 3


def test_a_postpaid_account_has_no_days_left(engine, clock):
    account, resident, _ = _steady(engine, clock, regime="postpaid")
    with read_session(engine) as db:
        (found,) = account_summary.summaries(db, resident, on=TODAY)
    assert (found.account.account_no, found.days_left, found.daily_cost_fen, found.last_payment) == (
        "3301000001", None, 506, None)


def test_the_summary_is_only_for_ones_own_accounts(engine, clock):
    _, _, stranger = _steady(engine, clock)
    with read_session(engine) as db:
        assert account_summary.summaries(db, stranger, on=TODAY) == []
        with pytest.raises(BindingNotFound):
            account_summary.account_summary(db, stranger, "3301000001", on=TODAY)


def test_an_account_without_reads_has_no_forecast(engine, clock):
    with unit_of_work(engine) as db:
        account = old_account(db, regime="prepaid")
        resident = factories.resident(db, "13800000003", at=OPENED, accounts=(account,)).id
    with read_session(engine) as db:
        (found,) = account_summary.summaries(db, resident, on=TODAY)
    assert (found.forecast, found.daily_use_wh, found.days_left, found.tiers.used_wh) == (None, None, None, 0)


@pytest.mark.parametrize("standing, state", [
    (Standing(0, 0, None), IN_CREDIT), (Standing(-100, 0, date(2026, 12, 1)), DUE),
    (Standing(-100, 3, date(2026, 11, 20)), OVERDUE), (Standing(-100, 0, None), OWING),
])
def test_the_standing_in_one_word(standing, state):
    assert standing_state(standing) == state


def test_payment_history_with_refunds_and_the_balance_after_each(engine, clock):
    account, _, _ = _steady(engine, clock)
    pay(engine, clock, account, 10_000)
    post(engine, clock, Posting("settle:test:1", "customer:3301000001", "revenue:energy", 3_000, "energy"))
    clock.advance(days=1)
    refund(engine, clock, account, 2_000)
    pay(engine, clock, account, 500)
    with read_session(engine) as db:
        found = payment_history.payment_history(db, account.id)
        first = payment_history.payment_entry(db, account.id, found[-1].transfer_id)
        bill_transfer = payment_history.payment_entry(db, account.id, found[-1].transfer_id + 1)
    assert [(e.kind, e.amount_fen, e.channel, e.balance_after_fen) for e in found] == [
        ("payment", 500, "counter", 5_500), ("refund", 2_000, "counter", 5_000), ("payment", 10_000, "counter", 10_000)]
    assert first == found[-1] and bill_transfer is None  # the energy debit is not a payment


def test_payment_history_is_per_account(engine, clock):
    account, _, _ = _steady(engine, clock)
    with unit_of_work(engine) as db:
        other = old_account(db, account_no="3301000009")
    pay(engine, clock, account, 10_000)
    with read_session(engine) as db:
        mine = payment_history.payment_history(db, account.id)
        assert payment_history.payment_history(db, other.id) == []
        assert payment_history.payment_entry(db, other.id, mine[0].transfer_id) is None


def test_pages_of_history(engine, clock):
    account, _, _ = _steady(engine, clock)
    for n in range(5):
        pay(engine, clock, account, 100 + n)
    with read_session(engine) as db:
        pages = [[e.amount_fen for e in payment_history.payment_history(db, account.id, page=p, per_page=2)]
                 for p in (1, 2, 3, 4)]
    assert pages == [[104, 103], [102, 101], [100], []]
