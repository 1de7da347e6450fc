"""智能交费 daily settlement on both databases: a day's use charged at the tariff with the year's
tiers, posted and allocated, balance events once per crossing, missing reads left for a later run,
idempotent reruns, refused days, and the month's statement."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from billing import allocation, ledger
from billing.accounts import PREPAID, Account
from billing.daily_settlement import (
    BALANCE_LOW, BALANCE_NEGATIVE, prepaid_statement, settle_day, settle_days,
)
from billing.daily_settlement_records import DailySettlement
from billing.db import read_session, unit_of_work
from billing.errors import InvalidInput
from billing.events import Event
from billing.ledger import Transfer
from billing.meter_changes import Reading, change_meter
from billing.reads import ESTIMATED, NewRead, record_read
from tests.bill_helpers import active, pay
from tests.read_helpers import old_account
from tests.review_helpers import staff
from tests.threads import Threads

D1, D2, D3 = date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 22)
DAY = timedelta(days=1)


def _prepaid(engine, clock, freezes: dict[date, int], *, credit_fen: int = 0, source: str = "ami", **fields) -> Account:
    """A prepaid resident opened 2025-09-01 with 00:00 freezes (Wh) on the given days."""
    with unit_of_work(engine) as db:
        account = old_account(db, regime=PREPAID, **fields)
        for day, wh in freezes.items():
            record_read(db, NewRead(account.meter_id, day, source, wh), now=clock())
    if credit_fen:
        pay(engine, clock, account, credit_fen, key=f"pay:test:{account.account_no}")
    return account


def _balance(engine, account) -> int:
    with read_session(engine) as db:
        return ledger.balance_fen(db, ledger.customer_code(account.account_no))


def _settled(engine, account) -> list[tuple[date, int, int]]:
    with read_session(engine) as db:
        return [tuple(row) for row in db.execute(
            select(DailySettlement.day, DailySettlement.energy_wh, DailySettlement.amount_fen)
            .where(DailySettlement.account_id == account.id).order_by(DailySettlement.day))]


def _events(engine, account) -> list[tuple[str, dict]]:
    with read_session(engine) as db:
        return [(event.kind, event.data) for event in db.execute(
            select(Event).where(Event.account_id == account.id).order_by(Event.id)).scalars()]


def test_a_day_is_charged_its_use_at_the_tariff_and_posted_for_that_day(engine, clock):
    account = _prepaid(engine, clock, {D1: 1_000_000, D2: 1_005_000}, credit_fen=10_000)
    result = settle_day(engine, D1, now=clock())
    assert (result.accounts, result.charged, result.amount_fen) == (1, 1, 269)  # 5 kWh x 0.538 元
    assert _settled(engine, account) == [(D1, 5_000, 269)]
    assert _balance(engine, account) == 10_000 - 269
    with read_session(engine) as db:
        transfer = db.execute(select(Transfer).where(Transfer.key == f"daily:{account.account_no}:{D1}")).scalar_one()
    assert (transfer.amount_fen, transfer.business_date, transfer.code) == (269, D1, "daily")


def test_a_postpaid_account_is_not_settled_daily(engine, clock):
    with unit_of_work(engine) as db:
        account = old_account(db)
        for day, wh in {D1: 0, D2: 5_000}.items():
            record_read(db, NewRead(account.meter_id, day, "ami", wh), now=clock())
    assert settle_day(engine, D1, now=clock()).accounts == 0


def test_tiers_run_across_the_year_from_the_days_already_charged(engine, clock):
    # 2758 kWh on the first day, then 5 kWh: 2 kWh still in tier 1, 3 kWh in tier 2 (0.588).
    account = _prepaid(engine, clock, {D1: 0, D2: 2_758_000, D3: 2_763_000})
    settle_days(engine, D1, D2, now=clock())
    with read_session(engine) as db:
        statement = prepaid_statement(db, account.id, 2026, 11)
    second = _settled(engine, account)[1]
    assert second == (D2, 5_000, 108 + 176)  # 2 x 0.538 = 1.076 -> 1.08; 3 x 0.588 = 1.764 -> 1.76
    lines = {line.kind: (line.wh, line.amount_fen) for line in statement.lines}
    assert lines == {"tier_1": (2_760_000, 148_380 + 108), "tier_2": (3_000, 176)}
    assert statement.amount_fen == sum(fen for _, _, fen in _settled(engine, account))


def test_a_rerun_charges_nothing_twice(engine, clock):
    account = _prepaid(engine, clock, {D1: 0, D2: 4_000, D3: 9_000}, credit_fen=5_000)
    settle_days(engine, D1, D2, now=clock())
    again = settle_days(engine, D1, D2, now=clock())
    assert [(day.accounts, day.charged) for day in again] == [(0, 0), (0, 0)]
    assert [fen for _, _, fen in _settled(engine, account)] == [215, 269]
    assert _balance(engine, account) == 5_000 - 215 - 269


def test_a_missing_read_leaves_the_day_for_a_later_run(engine, clock):
    account = _prepaid(engine, clock, {D1: 0})
    estimated = _prepaid(engine, clock, {D1: 0, D2: 3_000}, source=ESTIMATED)
    result = settle_day(engine, D1, now=clock())
    assert result.charged == 0
    assert result.not_charged == {"read_missing": 1, "read_estimated": 1}
    assert result.not_charged_accounts == {"read_missing": [account.account_no],
                                           "read_estimated": [estimated.account_no]}
    with unit_of_work(engine) as db:
        record_read(db, NewRead(account.meter_id, D2, "ami", 2_000), now=clock())
    later = settle_day(engine, D1, now=clock())
    assert (later.accounts, later.charged) == (2, 1)
    assert _settled(engine, account) == [(D1, 2_000, 108)]
    assert _settled(engine, estimated) == []


def test_two_runs_at_once_charge_each_account_once(engine, clock):
    accounts = [_prepaid(engine, clock, {D1: 0, D2: 5_000}, credit_fen=1_000) for _ in range(6)]
    results, threads = [], Threads()
    for _ in range(2):
        threads.start(lambda: results.append(settle_day(engine, D1, now=clock(), chunk=2)))
    threads.join()
    assert [_settled(engine, account) for account in accounts] == [[(D1, 5_000, 269)]] * 6
    assert sum(result.charged for result in results) == 6
    assert [_balance(engine, account) for account in accounts] == [1_000 - 269] * 6


def test_a_day_without_use_has_a_row_and_no_transfer(engine, clock):
    account = _prepaid(engine, clock, {D1: 7_000, D2: 7_000}, credit_fen=100)
    assert settle_day(engine, D1, now=clock()).charged == 1
    assert _settled(engine, account) == [(D1, 0, 0)]
    assert _balance(engine, account) == 100


@pytest.mark.parametrize("day", [date(2026, 11, 27), date(2026, 11, 28)])
def test_today_and_the_future_are_refused_naming_the_date(engine, clock, day):
    _prepaid(engine, clock, {day: 0, day + DAY: 1_000})
    with pytest.raises(InvalidInput) as refused:
        settle_day(engine, day, now=clock())
    assert refused.value.field == "date" and str(day) in refused.value.message
    with pytest.raises(InvalidInput) as through:
        settle_days(engine, D1, day, now=clock())
    assert through.value.field == "date"
    with pytest.raises(InvalidInput) as backwards:
        settle_days(engine, D2, D1, now=clock())
    assert backwards.value.field == "through"
    with read_session(engine) as db:
        assert db.execute(select(func.count()).select_from(DailySettlement)).scalar() == 0


def test_a_meter_changed_on_the_day_counts_both_meters(engine, clock):
    account = _prepaid(engine, clock, {D2: 50_000})  # the old meter runs 50 -> 53 kWh on D2
    with unit_of_work(engine) as db:
        change_meter(db, db.get(Account, account.id), on=D3, old_final=Reading(53_000), new_meter_no="N0000000001",
                     new_initial=Reading(0), multiplier=2, staff_id=staff(db)["reviewer1"], now=clock(), reason="换表")
        record_read(db, NewRead(db.get(Account, account.id).meter_id, D3 + DAY, "ami", 1_000), now=clock())
    settle_days(engine, D2, D3, now=clock())
    assert _settled(engine, account) == [(D2, 3_000, 161), (D3, 2_000, 108)]  # 1 kWh on the new meter x 2


def test_balance_events_are_written_once_per_crossing(engine, clock):
    # 10 kWh a day = 538 fen; from 3600 fen: 3062, 2524 (low), 1986, ... , -166 (negative), -704.
    days = [date(2026, 11, 10) + n * DAY for n in range(8)]
    account = _prepaid(engine, clock, {day: 10_000 * n for n, day in enumerate([*days, days[-1] + DAY])},
                       credit_fen=3_600)
    results = settle_days(engine, days[0], days[-1], now=clock())
    assert [(kind, data["day"], data["balance_fen"]) for kind, data in _events(engine, account)] == [
        (BALANCE_LOW, str(days[1]), 2_524), (BALANCE_NEGATIVE, str(days[6]), -166)]
    assert sum(day.low for day in results) == 1 and sum(day.negative for day in results) == 1


def test_a_paid_up_balance_crosses_again(engine, clock):
    account = _prepaid(engine, clock, {D1: 0, D2: 10_000, D3: 20_000}, credit_fen=3_100)
    settle_day(engine, D1, now=clock())
    pay(engine, clock, account, 5_000)
    with unit_of_work(engine) as db:
        db.get(Account, account.id).balance_low_fen = 7_500
    settle_day(engine, D2, now=clock())
    assert [(kind, data["balance_fen"], data["threshold_fen"]) for kind, data in _events(engine, account)] == [
        (BALANCE_LOW, 2_562, 3_000), (BALANCE_LOW, 7_024, 7_500)]


def test_a_charge_that_meets_credit_takes_it_and_owes_the_rest_from_its_day(engine, clock):
    account = _prepaid(engine, clock, {D1: 0, D2: 10_000}, credit_fen=100)
    settle_day(engine, D1, now=clock())
    payment, charge = f"pay:test:{account.account_no}", f"daily:{account.account_no}:{D1}"
    today = date(2026, 11, 27)  # the payments' day: a share is paid on the later of its credit's and debit's days
    assert active(engine, account) == {(payment, charge, 100, today)}
    later = pay(engine, clock, account, 1_000)
    assert active(engine, account) == {(payment, charge, 100, today), (later, charge, 438, today)}
    with unit_of_work(engine) as db:  # the rows stored are the replay's
        assert allocation.reallocate(db, account.id, at=clock()) == 0


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(0, 400_000), min_size=1, max_size=6))
def test_the_months_statement_sums_its_days(engine, clock, daily_wh):
    start = date(2026, 11, 1)
    totals = [sum(daily_wh[:n]) for n in range(len(daily_wh) + 1)]
    account = _prepaid(engine, clock, {start + n * DAY: 2_700_000 + wh for n, wh in enumerate(totals)})
    settle_days(engine, start, start + (len(daily_wh) - 1) * DAY, now=clock())
    with read_session(engine) as db:
        statement = prepaid_statement(db, account.id, 2026, 11)
        posted = db.execute(select(func.coalesce(func.sum(Transfer.amount_fen), 0))
                            .where(Transfer.key.startswith(f"daily:{account.account_no}:"))).scalar()
    assert statement.amount_fen == int(posted) == sum(line.amount_fen for line in statement.lines)
    assert statement.energy_wh == sum(daily_wh) == sum(line.wh for line in statement.lines if line.wh is not None)
    assert [day.day for day in statement.days] == [start + n * DAY for n in range(len(daily_wh))]


def test_a_statement_month_is_checked(engine, clock):
    with read_session(engine) as db, pytest.raises(InvalidInput) as refused:
        prepaid_statement(db, 1, 2026, 13)
    assert refused.value.field == "month"
