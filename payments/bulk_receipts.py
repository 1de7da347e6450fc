"""A property manager's consolidated receipts: its paid bulk payments, newest first, each with how
many 户号 it paid for (one query a page; each receipt's lines are read when it is opened)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlmodel import Session

from billing.errors import InvalidInput
from payments.orders import BULK, PAID, OrderLine, PaymentOrder

PER_PAGE = 20


@dataclass(frozen=True)
class ReceiptPage:
    orders: list[tuple[PaymentOrder, int]]  # the order and its number of 户号
    number: int
    count: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.count // PER_PAGE))


def receipts(session: Session, manager_id: int, number: int = 1) -> ReceiptPage:
    if number < 1:
        raise InvalidInput("page", "must be 1 or more")
    mine = (PaymentOrder.manager_id == manager_id, PaymentOrder.purpose == BULK, PaymentOrder.state == PAID)
    count = session.scalar(select(func.count()).select_from(PaymentOrder).where(*mine))
    lines = (select(func.count()).where(OrderLine.order_id == PaymentOrder.id).correlate(PaymentOrder)
             .scalar_subquery())
    rows = session.execute(select(PaymentOrder, lines).where(*mine)
                           .order_by(PaymentOrder.paid_at.desc(), PaymentOrder.id.desc())
                           .limit(PER_PAGE).offset((number - 1) * PER_PAGE)).all()
    return ReceiptPage([(order, int(n)) for order, n in rows], number, count)
