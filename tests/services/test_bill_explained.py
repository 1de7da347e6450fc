"""Bills explained to residents (billing/bill_explained.py) and cancel + rebill at the desk
(billing/rebills.py): the end states on the ledger, the allocation and the balances, on both databases."""

from __future__ import annotations

import time
from datetime import date

import pytest
from sqlalchemy import select

from billing import bill_explained, bills
from billing.assessment import BillCorrections, assess, month_start
from billing.bill_records import CANCELLED, ISSUED, Bill
from billing.bill_status import OVERDUE, PAID, PART_PAID, UNPAID, bill_statuses, position
from billing.db import read_session, unit_of_work
from billing.errors import InvalidInput
from billing.ledger import Transfer, check_invariants
from billing.meters import ReadMissing
from billing.reads import SUPERSEDED, Read
from billing.rebills import rebill_from_reads
from tests.bill_helpers import active, bill_key, pay
from tests.explained_helpers import NOV, OCT, OCT_FEN, SEP_FEN, billed_account, correct_read
from tests.read_helpers import old_account
from tests.review_helpers import staff
from tests.threads import Threads

TODAY = date(2026, 11, 27)


def test_an_accounts_bills_newest_first_with_states(engine, clock):
    billed = billed_account(engine, clock)
    pay(engine, clock, billed.account, 5000)
    with read_session(engine) as db:
        found = bill_explained.account_bills(db, billed.account.id, on=TODAY)
        later = bill_explained.account_bills(db, billed.account.id, on=date(2026, 12, 20))
    assert [(row.bill.id, row.status.state, row.status.paid_fen) for row in found] == [
        (billed.october.id, UNPAID, 0), (billed.september.id, PART_PAID, 5000)]
    assert [(row.status.state, row.status.overdue_days) for row in later] == [(OVERDUE, 8), (OVERDUE, 8)]


def test_the_standing_says_balance_due_date_and_overdue_days(engine, clock):
    billed = billed_account(engine, clock)
    with read_session(engine) as db:
        now = bill_explained.standing(db, billed.account.id, on=TODAY)
        late = bill_explained.standing(db, billed.account.id, on=date(2026, 12, 15))
    assert now == bill_explained.Standing(-(SEP_FEN + OCT_FEN), 0, date(2026, 12, 12))
    assert (late.overdue_days, late.due_date) == (3, date(2026, 12, 12))
    pay(engine, clock, billed.account, SEP_FEN + OCT_FEN + 100)
    with read_session(engine) as db:
        assert bill_explained.standing(db, billed.account.id, on=TODAY) == bill_explained.Standing(100, 0, None)


def test_a_bill_explains_its_reads_tiers_and_the_forecast(engine, clock):
    billed = billed_account(engine, clock)
    with read_session(engine) as db:
        reads = bill_explained.reads_used(db, billed.october)
        tiers = bill_explained.tier_standing(db, billed.october)
        september_tiers = bill_explained.tier_standing(db, billed.september)
        forecast = bill_explained.forecast(db, billed.account.id, on=TODAY)
    assert [(read.on, read.register_wh, read.source) for read in reads] == [(OCT, 2_600_000, "ami"),
                                                                           (NOV, 2_900_000, "ami")]
    # 2900 kWh since 1 January: tier 2, which ends at 4800 kWh
    assert (tiers.used_wh, tiers.tier, tiers.left_in_tier_wh) == (2_900_000, 2, 1_900_000)
    assert (september_tiers.used_wh, september_tiers.tier, september_tiers.left_in_tier_wh) == (2_600_000, 1, 160_000)
    # 500 kWh over 61 days -> 30 days of November: 245.901 kWh, all in tier 2 at 0.588 = 144.59 元
    assert forecast == bill_explained.Forecast(NOV, date(2026, 11, 30), 245_901, 14459)


def test_an_account_without_bills_has_no_forecast(engine, clock):
    with unit_of_work(engine) as db:
        account_id = old_account(db).id
    with read_session(engine) as db:
        assert bill_explained.forecast(db, account_id, on=TODAY) is None
        assert bill_explained.account_bills(db, account_id, on=TODAY) == []


def test_cancel_then_rebill_reverses_moves_the_allocation_and_rebalances(engine, clock):
    billed = billed_account(engine, clock)
    with unit_of_work(engine) as db:
        people = staff(db)
    pay_key = pay(engine, clock, billed.account, 20000)  # September in full, 92.40 of October
    assert (pay_key, bill_key(billed.october), 20000 - SEP_FEN, TODAY) in active(engine, billed.account)

    with unit_of_work(engine) as db:
        bills.cancel(db, billed.october.id, reason="11月1日示数抄错", staff_id=people["reviewer1"], now=clock())
    with read_session(engine) as db:
        reversal = db.execute(select(Transfer).where(Transfer.key == f"bill-cancel:{billed.october.id}")).scalar_one()
        assert reversal.amount_fen == OCT_FEN
        assert position(db, billed.account.id).balance_fen == 20000 - SEP_FEN
        assert position(db, billed.account.id).unallocated_credit_fen == 20000 - SEP_FEN
    assert not any(debit == bill_key(billed.october) for _, debit, _, _ in active(engine, billed.account))

    correct_read(engine, clock, billed.account.meter_id, NOV, 2_800_000)  # 200 kWh in October, not 300
    with unit_of_work(engine) as db:
        rebill = rebill_from_reads(db, billed.october.id, staff_id=people["reviewer1"], now=clock())
        rebill_id = rebill.id
    rebill_fen = 8608 + 2352  # 160 kWh x 0.538 + 40 kWh x 0.588
    with read_session(engine) as db:
        new = db.get(Bill, rebill_id)
        old = db.get(Bill, billed.october.id)
        assert (new.state, new.total_fen, new.replaces_bill_id, new.period_start) == (ISSUED, rebill_fen, old.id, OCT)
        assert old.state == CANCELLED and old.cancel_reason == "11月1日示数抄错"
        states = bill_statuses(db, on=TODAY, account_id=billed.account.id)
        assert (states[billed.september.id].state, states[rebill_id].state) == (PAID, PART_PAID)
        assert states[rebill_id].paid_fen == 20000 - SEP_FEN
        assert position(db, billed.account.id).balance_fen == 20000 - SEP_FEN - rebill_fen
        check_invariants(db)
    assert (pay_key, f"bill:{rebill_id}", 20000 - SEP_FEN, TODAY) in active(engine, billed.account)


