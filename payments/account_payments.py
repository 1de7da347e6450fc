"""An account's payments and refunds for the back office's account story, one query each, and the
audit targets they add to the account's trail (counter orders, refunds)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import String, cast, literal, or_
from sqlmodel import Session, select

from billing.accounts import Account
from billing.ledger import customer_code
from payments.orders import OrderLine, PaymentOrder
from payments.refunds import Refund

SHOWN = 200  # newest first; older ones are in the finance reports


@dataclass(frozen=True)
class PaymentLine:
    order: PaymentOrder
    amount_fen: int  # this 户号's part of the order (a bulk or counter order pays several)
    balance_after_fen: int | None  # the balance right after it was credited (None: not credited)


def payments(session: Session, account_id: int) -> list[PaymentLine]:
    """Every payment order with a line for the account, newest first, whatever its state."""
    rows = session.exec(select(PaymentOrder, OrderLine.amount_fen, OrderLine.balance_after_fen)
                        .join(OrderLine, OrderLine.order_id == PaymentOrder.id)
                        .where(OrderLine.account_id == account_id)
                        .order_by(PaymentOrder.created_at.desc(), PaymentOrder.id.desc()).limit(SHOWN))
    return [PaymentLine(order, amount, after) for order, amount, after in rows]


def _orders_of(account_id: int):
    return select(OrderLine.order_id).where(OrderLine.account_id == account_id)


def refunds(session: Session, account: Account) -> list[Refund]:
    """Refunds out of the account's balance or of an order that paid it, newest first."""
    return list(session.exec(select(Refund).where(or_(Refund.debit_code == customer_code(account.account_no),
                                                      Refund.order_id.in_(_orders_of(account.id))))
                             .order_by(Refund.requested_at.desc(), Refund.id.desc()).limit(SHOWN)))


def audit_targets(account: Account) -> list:
    """Selects of the audit targets of the account's orders and refunds (``billing.account_story``)."""
    return [
        select((literal("order:", String) + PaymentOrder.out_trade_no).label("target"))
        .where(PaymentOrder.id.in_(_orders_of(account.id))),
        select((literal("refund:", String) + cast(Refund.refund_no, String)).label("target"))
        .where(or_(Refund.debit_code == customer_code(account.account_no), Refund.order_id.in_(_orders_of(account.id)))),
    ]
