"""The monthly bill run on both databases: clean accounts issued with hand-computed amounts, the hold
rules to the review queue, annual tiers across months, idempotent reruns, refused periods."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from billing import bill_review, bills
from billing.accounts import CLOSED, LARGE_INDUSTRY, PREPAID, District
from billing.bill_records import HELD, ISSUED, Bill, BillLine
from billing.bill_run import BILL_REVIEW, run_bills
from billing.bill_run_records import BillRunAccount
from billing.db import read_session, unit_of_work
from billing.errors import InvalidInput, NotFound
from billing.ledger import Transfer
from billing.meter_changes import Reading, change_meter
from billing.meters import installations, valid_read
from billing.reads import ESTIMATED, EstimateCarry, NewRead, record_read
from billing.review import READ_FINDING, ReviewItem, open_item
from billing.review_actions import ItemNotOpen
from tests.bill_helpers import issue_bill
from tests.read_helpers import old_account
from tests.review_helpers import staff
from tests.threads import Threads

SEP, OCT, NOV = date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)


def _account(engine, clock, freezes: dict[date, int], *, source: str = "ami", **fields):
    """An account opened 2025-09-01 with 00:00 freezes (Wh) on the given days."""
    with unit_of_work(engine) as db:
        account = old_account(db, **fields)
        for day, wh in freezes.items():
            record_read(db, NewRead(account.meter_id, day, ESTIMATED if day == NOV and source == ESTIMATED else "ami", wh),
                        now=clock())
        return account


def _bills(engine, account) -> list[Bill]:
    with read_session(engine) as db:
        return list(db.execute(select(Bill).where(Bill.account_id == account.id).order_by(Bill.period_start)).scalars())


def _lines(engine, bill) -> list[tuple[str, int | None, int]]:
    with read_session(engine) as db:
        return [(line.kind, line.energy_wh, line.amount_fen) for line in db.execute(
            select(BillLine).where(BillLine.bill_id == bill.id).order_by(BillLine.position)).scalars()]


def _items(engine, account) -> list[tuple[str, str]]:
    with read_session(engine) as db:
        return [(item.kind, item.rule) for item in db.execute(
            select(ReviewItem).where(ReviewItem.account_id == account.id).order_by(ReviewItem.id)).scalars()]


def test_a_clean_account_is_issued_at_its_tariff_and_a_first_bill_is_held(engine, clock):
    regular = _account(engine, clock, {SEP: 1_000_000, OCT: 1_200_000, NOV: 1_500_000})
    newcomer = _account(engine, clock, {OCT: 50_000, NOV: 150_000})
    september = run_bills(engine, (2026, 9), now=clock())
    assert (september.issued, september.held, dict(september.held_by_rule)) == (0, 1, {"first_bill": 1})
    assert dict(september.not_billed) == {"read_missing": 1}  # the newcomer has no 09-01 read

    october = run_bills(engine, (2026, 10), now=clock())
    assert (october.issued, october.held, dict(october.held_by_rule)) == (1, 1, {"first_bill": 1})
    held_sep, issued_oct = _bills(engine, regular)
    assert held_sep.state == HELD and _lines(engine, held_sep) == [("tier_1", 200_000, 10760)]  # 200 kWh x 0.538
    # 300 kWh x 0.538 = 161.40 元, due 15 days after the issue on 2026-11-27
    assert (issued_oct.state, issued_oct.total_fen, issued_oct.due_date) == (ISSUED, 16140, date(2026, 12, 12))
    assert issued_oct.number and issued_oct.transfer_id
    (newcomer_bill,) = _bills(engine, newcomer)
    assert (newcomer_bill.state, newcomer_bill.total_fen) == (HELD, 5380)
    assert _items(engine, regular) == [(BILL_REVIEW, "first_bill")]
    assert _items(engine, newcomer) == [(BILL_REVIEW, "first_bill")]


def test_annual_tiers_count_the_use_since_the_first_of_january(engine, clock):
    account = _account(engine, clock, {date(2026, 1, 1): 0, OCT: 2_700_000, NOV: 3_000_000})
    run_bills(engine, (2026, 10), now=clock())
    (october,) = _bills(engine, account)
    # 2700 kWh since 1 January: 60 kWh left in tier 1 (x 0.538 = 32.28), 240 kWh in tier 2 (x 0.588 = 141.12)
    assert _lines(engine, october) == [("tier_1", 60_000, 3228), ("tier_2", 240_000, 14112)]


def test_annual_tiers_without_a_january_freeze_count_the_months_billed_before(engine, clock):
    account = _account(engine, clock, {SEP: 0, OCT: 2_700_000, NOV: 3_000_000})
    run_bills(engine, (2026, 9), now=clock())
    run_bills(engine, (2026, 10), now=clock())
    october = _bills(engine, account)[1]
    # 2700 kWh billed in September: 60 kWh left in tier 1 (x 0.538 = 32.28), 240 kWh in tier 2 (x 0.588 = 141.12)
    assert _lines(engine, october) == [("tier_1", 60_000, 3228), ("tier_2", 240_000, 14112)]
    assert october.total_fen == 17340


def test_each_hold_rule_holds_the_bill_and_opens_a_bill_item(engine, clock):
    freezes = {SEP: 1_000_000, OCT: 1_100_000, NOV: 1_200_000}
    estimated = _account(engine, clock, freezes, source=ESTIMATED)
    finding = _account(engine, clock, freezes)
    high = _account(engine, clock, {SEP: 1_000_000, OCT: 1_100_000, NOV: 1_500_000})
    negative = _account(engine, clock, freezes)
    closing = _account(engine, clock, {SEP: 1_000_000, OCT: 1_100_000, date(2026, 10, 20): 1_150_000})
    clean = _account(engine, clock, freezes)
    prepaid = _account(engine, clock, freezes, regime=PREPAID)
    run_bills(engine, (2026, 9), now=clock())
    with unit_of_work(engine) as db:  # September's bills issued by a reviewer; then October's troubles
        for bill in db.execute(select(Bill).where(Bill.state == HELD)).scalars():
            bills.issue(db, bill.id, now=clock())
        open_item(db, kind=READ_FINDING, rule="high_use", subject_on=date(2026, 10, 12), at=clock(),
                  account_id=finding.id, meter_id=finding.meter_id)
        db.add(EstimateCarry(account_id=negative.id, estimated_read_id=_read_id(db, negative, OCT),
                             actual_read_id=_read_id(db, negative, OCT), difference_wh=-500_000, created_at=clock()))
        (span,) = installations(db, closing.id)
        span.removed_on = date(2026, 10, 20)
        db.add(span)
        closing.status = CLOSED
        db.add(closing)
    result = run_bills(engine, (2026, 10), now=clock())
    assert result.issued == 1 and result.held == 5
    assert dict(result.held_by_rule) == {"estimated_read": 1, "open_read_finding": 1, "high_amount": 1,
                                         "negative_bill": 1, "final_bill": 1}
    assert [b.state for b in _bills(engine, clean)] == [ISSUED, ISSUED]
    assert _bills(engine, prepaid) == []  # settled daily, not by the bill run
    for account, rule in ((estimated, "estimated_read"), (finding, "open_read_finding"), (high, "high_amount"),
                          (negative, "negative_bill"), (closing, "final_bill")):
        assert _bills(engine, account)[-1].state == HELD
        assert (BILL_REVIEW, rule) in _items(engine, account)
    # the carried estimate is its own line at the period's price: -500 kWh x 0.538
    assert _lines(engine, _bills(engine, negative)[-1]) == [("tier_1", 100_000, 5380), ("estimate_carry", -500_000, -26900)]
    with read_session(engine) as db:
        assert db.execute(select(EstimateCarry.carried_on_bill_id)).scalar() == _bills(engine, negative)[-1].id
    # the final bill stops at the last read: 19 days, 50 kWh
    assert _bills(engine, closing)[-1].period_end == date(2026, 10, 19)
    assert _bills(engine, closing)[-1].total_fen == 2690


def _read_id(db, account, day):
    return valid_read(db, account.meter_id, day).id


def _counts(engine) -> tuple[int, ...]:
    with read_session(engine) as db:
        return tuple(db.execute(select(func.count()).select_from(table)).scalar()
                     for table in (Bill, BillLine, Transfer, BillRunAccount, ReviewItem))


def test_running_twice_bills_nothing_twice(engine, clock):
    for n in range(5):
        _account(engine, clock, {SEP: 0, OCT: 100_000 * n, NOV: 300_000 * n})
    _account(engine, clock, {OCT: 0})  # no November read: not billed, tried again by the next run
    first = run_bills(engine, (2026, 10), now=clock(), chunk=2)
    before = _counts(engine)
    again = run_bills(engine, (2026, 10), now=clock(), chunk=2)
    assert (first.held + first.issued, sum(first.not_billed.values())) == (5, 1)
    assert (again.accounts, again.issued, again.held, sum(again.not_billed.values())) == (1, 0, 0, 1)
    assert _counts(engine) == before


def test_a_bill_made_by_hand_for_the_month_is_not_billed_again(engine, clock):
    account = _account(engine, clock, {OCT: 0, NOV: 100_000})
    issue_bill(engine, clock, account, 999)
    result = run_bills(engine, (2026, 10), now=clock())
    assert (result.already, result.issued, result.held) == (1, 0, 0)
    assert len(_bills(engine, account)) == 1


@pytest.mark.parametrize("period", [(2026, 11), (2026, 12), (2027, 1)])
def test_a_month_not_over_is_refused_and_nothing_written(engine, clock, period):
    _account(engine, clock, {OCT: 0, NOV: 100_000})
    with pytest.raises(InvalidInput) as refused:
        run_bills(engine, period, now=clock())
    assert refused.value.field == "period"
    assert _counts(engine) == (0, 0, 0, 0, 0)


def test_an_unknown_district_is_named(engine, clock):
    with pytest.raises(NotFound) as refused:
        run_bills(engine, (2026, 10), district="TQ-NOPE", now=clock())
    assert refused.value.field == "district" and "TQ-NOPE" in str(refused.value)


def test_a_district_run_bills_only_that_district(engine, clock):
    inside = _account(engine, clock, {OCT: 0, NOV: 100_000})
    outside = _account(engine, clock, {OCT: 0, NOV: 100_000})
    with read_session(engine) as db:
        code = db.get(District, inside.district_id).code
    run_bills(engine, (2026, 10), district=code, now=clock())
    assert len(_bills(engine, inside)) == 1 and _bills(engine, outside) == []


def _bill_item(engine, account) -> int:
    with read_session(engine) as db:
        return db.execute(select(ReviewItem.id).where(ReviewItem.account_id == account.id,
                                                      ReviewItem.kind == BILL_REVIEW)).scalar()


def test_a_reviewer_approves_a_held_bill_and_it_is_issued(engine, clock):
    account = _account(engine, clock, {OCT: 0, NOV: 100_000})
    run_bills(engine, (2026, 10), now=clock())
    clock.advance(days=3)
    with unit_of_work(engine) as db:
        reviewer = staff(db)["reviewer1"]
        bill = bill_review.approve(db, _bill_item(engine, account), staff_id=reviewer, now=clock(), note="新户")
    assert (bill.state, bill.total_fen, bill.issue_date, bill.due_date) == (ISSUED, 5380, date(2026, 11, 30),
                                                                             date(2026, 12, 15))
    with read_session(engine) as db:
        item = db.get(ReviewItem, _bill_item(engine, account))
        assert (item.status, item.action, item.resolved_by) == ("resolved", "approve", reviewer)
        assert db.execute(select(Transfer.amount_fen).where(Transfer.key == f"bill:{bill.id}")).scalar() == 5380
    with unit_of_work(engine) as db, pytest.raises(ItemNotOpen):
        bill_review.approve(db, _bill_item(engine, account), staff_id=reviewer, now=clock())


def test_a_cancelled_held_bill_is_billed_again_by_the_next_run_from_the_corrected_reads(engine, clock):
    account = _account(engine, clock, {OCT: 0, NOV: 900_000})
    run_bills(engine, (2026, 10), now=clock())
    with unit_of_work(engine) as db:
        reviewer = staff(db)["reviewer1"]
        cancelled = bill_review.cancel(db, _bill_item(engine, account), staff_id=reviewer, now=clock(),
                                       reason="表码错误, 已更正")
        record_read(db, NewRead(account.meter_id, NOV, "corrected", 100_000), now=clock(), replace=True)
    assert cancelled.state == "cancelled"
    again = run_bills(engine, (2026, 10), now=clock())
    assert again.held == 1
    assert [(b.state, b.total_fen) for b in _bills(engine, account)] == [("cancelled", 48420), (HELD, 5380)]


def test_energy_across_a_meter_change_is_counted_on_both_meters(engine, clock):
    account = _account(engine, clock, {OCT: 1_000_000})
    with unit_of_work(engine) as db:
        reviewer = staff(db)["reviewer1"]
        account = db.merge(account)
        change_meter(db, account, on=date(2026, 10, 15), old_final=Reading(1_060_000), new_meter_no="NEW0000001",
                     new_initial=Reading(0), multiplier=2, staff_id=reviewer, now=clock(), reason="表计故障")
        record_read(db, NewRead(account.meter_id, NOV, "ami", 20_000), now=clock())
    run_bills(engine, (2026, 10), now=clock())
    (bill,) = _bills(engine, account)
    assert _lines(engine, bill) == [("tier_1", 100_000, 5380)]  # 60 kWh on the old meter + 20 kWh x 2 on the new


def test_a_large_industry_account_pays_its_tou_energy_basic_charge_and_funds(engine, clock):
    registers = {OCT: {"sharp": 0, "peak": 0, "flat": 0, "valley": 0},
                 NOV: {"sharp": 10_000, "peak": 100_000, "flat": 200_000, "valley": 300_000}}
    with unit_of_work(engine) as db:
        account = old_account(db, category=LARGE_INDUSTRY)
        for day, values in registers.items():
            record_read(db, NewRead(account.meter_id, day, "ami", sum(values.values()), values), now=clock())
    run_bills(engine, (2026, 10), now=clock())
    (bill,) = _bills(engine, account)
    # 尖峰平谷 at 1.0532 / 0.8707 / 0.5882 / 0.3063; 315 kVA (the default capacity) x 30 元 for the whole
    # month; power factor at the 0.90 standard: 0 %; the three funds on 610 kWh
    assert _lines(engine, bill) == [
        ("sharp", 10_000, 1053), ("peak", 100_000, 8707), ("flat", 200_000, 11764), ("valley", 300_000, 9189),
        ("basic_capacity", None, 945_000), ("power_factor", None, 0),
        ("surcharge:water_fund", 610_000, 240), ("surcharge:renewable", 610_000, 1159),
        ("surcharge:reservoir_resettlement", 610_000, 378)]
    assert bill.total_fen == 977_490


def test_registers_that_went_backwards_are_not_billed_and_say_why(engine, clock):
    account = _account(engine, clock, {OCT: 500_000, NOV: 400_000})
    result = run_bills(engine, (2026, 10), now=clock())
    assert dict(result.not_billed) == {"negative_use": 1}
    assert result.not_billed_accounts == {"negative_use": [account.account_no]}
    assert _bills(engine, account) == []


def test_two_runs_at_once_bill_each_account_once(engine, clock):
    accounts = [_account(engine, clock, {OCT: 0, NOV: 100_000 * (n + 1)}) for n in range(8)]
    results, threads = [], Threads()
    for _ in range(2):
        threads.start(lambda: results.append(run_bills(engine, (2026, 10), now=clock(), chunk=2)))
    threads.join()
    assert [len(_bills(engine, account)) for account in accounts] == [1] * 8
    assert sum(r.held + r.issued for r in results) == 8
    assert sum(r.held + r.issued + r.already for r in results) == sum(r.accounts for r in results)