def test_a_bill_is_rebilled_only_once_and_only_when_cancelled(engine, clock):
    billed = billed_account(engine, clock)
    with unit_of_work(engine) as db:
        people = staff(db)
    with pytest.raises(bills.BillNotAllowed) as refused, unit_of_work(engine) as db:
        rebill_from_reads(db, billed.october.id, staff_id=people["reviewer1"], now=clock())
    assert refused.value.field == "state"
    with unit_of_work(engine) as db:
        bills.cancel(db, billed.october.id, reason="抄错", staff_id=people["reviewer1"], now=clock())
        rebill_from_reads(db, billed.october.id, staff_id=people["reviewer1"], now=clock())
    with pytest.raises(bills.BillNotAllowed) as again, unit_of_work(engine) as db:
        rebill_from_reads(db, billed.october.id, staff_id=people["reviewer1"], now=clock())
    assert again.value.field == "replaces_bill_id"


def test_two_desks_rebilling_at_once_make_one_rebill(engine, clock):
    """The second desk starts while the first's rebill is not committed yet: it waits, then is told
    the bill was rebilled (not a unique-key failure)."""
    billed = billed_account(engine, clock)
    with unit_of_work(engine) as db:
        people = staff(db)
        bills.cancel(db, billed.october.id, reason="抄错", staff_id=people["reviewer1"], now=clock())
    second = []

    def rebill_again() -> None:
        with pytest.raises(bills.BillNotAllowed) as refused, unit_of_work(engine) as db:
            rebill_from_reads(db, billed.october.id, staff_id=people["reviewer2"], now=clock())
        second.append(refused.value.field)

    threads = Threads()
    with unit_of_work(engine) as db:
        rebill_from_reads(db, billed.october.id, staff_id=people["reviewer1"], now=clock())
        threads.start(rebill_again)
        time.sleep(0.5)  # the second desk is in its rebill, waiting on this transaction
    threads.join()
    assert second == ["replaces_bill_id"]
    with read_session(engine) as db:
        assert len(db.execute(select(Bill.id).where(Bill.replaces_bill_id == billed.october.id)).all()) == 1
        check_invariants(db)


def test_a_rebill_without_its_reads_is_refused_and_changes_nothing(engine, clock):
    billed = billed_account(engine, clock)
    with unit_of_work(engine) as db:
        people = staff(db)
        bills.cancel(db, billed.october.id, reason="抄错", staff_id=people["reviewer1"], now=clock())
    with unit_of_work(engine) as db:
        for read in db.execute(select(Read).where(Read.meter_id == billed.account.meter_id, Read.read_on == NOV)).scalars():
            read.status = SUPERSEDED
    with pytest.raises(ReadMissing), unit_of_work(engine) as db:
        rebill_from_reads(db, billed.october.id, staff_id=people["reviewer1"], now=clock())
    with read_session(engine) as db:
        assert db.execute(select(Bill).where(Bill.replaces_bill_id == billed.october.id)).first() is None


def test_a_cancel_without_a_reason_names_the_field(engine, clock):
    billed = billed_account(engine, clock)
    with unit_of_work(engine) as db:
        people = staff(db)
    with pytest.raises(InvalidInput) as refused, unit_of_work(engine) as db:
        bills.cancel(db, billed.october.id, reason="  ", staff_id=people["reviewer1"], now=clock())
    assert refused.value.field == "reason"
    with read_session(engine) as db:
        assert db.get(Bill, billed.october.id).state == ISSUED


def test_the_error_assessment_counts_cancelled_and_reissued_bills(engine, clock):
    billed = billed_account(engine, clock)
    with unit_of_work(engine) as db:
        people = staff(db)
        bills.cancel(db, billed.october.id, reason="抄错", staff_id=people["reviewer1"], now=clock())
        rebill_from_reads(db, billed.october.id, staff_id=people["reviewer1"], now=clock())
    clock.advance(days=5)  # 2026-12-02: cancelled again in December
    with unit_of_work(engine) as db:
        bills.cancel(db, billed.september.id, reason="抄错", staff_id=people["reviewer1"], now=clock())
    with read_session(engine) as db:
        november, december = (assess(db, month_start(month)).bills for month in ("2026-11", "2026-12"))
    # November: September, October and the rebill issued; October cancelled; one rebill
    assert november == BillCorrections(issued=3, cancelled=1, reissued=1)
    assert december == BillCorrections(issued=0, cancelled=1, reissued=0)
