"""Payment orders and their state machine.

    created --(channel accepted the order)--> paying --> paid | closed | failed
    created --> closed (never reached the channel, or expired)
    closed | failed --> paid   (the channel took the money anyway: money is real, we book it)

An order pays for one or more 户号 (``OrderLine``): a resident's prepayment has one line, a
property manager's bulk payment many.  Each real payment the channel reports is kept as a
``ChannelPayment`` (UNIQUE per channel transaction id): that is what makes a duplicate
notification a no-op and a second payment of the same order visible.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, CheckConstraint, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, select

from billing.accounts import Account
from billing.clock import to_beijing
from billing.money import require_fen
from payments.errors import AmountOutOfRange, InvalidTransition, OrderNotFound

CREATED, PAYING, PAID, CLOSED, FAILED = "created", "paying", "paid", "closed", "failed"
TRANSITIONS = {
    CREATED: {PAYING, PAID, CLOSED, FAILED},
    PAYING: {PAID, CLOSED, FAILED},
    CLOSED: {PAID},
    FAILED: {PAID},
    PAID: set(),
}
COUNTER = "counter"  # the service hall; the online channels are named by their gateways
PREPAY, ARREARS, BULK, AT_COUNTER = "prepay", "arrears", "bulk", "counter"
CREDITED, DUPLICATE, HELD = "credited", "duplicate", "held"  # what we did with a ChannelPayment


class PaymentOrder(SQLModel, table=True):
    __tablename__ = "payment_order"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("state IN ('created', 'paying', 'paid', 'closed', 'failed')", name="state"),
        CheckConstraint("channel IN ('wechat', 'alipay', 'counter')", name="channel"),
    )

    id: int | None = Field(default=None, primary_key=True)
    out_trade_no: str = Field(max_length=32, unique=True)
    channel: str = Field(max_length=10)
    scene: str = Field(max_length=12)
    purpose: str = Field(max_length=10)
    amount_fen: int = Field(sa_type=BigInteger)
    state: str = Field(default=CREATED, max_length=10, index=True)
    description: str = Field(max_length=127)
    resident_id: int | None = Field(default=None, foreign_key="resident.id", index=True)
    manager_id: int | None = Field(default=None, foreign_key="manager.id", index=True)
    cashier_id: int | None = Field(default=None, foreign_key="staff_user.id", index=True)
    channel_txn_id: str | None = Field(default=None, max_length=64)
    checkout_url: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(index=True)
    expires_at: datetime
    paid_at: datetime | None = None
    closed_at: datetime | None = None


class OrderLine(SQLModel, table=True):
    __tablename__ = "payment_order_line"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)

    order_id: int = Field(foreign_key="payment_order.id", primary_key=True)
    account_id: int = Field(foreign_key="account.id", primary_key=True, index=True)
    amount_fen: int = Field(sa_type=BigInteger)
    # The 户号's balance right after this line was credited: what a receipt shows, on every reprint.
    balance_after_fen: int | None = Field(default=None, sa_type=BigInteger)


class ChannelPayment(SQLModel, table=True):
    """One real payment as the channel reported it; ``outcome`` says what we did with it."""

    __tablename__ = "channel_payment"
    __table_args__ = (UniqueConstraint("channel", "channel_txn_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=10)
    channel_txn_id: str = Field(max_length=64)
    out_trade_no: str = Field(max_length=64, index=True)
    order_id: int | None = Field(default=None, foreign_key="payment_order.id", index=True)
    amount_fen: int = Field(sa_type=BigInteger)
    payer: str = Field(default="", max_length=128)
    paid_at: datetime
    source: str = Field(max_length=10)  # notify | query | statement
    outcome: str = Field(max_length=12)  # credited | duplicate | held
    incident_id: int | None = Field(default=None, foreign_key="incident.id")


def new_order_no(prefix: str, now: datetime) -> str:
    """``DF20261127`` + 16 random hex digits: unique, unguessable, 26 characters (WeChat allows 32)."""
    return f"{prefix}{to_beijing(now):%Y%m%d}{secrets.token_hex(8).upper()}"


def check_amount(amount_fen: int, minimum_fen: int, maximum_fen: int, field: str = "amount") -> int:
    require_fen(amount_fen, field)
    if not minimum_fen <= amount_fen <= maximum_fen:
        raise AmountOutOfRange(field, f"must be between {minimum_fen} and {maximum_fen} fen", minimum_fen=minimum_fen,
                               maximum_fen=maximum_fen)
    return amount_fen


def create_order(
    session: Session,
    *,
    channel: str,
    scene: str,
    purpose: str,
    lines: list[tuple[Account, int]],
    description: str,
    now: datetime,
    ttl: timedelta,
    resident_id: int | None = None,
    manager_id: int | None = None,
    cashier_id: int | None = None,
    prefix: str = "DF",
    out_trade_no: str | None = None,
) -> PaymentOrder:
    """``out_trade_no``: a number handed out beforehand (a counter receipt's), else a new one."""
    total = sum(amount for _, amount in lines)
    order = PaymentOrder(
        out_trade_no=out_trade_no or new_order_no(prefix, now), channel=channel, scene=scene, purpose=purpose, amount_fen=total,
        description=description[:127], resident_id=resident_id, manager_id=manager_id, cashier_id=cashier_id,
        created_at=now, expires_at=now + ttl,
    )
    session.add(order)
    session.flush()
    session.add_all(OrderLine(order_id=order.id, account_id=account.id, amount_fen=amount) for account, amount in lines)
    session.flush()
    return order


def transition(order: PaymentOrder, state: str, now: datetime) -> None:
    if state not in TRANSITIONS[order.state]:
        raise InvalidTransition(f"order {order.out_trade_no} cannot go from {order.state} to {state}")
    order.state = state
    if state == PAID:
        order.paid_at = order.paid_at or now
    elif state == CLOSED:
        order.closed_at = now


def get_order(session: Session, out_trade_no: str, *, lock: bool = False) -> PaymentOrder:
    query = select(PaymentOrder).where(PaymentOrder.out_trade_no == out_trade_no)
    order = session.exec(query.with_for_update() if lock else query).first()
    if order is None:
        raise OrderNotFound(f"no payment order {out_trade_no}", field="out_trade_no")
    return order


def order_lines(session: Session, order: PaymentOrder) -> list[tuple[Account, int]]:
    return [(account, amount) for account, amount, _ in receipt_lines(session, order)]


def receipt_lines(session: Session, order: PaymentOrder) -> list[tuple[Account, int, int | None]]:
    """(account, amount, balance right after the credit) per 户号, by 户号; the balance is None
    until the line is credited."""
    rows = session.exec(
        select(Account, OrderLine.amount_fen, OrderLine.balance_after_fen)
        .join(OrderLine, OrderLine.account_id == Account.id)
        .where(OrderLine.order_id == order.id)
        .order_by(Account.account_no)
    )
    return list(rows)
