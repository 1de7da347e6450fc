"""坏账 and 核销 on a fixed clock, on both databases: a post-paid resident walked through the whole
ladder to the cut, marked bad after 180 days, written off by a second person (never the one who
asked; the CHECK agrees), its bills paid by the write-off with no more late fees, later money
recovered to revenue, and the month's finance statement agreeing with the ledger throughout."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from billing import bad_debt, dunning, late_fee_posting, late_fees, ledger
from billing.accounts import CLOSED, PREPAID, Account
from billing.audit import AuditEntry
from billing.bad_debt_records import BadDebt, BadDebtWriteOff
from billing.bill_status import PAID, bill_statuses
from billing.db import read_session, unit_of_work
from billing.errors import InvalidInput, PermissionDenied
from billing.events import Event
from billing.finance_statement import statement
from billing.ledger import Transfer
from billing.staff import add_staff
from tests.bill_helpers import issue_bill
from tests.dunning_helpers import bj, debtor, notify, run_ladder
from payments.settlement import credit_account
from tests.late_fee_helpers import pay

ARREARS = 23456


@pytest.fixture
def desk(engine):
    """A collections clerk and a finance approver."""
    with unit_of_work(engine) as db:
        return (add_staff(db, username="clerk", name="clerk", password="x" * 12, roles=["cashier"]).id,
                add_staff(db, username="boss", name="boss", password="x" * 12, roles=["finance"]).id)


@pytest.fixture
def cut_off(engine, clock):
    """A resident cut off on 2027-01-08 for a bill due 2026-12-01, never paid."""
    account = debtor(engine, clock)
    issue_bill(engine, clock, account, ARREARS, due=date(2026, 12, 1))
    run_ladder(engine, clock, bj(2027, 1, 1, 9, 0))
    notify(engine, clock)
    run_ladder(engine, clock, bj(2027, 1, 8, 8, 30))
    notify(engine, clock)
    assert run_ladder(engine, clock, bj(2027, 1, 8, 9, 0)) == {"disconnection_ordered": 1}
    return account


def _candidates(engine, on: date) -> list[str]:
    with read_session(engine) as db:
        return [c.account_no for c in bad_debt.candidates(db, on=on)]


def _mark(engine, clock, account, staff_id, reason="停电半年仍未缴费，户主失联"):
    with unit_of_work(engine) as db:
        return bad_debt.mark(db, account.id, reason=reason, staff_id=staff_id, now=clock())


def _request(engine, clock, debt, staff_id):
    with unit_of_work(engine) as db:
        return bad_debt.request_write_off(db, debt.id, reason="诉讼时效将过，无财产可执行", staff_id=staff_id,
                                          now=clock())


def _decide(engine, clock, write_off, staff_id, approve=True):
    with unit_of_work(engine) as db:
        return bad_debt.decide(db, write_off.id, staff_id=staff_id, approve=approve, now=clock())


def _balances(engine, account) -> tuple[int, int, int]:
    with read_session(engine) as db:
        return (ledger.balance_fen(db, ledger.customer_code(account.account_no)),
                ledger.balance_fen(db, bad_debt.EXPENSE), ledger.balance_fen(db, bad_debt.RECOVERED_REVENUE))


def _agrees(engine, month: date):
    with read_session(engine) as db:
        found = statement(db, month)
    assert found.agrees, [c for c in found.checks if not c.agrees]
    return found


def test_cut_off_resident_marked_written_off_by_a_second_person_then_recovered(engine, clock, desk, cut_off):
    clerk, boss = desk
    account = cut_off
    assert _candidates(engine, date(2027, 5, 30)) == []  # 180 days past due not yet
    clock.now = bj(2027, 6, 1, 10, 0)
    assert _candidates(engine, date(2027, 6, 1)) == [account.account_no]
    debt = _mark(engine, clock, account, clerk)
    assert _candidates(engine, date(2027, 6, 1)) == []
    for day in (2, 3):  # marked: the ladder takes no step, and orders no reconnection
        assert run_ladder(engine, clock, bj(2027, 6, day, 9, 0)) == {}
    write_off = _request(engine, clock, debt, clerk)
    with pytest.raises(PermissionDenied):
        _decide(engine, clock, write_off, clerk)
    assert _balances(engine, account) == (-ARREARS, 0, 0)  # no fee posted yet: no bill run since

    clock.now = bj(2027, 6, 3, 15, 0)
    approved = _decide(engine, clock, write_off, boss)
    customer, expense, recovered = _balances(engine, account)
    assert customer == 0 and recovered == 0
    fee = late_fees.bill_late_fee("residential", date(2026, 12, 1), [(ARREARS, date(2027, 6, 3))], date(2027, 6, 3))
    assert expense == approved.amount_fen == ARREARS + fee and fee > 4000  # the fee to the day of approval too
    with read_session(engine) as db:
        assert {s.state for s in bill_statuses(db, on=date(2027, 12, 31), account_id=account.id).values()} == {PAID}
        assert db.get(BadDebt, debt.id).state == "written_off"
        transfer = db.get(Transfer, approved.transfer_id)
        assert (transfer.key, transfer.code, transfer.business_date) == (f"bad-debt:{write_off.id}", "bad_debt",
                                                                          date(2027, 6, 3))
        assert not [a for a in late_fee_posting.accruals(db, [account.id], on=date(2027, 9, 1)) if a.unposted_fen]
    assert late_fee_posting.post_all(engine, on=date(2027, 9, 1), now=bj(2027, 9, 1, 9, 0)).fee_bills == 0
    assert run_ladder(engine, clock, bj(2027, 6, 4, 9, 0)) == {}  # written off: still held, not reconnected
    june = _agrees(engine, date(2027, 6, 1))
    assert june.bad_debt_written_off_fen == expense and june.collection is not None

    clock.now = bj(2027, 7, 5, 10, 0)
    pay(engine, clock, account, 10000)
    assert _balances(engine, account) == (0, expense, 10000)
    pay(engine, clock, account, expense)  # more than is left: the rest stays as credit
    assert _balances(engine, account) == (10000, expense, expense)
    with read_session(engine) as db:
        assert db.get(BadDebt, debt.id).state == "recovered"
        kinds = db.execute(select(Event.kind).where(Event.account_id == account.id)).scalars().all()
    assert kinds.count("bad_debt_recovered") == 2 and "bad_debt_written_off" in kinds
    assert run_ladder(engine, clock, bj(2027, 7, 5, 11, 0)) == {"reconnection_ordered": 1}
    july = _agrees(engine, date(2027, 7, 1))
    assert july.bad_debt_recovered_fen == expense and july.bad_debt_written_off_fen == 0


def test_a_rejected_write_off_changes_nothing_and_may_be_asked_again(engine, clock, desk, cut_off):
    clerk, boss = desk
    clock.now = bj(2027, 6, 1, 10, 0)
    debt = _mark(engine, clock, cut_off, clerk)
    write_off = _request(engine, clock, debt, clerk)
    before = _balances(engine, cut_off)
    with read_session(engine) as db:
        transfers = db.execute(select(func.count()).select_from(Transfer)).scalar()
    assert _decide(engine, clock, write_off, boss, approve=False).status == "rejected"
    assert _balances(engine, cut_off) == before
    with read_session(engine) as db:
        assert db.execute(select(func.count()).select_from(Transfer)).scalar() == transfers
        assert db.get(BadDebt, debt.id).state == "marked"
    with pytest.raises(bad_debt.BadDebtNotAllowed):
        _decide(engine, clock, write_off, boss)  # decided already
    assert _request(engine, clock, debt, clerk).status == "requested"


def test_the_table_refuses_an_approval_by_the_requester(engine, clock, desk, cut_off):
    clerk, _ = desk
    clock.now = bj(2027, 6, 1, 10, 0)
    write_off = _request(engine, clock, _mark(engine, clock, cut_off, clerk), clerk)
    with pytest.raises(IntegrityError), unit_of_work(engine) as db:
        db.execute(update(BadDebtWriteOff).where(BadDebtWriteOff.id == write_off.id).values(approved_by=clerk))


def test_only_an_exhausted_ladder_is_marked_and_a_reason_is_required(engine, clock, desk, cut_off):
    clerk, _ = desk
    clock.now = bj(2027, 3, 1, 10, 0)
    with pytest.raises(bad_debt.BadDebtNotAllowed) as early:
        _mark(engine, clock, cut_off, clerk)
    assert early.value.field == "candidate"
    clock.now = bj(2027, 6, 1, 10, 0)
    with pytest.raises(InvalidInput) as blank:
        _mark(engine, clock, cut_off, clerk, reason="  ")
    assert blank.value.field == "bad_debt_reason"
    debt = _mark(engine, clock, cut_off, clerk)
    with pytest.raises(bad_debt.BadDebtNotAllowed):
        _mark(engine, clock, cut_off, clerk)
    pay(engine, clock, cut_off, 100_000)  # paid before any write-off: the mark ends, the ladder reconnects
    with read_session(engine) as db:
        assert db.get(BadDebt, debt.id).state == "paid"
    assert run_ladder(engine, clock, bj(2027, 6, 1, 11, 0)) == {"reconnection_ordered": 1}


def test_a_moved_out_account_with_its_final_bill_unpaid_is_a_candidate(engine, clock):
    account = debtor(engine, clock)
    issue_bill(engine, clock, account, 5000, due=date(2026, 12, 1))
    with unit_of_work(engine) as db:
        db.execute(update(Account).where(Account.id == account.id).values(status=CLOSED))
    with read_session(engine) as db:
        (found,) = bad_debt.candidates(db, on=date(2026, 12, 5))
    assert (found.account_no, found.why, found.owed_fen) == (account.account_no, bad_debt.MOVED_OUT, 5000)
    assert dunning.run(engine, on=date(2026, 12, 5), now=bj(2026, 12, 5, 9, 0)) == {"bill_overdue": 1}


def test_a_repeated_payment_recovers_once_and_every_desk_step_is_audited(engine, clock, desk, cut_off):
    clerk, boss = desk
    clock.now = bj(2027, 6, 1, 10, 0)
    write_off = _request(engine, clock, _mark(engine, clock, cut_off, clerk), clerk)
    _decide(engine, clock, write_off, boss)
    clock.now = bj(2027, 8, 1, 10, 0)
    for _ in range(2):  # a channel's callback delivered twice: one transfer, one recovery
        with unit_of_work(engine) as db:
            credit_account(db, key="pay:wechat:4200000001", source="clearing:wechat", account=cut_off, amount_fen=5000,
                           code="payment", channel="wechat", out_trade_no="DF1", now=clock())
    assert _balances(engine, cut_off)[::2] == (0, 5000)
    with read_session(engine) as db:
        trail = db.execute(select(AuditEntry.action, AuditEntry.staff_id, AuditEntry.target)
                           .order_by(AuditEntry.id)).all()
    target = f"account:{cut_off.id}"
    assert trail == [("mark_bad_debt", clerk, target), ("request_bad_debt_write_off", clerk, target),
                     ("approve_bad_debt_write_off", boss, target)]


def test_a_prepaid_account_cut_half_a_year_ago_and_still_below_zero_is_a_candidate(engine, clock):
    account = debtor(engine, clock, regime=PREPAID)
    issue_bill(engine, clock, account, 5000)  # charged into a balance of zero: -50.00
    run_ladder(engine, clock, bj(2026, 11, 27, 12, 0))
    notify(engine, clock)
    run_ladder(engine, clock, bj(2026, 11, 30, 7, 30))
    assert run_ladder(engine, clock, bj(2026, 11, 30, 8, 0)) == {"disconnection_ordered": 1}
    assert _candidates(engine, date(2027, 5, 29)) == []  # 180 days since the cut, not more
    with read_session(engine) as db:
        (found,) = bad_debt.candidates(db, on=date(2027, 5, 30))
    assert (found.account_no, found.why, found.days, found.owed_fen) == (account.account_no, bad_debt.DISCONNECTED_LONG,
                                                                         181, 5000)
