"""Bills, payments and refunds for the bill and allocation tests, through the functions production uses."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import aliased

from billing import allocation, bills, ledger
from billing.bill_records import Allocation, Bill
from billing.clock import beijing_date
from billing.db import read_session, unit_of_work
from billing.ledger import Posting, Transfer
from tests import factories

OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))


def new_account(engine, clock, **fields):
    with unit_of_work(engine) as db:
        return factories.account(db, at=clock(), **fields)


def energy_line(fen: int) -> bills.Line:
    return bills.Line("energy", "bill.line.energy", fen)


def draft(account, fen: int, *, due: date, period: tuple[date, date] = OCTOBER) -> bills.Draft:
    return bills.Draft(account.id, period[0], period[1], due, (energy_line(fen),))


def issue_bill(engine, clock, account, fen: int, *, due_days: int = 20, due: date | None = None, **options) -> Bill:
    with unit_of_work(engine) as db:
        return bills.create(db, draft(account, fen, due=due or beijing_date(clock()) + timedelta(days=due_days)),
                            now=clock(), **options)


def post(engine, clock, posting: Posting) -> None:
    with unit_of_work(engine) as db:
        allocation.post(db, posting, at=clock())


def pay(engine, clock, account, fen: int, key: str | None = None) -> str:
    """A counter-style credit of the balance; returns its transfer key."""
    key = key or f"pay:test:{uuid.uuid4().hex[:12]}"
    post(engine, clock, Posting(key, "clearing:counter", ledger.customer_code(account.account_no), fen, "payment"))
    return key


def refund(engine, clock, account, fen: int) -> str:
    key = f"refund:test:{uuid.uuid4().hex[:12]}"
    post(engine, clock, Posting(key, ledger.customer_code(account.account_no), "clearing:counter", fen, "refund"))
    return key


def cancel(engine, clock, bill: Bill, staff_id: int, reason: str = "抄表错误") -> Bill:
    with unit_of_work(engine) as db:
        return bills.cancel(db, bill.id, reason=reason, staff_id=staff_id, now=clock())


def active(engine, account) -> set[tuple[str, str, int, date]]:
    """The allocation in force, as (credit key, debit key, fen, paid_on), from the rows."""
    credit, debit = aliased(Transfer), aliased(Transfer)
    a = Allocation
    with read_session(engine) as db:
        rows = db.execute(select(credit.key, debit.key, a.amount_fen, a.paid_on, a.id, a.reverses_id)
                          .join(credit, credit.id == a.credit_transfer_id).join(debit, debit.id == a.debit_transfer_id)
                          .where(a.account_id == account.id).order_by(a.id)).all()
    reversed_ids = {row.reverses_id for row in rows if row.reverses_id}
    return {(c, d, fen, on) for c, d, fen, on, row_id, reverses in rows
            if reverses is None and row_id not in reversed_ids}


def bill_key(bill: Bill) -> str:
    return f"bill:{bill.id}"
