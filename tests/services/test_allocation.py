"""Allocation: which credit paid which bill, oldest bill first, as append-only rows written when
money arrives (every channel), when a bill is issued into credit, and on refunds and cancellations;
bill states and the aging of arrears read from those rows."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from billing import allocation, ledger
from billing.allocation import Movement, Share, replay
from billing.bill_records import Allocation
from billing.bill_status import OVERDUE, PAID, PART_PAID, UNPAID, Position, aging, bill_statuses, position
from billing.clock import beijing_date
from billing.db import read_session, unit_of_work
from billing.ledger import Posting
from billing.staff import add_staff
from payments import checkout, counter, refunds
from payments.orders import ChannelPayment
from payments.sync import submit_refund, sync
from tests.bill_helpers import active, bill_key, cancel, issue_bill, new_account, pay, post, refund
from tests.payment_helpers import acknowledged, phone, start_payment
from tests.threads import Threads

D = date(2026, 11, 1)


def _position(credit_fen: int, *, unpaid_fen: int = 0, other_fen: int = 0) -> Position:
    return Position(unpaid_fen, other_fen, credit_fen)


def _day(n: int) -> date:
    return D + timedelta(days=n)


def _credit(transfer_id: int, fen: int, day: int) -> Movement:
    return Movement(transfer_id, True, fen, _day(day))


def _bill(transfer_id: int, fen: int, day: int, due: int, number: str) -> Movement:
    return Movement(transfer_id, False, fen, _day(day), transfer_id * 100, _day(due), number)


def _debit(transfer_id: int, fen: int, day: int) -> Movement:
    return Movement(transfer_id, False, fen, _day(day))


# Hand-computed: (credit transfer, debit transfer, fen, day paid) for each history.
REPLAYS = {
    "a payment pays the bill due first, then the next": (
        [_bill(1, 100, 0, 20, "2026-000001"), _bill(2, 50, 1, 10, "2026-000002"), _credit(3, 120, 2)],
        {(3, 2, 50, 2), (3, 1, 70, 2)}),
    "same due date: by number, as numbers": (
        [_bill(1, 100, 0, 20, "2026-1000000"), _bill(2, 100, 0, 20, "2026-999999"), _credit(3, 150, 1)],
        {(3, 2, 100, 1), (3, 1, 50, 1)}),
    "credit held pays a bill the day it is issued": (
        [_credit(1, 100, 0), _bill(2, 60, 26, 46, "2026-000001")],
        {(1, 2, 60, 26)}),
    "oldest credit is spent first": (
        [_credit(1, 30, 0), _credit(2, 50, 1), _bill(3, 60, 2, 20, "2026-000001")],
        {(1, 3, 30, 2), (2, 3, 30, 2)}),
    "a refund takes the newest unallocated credit": (
        [_credit(1, 30, 0), _credit(2, 50, 1), _debit(3, 40, 2), _bill(4, 40, 3, 20, "2026-000001")],
        {(2, 3, 40, 2), (1, 4, 30, 3), (2, 4, 10, 3)}),
    "a debit no credit covers is owed from its day, before later bills": (
        [_debit(1, 100, 0), _bill(2, 50, 1, 20, "2026-000001"), _credit(3, 120, 5)],
        {(3, 1, 100, 5), (3, 2, 20, 5)}),
    "a later bill due earlier waits for money: nothing is moved back": (
        [_bill(1, 100, 0, 30, "2026-000001"), _credit(2, 100, 1), _bill(3, 40, 2, 10, "2026-000002")],
        {(2, 1, 100, 1)}),
}


@pytest.mark.parametrize("case", REPLAYS)
def test_replay_matches_hand_computed_allocations(case):
    movements, expected = REPLAYS[case]
    shares = replay(movements)
    assert {(s.credit_transfer_id, s.debit_transfer_id, s.amount_fen, s.paid_on) for s in shares.values()} == {
        (c, d, fen, _day(day)) for c, d, fen, day in expected}
    assert all(isinstance(s, Share) for s in shares.values())


@pytest.fixture
def cashier(engine):
    with unit_of_work(engine) as db:
        return add_staff(db, username="cashier1", name="收费员", password="pw", roles=["cashier"]).id


def test_a_counter_payment_pays_the_oldest_bill_first(engine, clock, cashier):
    account = new_account(engine, clock)
    late = issue_bill(engine, clock, account, 6_000, due_days=30)
    early = issue_bill(engine, clock, account, 4_000, due_days=10)
    clock.advance(days=1)
    with unit_of_work(engine) as db:
        receipt = counter.take_payment(db, receipt_no=counter.new_receipt_no(clock()), cashier_id=cashier,
                                       method="cash", rows=[(account.account_no, "50")], limits=checkout.Limits(),
                                       now=clock())
    key = f"counter:{receipt.out_trade_no}:{account.account_no}"
    assert active(engine, account) == {(key, bill_key(late), 1_000, date(2026, 11, 28)),
                                       (key, bill_key(early), 4_000, date(2026, 11, 28))}
    with read_session(engine) as db:
        states = bill_statuses(db, on=date(2026, 11, 28), account_id=account.id)
    assert [(states[b.id].state, states[b.id].paid_fen) for b in (early, late)] == [(PAID, 4_000), (PART_PAID, 1_000)]


def test_a_channel_payment_pays_a_bill_and_its_refund_takes_the_credit_left(request, engine, clock, app, gateways,
                                                                           alipay_sandbox):
    with unit_of_work(engine) as db:
        staff = [add_staff(db, username=n, name=n, password="pw", roles=r).id
                 for n, r in (("cashier9", ["cashier"]), ("finance9", ["finance"]))]
    account = new_account(engine, clock)
    bill = issue_bill(engine, clock, account, 3_000)
    started = start_payment(engine, gateways["alipay"], account, 8_000, clock)
    device = phone(request, "alipay")
    txn = device.pay(started, "payer")
    assert acknowledged("alipay", device.deliver(device.notification(started.out_trade_no, txn)))
    paid = f"pay:alipay:{txn}"
    assert active(engine, account) == {(paid, bill_key(bill), 3_000, date(2026, 11, 27))}
    with unit_of_work(engine) as db:
        payment = db.exec(select(ChannelPayment).where(ChannelPayment.channel_txn_id == txn)).scalars().one()
        requested = refunds.request(db, staff_id=staff[0], payment=payment, amount_fen=3_000,
                                    reason=refunds.ACCOUNT_CLOSURE, note="销户", now=clock())
    with unit_of_work(engine) as db:
        refunds.decide(db, db.get(refunds.Refund, requested.id), staff_id=staff[1], approve=True, now=clock())
    submit_refund(engine, gateways, requested.refund_no, now=clock())
    sync(engine, gateways, now=clock(), older_than=timedelta(minutes=5))
    assert active(engine, account) == {(paid, bill_key(bill), 3_000, date(2026, 11, 27)),
                                       (paid, f"refund:{requested.refund_no}", 3_000, date(2026, 11, 27))}
    with read_session(engine) as db:
        assert position(db, account.id).unallocated_credit_fen == 2_000


def test_a_prepaid_balance_pays_the_bill_when_it_is_issued(engine, clock):
    account = new_account(engine, clock, regime="prepaid")
    first, second = pay(engine, clock, account, 3_000), pay(engine, clock, account, 5_000)
    assert active(engine, account) == set()  # a credit with nothing owed writes no row
    clock.advance(days=4)
    bill = issue_bill(engine, clock, account, 6_000)
    assert active(engine, account) == {(first, bill_key(bill), 3_000, date(2026, 12, 1)),
                                       (second, bill_key(bill), 3_000, date(2026, 12, 1))}
    with read_session(engine) as db:
        assert bill_statuses(db, on=date(2026, 12, 1), bill_ids=[bill.id])[bill.id].state == PAID
        assert bill_statuses(db, on=date(2026, 11, 30), bill_ids=[bill.id])[bill.id].paid_fen == 0
        assert position(db, account.id) == _position(2_000)


def test_an_opening_arrear_is_owed_from_its_day_and_paid_before_later_bills(engine, clock):
    account = new_account(engine, clock)
    customer = ledger.customer_code(account.account_no)
    with unit_of_work(engine) as db:  # the demo's opening balances go straight to the ledger
        ledger.post(db, Posting(f"opening:{account.account_no}", customer, "equity:opening", 2_500, "opening"),
                    at=clock())
    bill = issue_bill(engine, clock, account, 4_000, due=date(2026, 11, 27))
    clock.advance(days=3)
    key = pay(engine, clock, account, 3_000)
    assert active(engine, account) == {(key, f"opening:{account.account_no}", 2_500, date(2026, 11, 30)),
                                       (key, bill_key(bill), 500, date(2026, 11, 30))}
    with read_session(engine) as db:
        assert position(db, account.id) == _position(0, unpaid_fen=3_500)
        assert aging(db, account.id, on=date(2026, 11, 29)).past_due_fen["0-30"] == 6_500


def test_states_and_aging_follow_the_rows_on_each_day(engine, clock):
    account = new_account(engine, clock)
    due = {n: beijing_date(clock()) + timedelta(days=d) for n, d in (("a", 0), ("b", 10), ("c", 40))}
    bills_ = {n: issue_bill(engine, clock, account, fen, due=due[n]) for n, fen in (("a", 1_000), ("b", 2_000),
                                                                                     ("c", 4_000))}
    clock.advance(days=5)  # 2 December
    pay(engine, clock, account, 1_500)
    with read_session(engine) as db:
        def states(on):
            found = bill_statuses(db, on=on, account_id=account.id)
            return {n: (found[b.id].state, found[b.id].overdue_days) for n, b in bills_.items()}

        assert states(date(2026, 11, 27)) == {"a": (UNPAID, 0), "b": (UNPAID, 0), "c": (UNPAID, 0)}
        assert states(date(2026, 12, 2)) == {"a": (PAID, 0), "b": (PART_PAID, 0), "c": (UNPAID, 0)}
        assert states(date(2027, 1, 6)) == {"a": (PAID, 0), "b": (OVERDUE, 30), "c": (UNPAID, 0)}
        assert states(date(2027, 1, 10)) == {"a": (PAID, 0), "b": (OVERDUE, 34), "c": (OVERDUE, 4)}
        assert states(date(2027, 12, 1)) == {"a": (PAID, 0), "b": (OVERDUE, 359), "c": (OVERDUE, 329)}
        before_payment = aging(db, account.id, on=date(2026, 12, 1))
        assert (before_payment.not_due_fen, before_payment.past_due_fen["0-30"]) == (6_000, 1_000)
        assert aging(db, account.id, on=date(2027, 3, 10)).past_due_fen == {
            "0-30": 0, "31-90": 4_000, "91-180": 1_500, "181-365": 0, ">365": 0}
        assert aging(db, account.id, on=date(2027, 12, 20)).past_due_fen == {
            "0-30": 0, "31-90": 0, "91-180": 0, "181-365": 4_000, ">365": 1_500}


def test_replaying_again_writes_nothing_and_rows_cannot_be_changed(engine, clock):
    account = new_account(engine, clock)
    issue_bill(engine, clock, account, 1_000)
    pay(engine, clock, account, 600)
    refund(engine, clock, account, 100)  # more than the credit left: 100 of it is owed
    before = active(engine, account)
    with unit_of_work(engine) as db:
        assert allocation.reallocate(db, account.id, at=clock()) == 0
    for statement in ("UPDATE allocation SET amount_fen = 1", "DELETE FROM allocation"):
        with pytest.raises(DBAPIError, match="append-only"), unit_of_work(engine) as db:
            db.execute(text(statement))
    assert active(engine, account) == before
    with read_session(engine) as db:
        assert db.execute(select(func.count()).select_from(Allocation)).scalar() == 1
        assert position(db, account.id) == _position(0, unpaid_fen=400, other_fen=100)


def test_a_posting_between_other_ledger_accounts_allocates_nothing(engine, clock):
    post(engine, clock, Posting("fee:1", "revenue:energy", "clearing:wechat", 10, "fee"))
    with read_session(engine) as db:
        assert db.execute(select(func.count()).select_from(Allocation)).scalar() == 0


def test_payments_and_a_cancellation_at_once_leave_the_rows_equal_to_the_replay(engine, clock):
    account = new_account(engine, clock)
    with unit_of_work(engine) as db:
        reviewer = add_staff(db, username="reviewer7", name="复核员", password="pw", roles=["reviewer"]).id
    owed = [issue_bill(engine, clock, account, 2_000, due_days=days) for days in (10, 20, 30)]
    threads = Threads()
    for _ in range(6):
        threads.start(pay, engine, clock, account, 700)
    threads.start(cancel, engine, clock, owed[0], reviewer)
    threads.join()
    with read_session(engine) as db:
        assert allocation.reallocate(db, account.id, at=clock()) == 0
        assert position(db, account.id) == _position(200)  # 4,200 paid against the 4,000 still billed
        states = bill_statuses(db, on=beijing_date(clock()), account_id=account.id)
    assert [states[bill.id].state for bill in owed] == ["cancelled", PAID, PAID]
