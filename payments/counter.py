"""The counter at the service hall: a cashier takes cash or card for one or many 户号 and prints a
receipt; at the end of the day each cashier counts the drawer against what the system expects.

The cashier types rows of 户号 and amount (yuan) as the payer dictates them; ``read_rows`` checks
them all at once, with the portal's limits per 户号 and a ceiling per receipt, and names the row of
every problem.  A 户号 typed twice on one receipt is refused (naming both rows), not merged: the
payer meant one amount, and the cashier should say which.  ``preview`` shows the rows with each
holder and balance before the money is taken; ``take_payment`` checks them again and books them.

A counter payment is an order that is paid the moment it is made; it posts clearing:counter ->
each 户号 under ``counter:<receipt>:<户号>``.  A drawer that does not match is recorded with its
difference and raised as an incident; nobody edits the payments to make it fit.  After the close
the drawer takes no more money that day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import re
from datetime import date, datetime, time, timedelta

from sqlalchemy import BigInteger, UniqueConstraint, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from billing import ledger
from billing.accounts import Account, validate_account_no
from billing.audit import audit
from billing.clock import BEIJING, beijing_date
from billing.errors import InvalidAmount, InvalidInput
from billing.incidents import record_incident
from billing.money import parse_yuan
from payments.checkout import Limits
from payments.errors import PaymentError
from payments.settlement import credit_account
from payments.orders import (
    AT_COUNTER, COUNTER, CREDITED, PAID, ChannelPayment, PaymentOrder, create_order, new_order_no, transition,
)

CASH, CARD = "cash", "card"
RECEIPT_PREFIX = "GT"
_RECEIPT_NO = re.compile(r"GT[0-9]{8}[0-9A-F]{16}")  # new_order_no("GT", ...)
MAX_RECEIPT_FEN = 2_000_000  # 20,000.00 元 on one receipt: more is a bank transfer, not a drawer


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


class CounterRowsInvalid(InvalidInput):
    """Rows of the counter form that cannot be charged: nothing is taken, every bad row is named."""

    code = "counter_rows_invalid"

    def __init__(self, problems: list[tuple[int | None, str, dict]]) -> None:
        super().__init__("rows", f"{len(problems)} problem(s), first: {problems[0]}")
        self.problems = problems  # (row or None for the whole receipt, problem code, values for the message)


@dataclass(frozen=True)
class Payer:
    """A 户号 as the cashier sees it before charging: the holder and the balance (< 0: arrears)."""

    account: Account
    balance_fen: int


@dataclass(frozen=True)
class Line:
    row: int  # the row of the counter form, from 1
    payer: Payer
    amount_fen: int


def payer(session: Session, account_no: str) -> Payer | None:
    """The 户号 and its balance, or None if there is no such 户号 (a bad format raises)."""
    account = session.exec(select(Account).where(Account.account_no == validate_account_no(account_no))).first()
    if account is None:
        return None
    return Payer(account, ledger.customer_balances(session, [account.id]).get(account.id, 0))


def read_rows(session: Session, rows: Sequence[tuple[str, str]], limits: Limits) -> list[Line]:
    """The filled rows of (户号, 金额 in yuan) as typed; blank rows are skipped.  Every bad row is
    named, all at once: ``CounterRowsInvalid`` with (row, problem, values), row None for the receipt."""
    lines, problems, seen = [], [], {}
    for number, (account_no, amount) in enumerate(rows, start=1):
        account_no, amount = account_no.strip(), amount.strip()
        if not account_no and not amount:
            continue
        found, checked = _check_row(session, account_no, amount, seen.get(account_no), limits)
        if found is None:
            problems.append((number, *checked))
        else:
            lines.append(Line(number, found, checked))
        seen.setdefault(account_no, number)
    if not lines and not problems:
        problems.append((None, "empty", {}))
    total = sum(line.amount_fen for line in lines)
    if not problems and total > MAX_RECEIPT_FEN:
        problems.append((None, "receipt_total", {"total_fen": total, "maximum_fen": MAX_RECEIPT_FEN}))
    if problems:
        raise CounterRowsInvalid(problems)
    return lines


def _check_row(session: Session, account_no: str, amount: str, first_row: int | None,
               limits: Limits) -> tuple[Payer, int] | tuple[None, tuple[str, dict]]:
    """(payer, fen) of a good row, or (None, (problem, values))."""
    if not account_no:
        return None, ("account_missing", {})
    try:
        found = payer(session, account_no)
    except InvalidInput:
        return None, ("account_no_format", {"account_no": account_no})
    if found is None:
        return None, ("account_unknown", {"account_no": account_no})
    if first_row is not None:
        return None, ("account_repeated", {"account_no": account_no, "first_line": first_row})
    try:
        fen = parse_yuan(amount)
    except InvalidAmount:
        return None, ("amount_format", {"amount": amount}) if amount else ("amount_missing", {})
    if not limits.minimum_fen <= fen <= limits.maximum_fen:
        return None, ("amount_range", {"amount": amount, "minimum_fen": limits.minimum_fen,
                                       "maximum_fen": limits.maximum_fen})
    return found, fen


def preview(session: Session, *, cashier_id: int, rows: Sequence[tuple[str, str]], limits: Limits,
            now: datetime) -> list[Line]:
    """What the cashier confirms before taking the money: each 户号 with its holder and balance."""
    _refuse_closed_day(session, cashier_id, now)
    return read_rows(session, rows, limits)


def new_receipt_no(now: datetime) -> str:
    """The number the confirm page hands out: taking the money under it twice takes it once."""
    return new_order_no(RECEIPT_PREFIX, now)


def take_payment(session: Session, *, cashier_id: int, method: str, rows: Sequence[tuple[str, str]],
                 limits: Limits, now: datetime, receipt_no: str) -> PaymentOrder:
    """Take the money for the confirmed rows under ``receipt_no``.  A second submission of the same
    confirm page (a double click, a reload) returns the receipt already taken instead of charging
    again."""
    if method not in (CASH, CARD):
        raise InvalidInput("method", "must be cash or card")
    if not _RECEIPT_NO.fullmatch(receipt_no or ""):
        raise InvalidInput("receipt_no", "the confirm page's receipt number is missing or malformed")
    taken = _taken(session, receipt_no, cashier_id)
    if taken is not None:
        return taken
    lines = [(line.payer.account, line.amount_fen) for line in preview(session, cashier_id=cashier_id, rows=rows,
                                                                        limits=limits, now=now)]
    try:
        with session.begin_nested():  # a concurrent submission of the same page may insert it first
            order = create_order(session, channel=COUNTER, scene=method, purpose=AT_COUNTER, lines=lines,
                                 description="柜台收费", now=now, ttl=timedelta(0), cashier_id=cashier_id,
                                 out_trade_no=receipt_no)
    except IntegrityError:
        return _taken(session, receipt_no, cashier_id)
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


def _taken(session: Session, receipt_no: str, cashier_id: int) -> PaymentOrder | None:
    order = session.exec(select(PaymentOrder).where(PaymentOrder.out_trade_no == receipt_no)).first()
    if order is not None and (order.channel, order.cashier_id) != (COUNTER, cashier_id):
        raise InvalidInput("receipt_no", "this receipt number belongs to another payment")
    return order


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=BEIJING)
    return start, start + timedelta(days=1)


def day_closed(session: Session, cashier_id: int, day: date) -> CashClose | None:
    """The cashier's close of that Beijing day, if the drawer is closed."""
    return session.exec(select(CashClose).where(CashClose.cashier_id == cashier_id, CashClose.day == day)).first()


def _refuse_closed_day(session: Session, cashier_id: int, now: datetime) -> None:
    if day_closed(session, cashier_id, beijing_date(now)) is not None:
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


@dataclass(frozen=True)
class Drawer:
    """One cashier's Beijing day at the counter: (count, fen) per method, and the close if done."""

    day: date
    takings: dict[str, tuple[int, int]]
    closed: CashClose | None


def drawer(session: Session, cashier_id: int, day: date) -> Drawer:
    return Drawer(day, day_takings(session, cashier_id, day), day_closed(session, cashier_id, day))


def close_day(session: Session, *, cashier_id: int, counted_fen: int, now: datetime) -> CashClose:
    """Count the drawer: expected cash vs counted; a difference is kept and raised, never hidden."""
    if counted_fen < 0:
        raise InvalidInput("counted", "counted cash cannot be negative")
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
