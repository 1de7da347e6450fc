"""A 户号's payments and refunds as its resident reads them, from the ledger itself: every credit
of a payment (online, at the counter, by a property manager) and every confirmed refund debited
from the balance, each with the balance right after it.

The ledger is the truth of the balance, so the history cannot disagree with it; a receipt is one
of these entries, shown to anyone bound to the 户号 (it shows that 户号's line only, never the
rest of a property manager's bulk payment).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, bindparam, case, func, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from billing.allocation import customer_ledger_id
from billing.ledger import LedgerAccount, Transfer

PAYMENT_CODES = ("payment", "bulk", "counter")  # credits that are money paid in for the 户号
REFUND_CODE = "refund"
PAYMENT, REFUND = "payment", "refund"
PAGE = 50

_transfers = Transfer.__table__.c
_other = aliased(LedgerAccount.__table__)
_mine = bindparam("ledger_id")
_signed = case((_transfers.credit_id == _mine, _transfers.amount_fen), else_=-_transfers.amount_fen)
_RUNNING = (
    select(_transfers.id, _transfers.code, _transfers.amount_fen, _transfers.memo, _transfers.posted_at,
           _transfers.business_date, _transfers.credit_id, _transfers.debit_id,
           func.sum(_signed).over(order_by=_transfers.id).label("balance_after_fen"))
    .where(or_(_transfers.credit_id == _mine, _transfers.debit_id == _mine))
    .subquery()
)
_run = _RUNNING.c
_QUERY = (
    select(_run.id, _run.code, _run.amount_fen, _run.memo, _run.posted_at, _run.business_date, _run.balance_after_fen,
           _other.c.code.label("other_code"))
    .join(_other, _other.c.id == case((_run.credit_id == _mine, _run.debit_id), else_=_run.credit_id))
    .where(or_(and_(_run.credit_id == _mine, _run.code.in_(PAYMENT_CODES)),
               and_(_run.debit_id == _mine, _run.code == REFUND_CODE)))
    .order_by(_run.id.desc())
)
_PAGE = _QUERY.limit(bindparam("limit")).offset(bindparam("offset"))  # built once: the home page runs it per 户号
_ONE = _QUERY.where(_run.id == bindparam("transfer_id"))


@dataclass(frozen=True)
class PaymentEntry:
    transfer_id: int  # the receipt's number
    kind: str  # payment | refund
    amount_fen: int  # always > 0: a refund takes it off the balance
    channel: str  # wechat | alipay | counter | manager (a property manager's bulk payment)
    reference: str  # the payment order's number, or the refund's reason
    posted_at: datetime
    business_date: date
    balance_after_fen: int


def payment_history(session: Session, account_id: int, *, page: int = 1, per_page: int = PAGE) -> list[PaymentEntry]:
    """The 户号's payments and refunds, newest first, one page of them."""
    values = {"ledger_id": customer_ledger_id(session, account_id), "limit": per_page,
              "offset": (max(1, page) - 1) * per_page}
    return [_entry(row) for row in session.connection().execute(_PAGE, values)]


def payment_entry(session: Session, account_id: int, transfer_id: int) -> PaymentEntry | None:
    """One payment or refund of the 户号 (its receipt), or None if it is not one of this 户号's."""
    values = {"ledger_id": customer_ledger_id(session, account_id), "transfer_id": transfer_id}
    row = session.connection().execute(_ONE, values).first()
    return None if row is None else _entry(row)


def last_payment(session: Session, account_id: int) -> PaymentEntry | None:
    return next((entry for entry in payment_history(session, account_id, per_page=5) if entry.kind == PAYMENT), None)


def _entry(row) -> PaymentEntry:
    refund = row.code == REFUND_CODE
    kind, name = row.other_code.partition(":")[::2]
    channel = "manager" if kind == "manager" else name
    return PaymentEntry(row.id, REFUND if refund else PAYMENT, int(row.amount_fen), channel, row.memo, row.posted_at,
                        row.business_date, int(row.balance_after_fen))
