"""The counter at the service hall: a cashier takes cash or card for one or many 户号 and prints a
receipt; at the end of the day each cashier counts the drawer against what the system expects.

A counter payment is an order that is paid the moment it is made; it posts clearing:counter ->
each 户号 under ``counter:<receipt>:<户号>``.  A drawer that does not match is recorded with its
difference and raised as an incident; nobody edits the payments to make it fit.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import BigInteger, UniqueConstraint, func
from sqlmodel import Field, Session, SQLModel, select

from billing.accounts import Account
from billing.audit import audit
from billing.clock import BEIJING, beijing_date
from billing.errors import InvalidInput
from billing.incidents import record_incident
from payments.errors import PaymentError
from payments.settlement import credit_account
from payments.orders import AT_COUNTER, COUNTER, CREDITED, PAID, ChannelPayment, PaymentOrder, create_order, transition

CASH, CARD = "cash", "card"


class CashClose(SQLModel, table=True):
    __tablename__ = "cash_close"
    __table_args__ = (UniqueConstraint("cashier_id", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    cashier_id: int = Field(foreign_key="staff_user.id")
    day: date
    expected_fen: int = Field(sa_type=BigInteger)
    counted_fen: int = Field(sa_type=BigInteger)
    difference_fen: int = Field(sa_type=BigInteger)
    card_fen: int = Field(sa_type=BigInteger)
    payments: int
    closed_at: datetime


class DayAlreadyClosed(PaymentError):
    code = "day_already_closed"


def take_payment(session: Session, *, cashier_id: int, method: str, lines: list[tuple[Account, int]],
                 now: datetime) -> PaymentOrder:
    if method not in (CASH, CARD):
        raise InvalidInput("method", "must be cash or card")
    if not lines:
        raise InvalidInput("lines", "at least one 户号 and amount")
    _refuse_closed_day(session, cashier_id, now)
    order = create_order(session, channel=COUNTER, scene=method, purpose=AT_COUNTER, lines=lines,
                         description="柜台收费", now=now, ttl=timedelta(0), cashier_id=cashier_id, prefix="GT")
    transition(order, PAID, now)
    order.channel_txn_id = order.out_trade_no
    session.add(order)
    session.add(ChannelPayment(channel=COUNTER, channel_txn_id=order.out_trade_no, out_trade_no=order.out_trade_no,
                               order_id=order.id, amount_fen=order.amount_fen, paid_at=now, source="counter",
                               outcome=CREDITED))
    for account, amount in lines:
        credit_account(session, key=f"counter:{order.out_trade_no}:{account.account_no}", source="clearing:counter",
                       account=account, amount_fen=amount, code="counter", channel=COUNTER,
                       out_trade_no=order.out_trade_no, now=now)
    audit(session, staff_id=cashier_id, action="counter_payment", target=f"order:{order.out_trade_no}", at=now,
          after={"method": method, "amount_fen": order.amount_fen, "accounts": [a.account_no for a, _ in lines]})
    return order


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=BEIJING)
    return start, start + timedelta(days=1)


def _refuse_closed_day(session: Session, cashier_id: int, now: datetime) -> None:
    closed = session.exec(
        select(CashClose).where(CashClose.cashier_id == cashier_id, CashClose.day == beijing_date(now))
    ).first()
    if closed is not None:
        raise DayAlreadyClosed("the cash drawer for today is already closed", field="cashier")


def day_takings(session: Session, cashier_id: int, day: date) -> dict[str, tuple[int, int]]:
    """(count, fen) per method for one cashier's Beijing day."""
    start, end = _day_bounds(day)
    rows = session.exec(
        select(PaymentOrder.scene, func.count(), func.coalesce(func.sum(PaymentOrder.amount_fen), 0))
        .where(PaymentOrder.cashier_id == cashier_id, PaymentOrder.channel == COUNTER, PaymentOrder.state == PAID,
               PaymentOrder.paid_at >= start, PaymentOrder.paid_at < end)
        .group_by(PaymentOrder.scene)
    )
    return {scene: (count, int(total)) for scene, count, total in rows}


def close_day(session: Session, *, cashier_id: int, counted_fen: int, now: datetime) -> CashClose:
    """Count the drawer: expected cash vs counted; a difference is kept and raised, never hidden."""
    day = beijing_date(now)
    _refuse_closed_day(session, cashier_id, now)
    takings = day_takings(session, cashier_id, day)
    cash_count, expected = takings.get(CASH, (0, 0))
    card_count, card = takings.get(CARD, (0, 0))
    close = CashClose(cashier_id=cashier_id, day=day, expected_fen=expected, counted_fen=counted_fen,
                      difference_fen=counted_fen - expected, card_fen=card, payments=cash_count + card_count, closed_at=now)
    session.add(close)
    session.flush()
    if close.difference_fen:
        record_incident(session, kind="cash_difference", ref=f"cash_close:{close.id}", at=now,
                        detail={"cashier_id": cashier_id, "day": day, "expected_fen": expected, "counted_fen": counted_fen})
    audit(session, staff_id=cashier_id, action="close_cash_day", target=f"cash_close:{close.id}", at=now,
          after={"expected_fen": expected, "counted_fen": counted_fen})
    return close
