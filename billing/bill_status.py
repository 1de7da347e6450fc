"""What the allocation rows say about an account on a business day: each bill's state (paid,
part paid, unpaid, overdue), the aging of what is owed, and the position of the balance.

Read from the rows, never guessed from the balance: a row counts from its ``paid_on`` day, so
asking about an earlier day shows what was paid by then, as the allocation stands now (a
cancellation restates earlier days: its money paid the other bills from the day it came in).  A bill is overdue from the day after its
due date (the day late fees start).  Aging buckets are days past due: ``0-30`` holds 1 to 30
(a bill due today is not yet past due and counts as ``not_due``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlmodel import Session

from billing.allocation import allocated, customer_ledger_id, history
from billing.bill_records import ISSUED, Allocation, Bill

PAID, PART_PAID, UNPAID, OVERDUE = "paid", "part_paid", "unpaid", "overdue"
BUCKETS = ((30, "0-30"), (90, "31-90"), (180, "91-180"), (365, "181-365"), (None, ">365"))


@dataclass(frozen=True)
class BillStatus:
    bill_id: int
    state: str  # paid | part_paid | unpaid | overdue, or the bill's own state if held or cancelled
    total_fen: int
    paid_fen: int
    due_date: date
    overdue_days: int  # days past the due date while not fully paid

    @property
    def owed_fen(self) -> int:
        return max(self.total_fen - self.paid_fen, 0) if self.state in (PART_PAID, UNPAID, OVERDUE) else 0


@dataclass(frozen=True)
class Aging:
    not_due_fen: int
    past_due_fen: dict[str, int]  # by bucket label, every label present

    @property
    def total_fen(self) -> int:
        return self.not_due_fen + sum(self.past_due_fen.values())


@dataclass(frozen=True)
class Position:
    """The balance explained: balance = unallocated_credit - unpaid_bills - other_owed."""

    unpaid_bills_fen: int
    other_owed_fen: int  # debits that are not bills and no credit covered (an opening arrear)
    unallocated_credit_fen: int

    @property
    def balance_fen(self) -> int:
        return self.unallocated_credit_fen - self.unpaid_bills_fen - self.other_owed_fen


def _state(bill_state: str, total_fen: int, paid_fen: int, due: date, on: date) -> str:
    if bill_state != ISSUED:
        return bill_state
    if paid_fen >= total_fen:
        return PAID
    if on > due:
        return OVERDUE
    return PART_PAID if paid_fen else UNPAID


def bill_statuses(session: Session, *, on: date, account_id: int | None = None,
                  bill_ids: list[int] | None = None) -> dict[int, BillStatus]:
    """The state of an account's bills (or of the bills named) at the end of ``on``."""
    a = Allocation.__table__
    paid = (select(a.c.bill_id, func.sum(a.c.amount_fen).label("fen")).where(a.c.paid_on <= on)
            .group_by(a.c.bill_id).subquery())
    query = (select(Bill.id, Bill.state, Bill.total_fen, Bill.due_date, func.coalesce(paid.c.fen, 0))
             .outerjoin(paid, paid.c.bill_id == Bill.id).order_by(Bill.due_date, Bill.id))
    if account_id is not None:
        query = query.where(Bill.account_id == account_id)
    if bill_ids is not None:
        query = query.where(Bill.id.in_(bill_ids))
    statuses = {}
    for bill_id, bill_state, total, due, paid_fen in session.execute(query):
        state = _state(bill_state, total, paid_fen, due, on)
        overdue = (on - due).days if state == OVERDUE else 0
        statuses[bill_id] = BillStatus(bill_id, state, total, paid_fen, due, overdue)
    return statuses


def aging(session: Session, account_id: int, *, on: date) -> Aging:
    """What the account owes at the end of ``on`` (bills and uncovered debits), by days past due."""
    _, by_debit = allocated(session, account_id, on=on)
    not_due, past_due = 0, dict.fromkeys((label for _, label in BUCKETS), 0)
    for movement in history(session, customer_ledger_id(session, account_id)):
        owed = movement.amount_fen - by_debit.get(movement.transfer_id, 0)
        if movement.credit or movement.on > on or owed <= 0:
            continue
        days = (on - (movement.due_date or movement.on)).days
        if days <= 0:
            not_due += owed
            continue
        label = next(label for limit, label in BUCKETS if limit is None or days <= limit)
        past_due[label] += owed
    return Aging(not_due, past_due)


def position(session: Session, account_id: int) -> Position:
    """The account's balance split into unpaid bills, other debts and unallocated credit."""
    by_credit, by_debit = allocated(session, account_id)
    unpaid = other = credit = 0
    for movement in history(session, customer_ledger_id(session, account_id)):
        if movement.credit:
            credit += movement.amount_fen - by_credit.get(movement.transfer_id, 0)
        elif movement.bill_id is not None:
            unpaid += movement.amount_fen - by_debit.get(movement.transfer_id, 0)
        else:
            other += movement.amount_fen - by_debit.get(movement.transfer_id, 0)
    return Position(unpaid, other, credit)
