"""Hypothesis: whatever sequence of payments, bills (held, negative, zero), refunds, uncovered debits
and cancellations two accounts go through, the allocation rows never give more than a credit
brought or a debt asked, and every customer balance equals its unallocated credit minus its unpaid
bills and other debts, computed here from the transfers' keys and the rows alone."""

from __future__ import annotations

import uuid
from datetime import timedelta

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select

from billing import allocation, bills, ledger
from billing.bill_records import CANCELLED, Allocation, Bill
from billing.clock import FixedClock, beijing_date
from billing.db import read_session, unit_of_work
from billing.ledger import LedgerAccount, Posting, Transfer
from billing.staff import add_staff
from tests.bill_helpers import draft, new_account
from tests.conftest import START

EXAMPLES = {"sqlite": 20, "postgresql": 8}  # each example is some 30 transactions

steps = st.lists(st.one_of(
    st.tuples(st.just("pay"), st.integers(0, 1), st.integers(1, 9_000)),
    st.tuples(st.just("bill"), st.integers(0, 1), st.integers(-1_000, 8_000), st.integers(0, 40)),
    st.tuples(st.just("hold"), st.integers(0, 1), st.integers(1, 8_000), st.integers(0, 40)),
    st.tuples(st.just("issue"), st.integers(0, 1), st.integers(0, 5)),
    st.tuples(st.just("refund"), st.integers(0, 1), st.integers(1, 9_000)),
    st.tuples(st.just("debit"), st.integers(0, 1), st.integers(1, 3_000)),
    st.tuples(st.just("cancel"), st.integers(0, 1), st.integers(0, 5)),
    st.tuples(st.just("days"), st.integers(0, 1), st.integers(1, 45)),
), min_size=1, max_size=16)


def test_allocation_stays_within_credits_and_debts_and_explains_every_balance(request, engine):
    with unit_of_work(engine) as db:
        staff_id = add_staff(db, username=f"r{uuid.uuid4().hex[:8]}", name="复核", password="pw", roles=["reviewer"]).id

    @settings(max_examples=EXAMPLES[request.node.callspec.params["engine"]], deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(plan=steps)
    def run(plan):
        clock = FixedClock(START)
        accounts = [new_account(engine, clock), new_account(engine, clock)]
        for step in plan:
            _apply(engine, clock, staff_id, accounts, step)
            for account in accounts:
                _check(engine, account)

    run()


def _apply(engine, clock, staff_id: int, accounts, step) -> None:
    kind, which, *args = step
    account = accounts[which]
    customer = ledger.customer_code(account.account_no)
    with unit_of_work(engine) as db:
        if kind == "days":
            clock.advance(days=args[0])
        elif kind in ("bill", "hold"):
            due = beijing_date(clock()) + timedelta(days=args[1])
            bills.create(db, draft(account, args[0], due=due), now=clock(), hold=kind == "hold")
        elif kind in ("issue", "cancel"):
            states = ("held",) if kind == "issue" else ("held", "issued")
            found = db.exec(select(Bill.id).where(Bill.account_id == account.id, Bill.state.in_(states))
                            .order_by(Bill.id)).scalars().all()
            if found and kind == "issue":
                bills.issue(db, found[args[0] % len(found)], now=clock(),
                            due_date=beijing_date(clock()) + timedelta(days=10))
            elif found:
                bills.cancel(db, found[args[0] % len(found)], reason="更正", staff_id=staff_id, now=clock())
        elif kind == "pay":
            allocation.post(db, Posting(_key("pay"), "clearing:counter", customer, args[0], "payment"), at=clock())
        elif kind == "refund" and ledger.balance_fen(db, customer) >= args[0]:  # as refunds.request checks
            allocation.post(db, Posting(_key("refund"), customer, "clearing:counter", args[0], "refund"), at=clock())
        elif kind == "debit":  # an arrear nobody billed (a demo opening balance, a reversed payment)
            allocation.post(db, Posting(_key("debit"), customer, "equity:opening", args[0], "opening"), at=clock())


def _key(prefix: str) -> str:
    return f"{prefix}:{uuid.uuid4().hex[:12]}"


def _check(engine, account) -> None:
    with read_session(engine) as db:
        ledger_id, balance = db.execute(select(LedgerAccount.id, LedgerAccount.credits_fen - LedgerAccount.debits_fen)
                                        .where(LedgerAccount.account_id == account.id)).one()
        transfers = db.execute(select(Transfer.id, Transfer.key, Transfer.credit_id == ledger_id, Transfer.amount_fen)
                               .where((Transfer.debit_id == ledger_id) | (Transfer.credit_id == ledger_id))).all()
        cancelled = {f"bill:{bill_id}" for bill_id in db.exec(
            select(Bill.id).where(Bill.account_id == account.id, Bill.state == CANCELLED)).scalars()}
        rows = db.execute(select(Allocation.credit_transfer_id, Allocation.debit_transfer_id, Allocation.bill_id,
                                 Allocation.amount_fen).where(Allocation.account_id == account.id)).all()
        assert allocation.reallocate(db, account.id, at=START) == 0  # the rows are the replay
        db.rollback()
    given_by, taken_by, by_bill = {}, {}, {}
    for credit_id, debit_id, bill_id, fen in rows:
        given_by[credit_id] = given_by.get(credit_id, 0) + fen
        taken_by[debit_id] = taken_by.get(debit_id, 0) + fen
        by_bill[bill_id] = by_bill.get(bill_id, 0) + fen
    unallocated = unpaid = other = 0
    for transfer_id, key, is_credit, fen in transfers:
        if key.startswith("bill-cancel:") or key in cancelled:  # as if never issued
            assert given_by.get(transfer_id, 0) == taken_by.get(transfer_id, 0) == 0
            continue
        side = given_by if is_credit else taken_by
        assert 0 <= side.get(transfer_id, 0) <= fen, (key, side.get(transfer_id), fen)
        if is_credit:
            unallocated += fen - side.get(transfer_id, 0)
        elif key.startswith("bill:"):
            unpaid += fen - side.get(transfer_id, 0)
        else:
            other += fen - side.get(transfer_id, 0)
    assert balance == unallocated - unpaid - other
    assert unallocated == 0 or unpaid + other == 0  # money is never left idle while something is owed
    assert all(fen == 0 for bill_id, fen in by_bill.items() if bill_id is not None and f"bill:{bill_id}" in cancelled)
