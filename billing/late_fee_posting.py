"""违约金 on the ledger: accrued from the allocation rows, posted as a small bill of its own.

Accrual.  An issued bill overdue since its due date accrues, slice by slice as the allocation rows
paid it, from the day after the due date to each slice's ``paid_on``; what is still unpaid accrues
to the day asked about.  The exact parts are summed and rounded once, with the 1 元 minimum on the
bill's total fee (``late_fees.bill_late_fee``).  A fee bill accrues no fee of its own.

Posting.  A posted fee is a bill of one ``late_fee`` line (revenue ``revenue:late_fee``) for the
overdue bill's period, due the day it is posted.  A bill, rather than a bare keyed transfer, because
a bill is what the rest already understands: allocation pays it oldest first (after the overdue
bill it comes from), bill states and aging read it, the bill page and PDF show it as its own line,
and cancelling reverses and re-allocates it (a waiver uses that).  Each fee bill has its row in
``late_fee_posting`` naming the overdue bill and keyed ``late-fee:<bill id>:<accrued to>``
(UNIQUE): what it adds is the fee accrued up to that day minus the fees posted before, so posting
again (the same day or later, by a payment or a bill run) posts nothing twice, and the fee bill and
its row are written in the caller's transaction, together or not at all.

Two moments post: a payment that completes an overdue bill (``post_paid_in_full``, from the
payment path, in a savepoint so a fee can never fail a payment) and the bill run
(``post_late_fees``, once per chunk), which also catches up what a payment did not post.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, and_, exists, func, insert, or_, select
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel

from billing import bills, events, late_fees
from billing.accounts import Account
from billing.bill_records import ISSUED, Allocation, Bill, BillSequence
from billing.clock import beijing_date
from billing.db import read_session, unit_of_work
from billing.errors import InvalidInput
from billing.failure_log import cause, quiet_repeats
from billing.ledger import LedgerAccount


class LateFeePosting(SQLModel, table=True):
    """One fee bill: the late fee of ``bill_id`` accrued up to ``accrued_to``, less what was posted
    before (``accrued_fen``); a waiver's replacement fee bill adds no accrual (0)."""

    __tablename__ = "late_fee_posting"
    __table_args__ = (CheckConstraint("accrued_fen >= 0", name="accrued_not_negative"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=60, unique=True)
    bill_id: int = Field(foreign_key="bill.id", index=True)  # the overdue bill
    fee_bill_id: int = Field(foreign_key="bill.id", unique=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    accrued_to: date
    accrued_fen: int = Field(sa_type=BigInteger)
    posted_at: datetime


# A bill that is not a fee bill: the bill run's "first bill" and "N x its average" look at these only.
NOT_A_FEE_BILL = ~exists().where(LateFeePosting.fee_bill_id == Bill.id)


@dataclass(frozen=True)
class Accrual:
    """The late fee of one overdue bill up to ``on``, and what of it is posted already."""

    bill_id: int
    account_id: int
    on: date
    accrued_fen: int
    posted_fen: int

    @property
    def unposted_fen(self) -> int:  # never negative: a fee once posted is taken back only by a waiver
        return max(self.accrued_fen - self.posted_fen, 0)


CHUNK = 1_000  # accounts per transaction, as the bill run chunks them
log = quiet_repeats(logging.getLogger(__name__))
_b, _a, _p = Bill.__table__, Allocation.__table__, LateFeePosting.__table__
_FEE_BILL = exists().where(_p.c.fee_bill_id == _b.c.id)


def _candidates(account_ids: list[int], on: date):
    """Issued bills of the accounts overdue at ``on`` that may owe more than was posted: unpaid at
    ``on``, or paid late after the day their fee was last posted to."""
    paid = (select(func.coalesce(func.sum(_a.c.amount_fen), 0))
            .where(_a.c.bill_id == _b.c.id, _a.c.paid_on <= on).scalar_subquery())
    posted_to = select(func.max(_p.c.accrued_to)).where(_p.c.bill_id == _b.c.id).correlate(_b).scalar_subquery()
    paid_late = exists().where(_a.c.bill_id == _b.c.id, _a.c.amount_fen > 0,
                               _a.c.paid_on > func.coalesce(posted_to, _b.c.due_date))
    return (select(_b.c.id, _b.c.account_id, Account.category, _b.c.total_fen, _b.c.due_date)
            .join(Account, Account.id == _b.c.account_id)
            .where(_b.c.account_id.in_(account_ids), _b.c.state == ISSUED, _b.c.total_fen > 0, _b.c.due_date < on,
                   ~_FEE_BILL, or_(paid < _b.c.total_fen, paid_late))
            .order_by(_b.c.account_id, _b.c.due_date, _b.c.id))


def accruals(session: Session, account_ids: list[int], *, on: date) -> list[Accrual]:
    """The late fee accrued up to ``on`` on every overdue bill of the accounts that may owe more."""
    db = session.connection()
    bills_ = db.execute(_candidates(account_ids, on)).all()
    if not bills_:
        return []
    ids = [row.id for row in bills_]
    slices: dict[int, list[tuple[int, date]]] = defaultdict(list)
    for bill_id, paid_on, fen in db.execute(
            select(_a.c.bill_id, _a.c.paid_on, func.sum(_a.c.amount_fen)).where(_a.c.bill_id.in_(ids))
            .group_by(_a.c.bill_id, _a.c.paid_on)):
        slices[bill_id].append((int(fen), paid_on))  # reversals net out: they carry their row's paid_on
    posted = dict(db.execute(select(_p.c.bill_id, func.sum(_p.c.accrued_fen)).where(_p.c.bill_id.in_(ids))
                             .group_by(_p.c.bill_id)).all())
    return [Accrual(row.id, row.account_id, on, _accrued(row, slices[row.id], on), int(posted.get(row.id, 0)))
            for row in bills_]


def _accrued(bill, slices: list[tuple[int, date]], on: date) -> int:
    unpaid = bill.total_fen - sum(fen for fen, _ in slices)
    owed = [*slices, *([(unpaid, on)] if unpaid > 0 else [])]
    return late_fees.bill_late_fee(bill.category, bill.due_date, owed, on)


def post_late_fees(session: Session, account_ids: list[int], *, on: date, now: datetime) -> list[Accrual]:
    """Post, for the accounts, the late fees accrued up to ``on`` and not posted yet, in the caller's
    transaction; returns the accruals posted, one fee bill each."""
    if not account_ids:
        return []
    _lock_balances(session, account_ids)
    due = [accrual for accrual in accruals(session, account_ids, on=on) if accrual.unposted_fen]
    keys = {_key(accrual.bill_id, on) for accrual in due}
    taken = set(session.execute(select(_p.c.key).where(_p.c.key.in_(keys))).scalars()) if keys else set()
    posted = [accrual for accrual in due if _key(accrual.bill_id, on) not in taken]
    _post(session, posted, now=now)
    return posted


def _post(session: Session, accruals_: list[Accrual], *, now: datetime) -> None:
    for accrual in accruals_:
        post_fee_bill(session, accrual.bill_id, accrual.unposted_fen, key=_key(accrual.bill_id, accrual.on),
                      accrued_to=accrual.on, accrued_fen=accrual.unposted_fen, now=now)


@dataclass(frozen=True)
class Posted:
    accounts: int  # accounts with an issued bill overdue at ``on``
    fee_bills: int
    fen: int


def post_all(engine: Engine, *, on: date, now: datetime, chunk: int = CHUNK) -> Posted:
    """``post_late_fees`` for every account with a bill overdue at ``on``, one transaction per
    chunk (a rerun after a crash posts what the crashed chunk did not, and nothing twice)."""
    if on > beijing_date(now):
        raise InvalidInput("date", f"{on} is in the future: fees accrue up to today at most")
    with read_session(engine) as db:
        ids = list(db.execute(select(_b.c.account_id).distinct().where(
            _b.c.state == ISSUED, _b.c.total_fen > 0, _b.c.due_date < on, ~_FEE_BILL).order_by(_b.c.account_id))
            .scalars())
    posted: list[Accrual] = []
    for start in range(0, len(ids), chunk):
        with unit_of_work(engine) as db:
            posted += post_late_fees(db, ids[start:start + chunk], on=on, now=now)
    return Posted(len(ids), len(posted), sum(accrual.unposted_fen for accrual in posted))


def post_paid_in_full(session: Session, account_id: int, *, now: datetime) -> list[Accrual]:
    """After a payment: post the fee of every overdue bill of the account it completed.  Runs in a
    savepoint and swallows any error (the bill run posts the fee later): a payment never fails
    because of a fee, nor waits for one: if a bill run holds the year's bill numbers, the fee
    waits for ``post_late_fees`` instead.  Returns the accruals posted."""
    today = beijing_date(now)
    try:
        with session.begin_nested():
            paid = [accrual for accrual in accruals(session, [account_id], on=today)
                    if accrual.unposted_fen and _fully_paid(session, accrual.bill_id)]
            if paid:
                _claim_numbers(session, today.year)
                _post(session, paid, now=now)
    except Exception as error:  # noqa: BLE001 - any failure here is the bill run's to retry, never the payment's
        log.warning("late fee of account %s left for the bill run: %s", account_id, cause(error), exc_info=True)
        return []
    return paid


def _claim_numbers(session: Session, year: int) -> None:
    """Lock the year's bill-number counter now or fail (PostgreSQL; SQLite writers queue at BEGIN):
    a bill run numbering bills holds it until its chunk commits, while holding balances this
    payment may hold too."""
    session.execute(select(BillSequence.last_no).where(BillSequence.year == year).with_for_update(nowait=True))


def _fully_paid(session: Session, bill_id: int) -> bool:
    paid = session.execute(select(func.coalesce(func.sum(_a.c.amount_fen), 0)).where(_a.c.bill_id == bill_id)).scalar()
    return paid >= session.execute(select(_b.c.total_fen).where(_b.c.id == bill_id)).scalar()


def post_fee_bill(session: Session, bill_id: int, amount_fen: int, *, key: str, accrued_to: date, accrued_fen: int,
                  now: datetime, staff_id: int | None = None) -> Bill:
    """Issue a fee bill of ``amount_fen`` for overdue bill ``bill_id`` and record it under ``key``."""
    overdue = session.get(Bill, bill_id)
    line = bills.Line(bills.LATE_FEE, f"bill.line.{bills.LATE_FEE}", amount_fen)
    draft = bills.Draft(overdue.account_id, overdue.period_start, overdue.period_end, beijing_date(now), (line,))
    fee_bill = bills.create(session, draft, now=now, staff_id=staff_id)
    session.execute(insert(_p), {"key": key, "bill_id": bill_id, "fee_bill_id": fee_bill.id,
                                 "account_id": overdue.account_id, "accrued_to": accrued_to,
                                 "accrued_fen": accrued_fen, "posted_at": now})
    if accrued_fen:  # a waiver's replacement says so with its own event
        events.emit(session, events.LATE_FEE_POSTED, at=now, account_id=overdue.account_id, bill_id=bill_id,
                    number=overdue.number, fee_bill_id=fee_bill.id, fee_number=fee_bill.number, amount_fen=amount_fen,
                    accrued_to=accrued_to.isoformat())
    return fee_bill


def fee_bills(session: Session, bill_id: int) -> list[Bill]:
    """The issued fee bills of overdue bill ``bill_id``, oldest first."""
    return list(session.execute(select(Bill).join(LateFeePosting, LateFeePosting.fee_bill_id == Bill.id)
                                .where(and_(LateFeePosting.bill_id == bill_id, Bill.state == ISSUED))
                                .order_by(Bill.id)).scalars())


def overdue_bill_id(session: Session, fee_bill_id: int) -> int | None:
    """The overdue bill a fee bill was posted for; None for a bill that is no fee bill."""
    return session.execute(select(_p.c.bill_id).where(_p.c.fee_bill_id == fee_bill_id)).scalar()


def _key(bill_id: int, on: date) -> str:
    return f"late-fee:{bill_id}:{on.isoformat()}"


def _lock_balances(session: Session, account_ids: list[int]) -> None:
    """Lock the accounts' customer balances (as a payment to them does), in id order: a payment
    completing a bill cannot post its fee between this accrual and its posting."""
    ledger = LedgerAccount.__table__
    session.execute(select(ledger.c.id).where(ledger.c.account_id.in_(account_ids), ledger.c.code.startswith("customer:"))
                    .order_by(ledger.c.id).with_for_update())
