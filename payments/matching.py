"""Three-way matching of one channel's statement of one day: statement lines x payment orders x
ledger transfers, always by the channel's transaction id (refunds by our refund number), never
by amount.

Every statement line is matched or becomes a ``Finding`` of a class (reconciliation_records):

- a payment line we booked under the same transaction id, posted for the same amount: matched;
- a payment line we never booked: channel_only (长款), or status_mismatch when we closed the order;
- booked but for another amount, or held as not adding up: amount_mismatch;
- the second payment of an order that was already paid: duplicate_payment;
- a refund line matches a succeeded refund and its ``refund:<no>`` transfer; a refund we still
  wait for is a status_mismatch, one we never asked for is channel_only.

Then the other way: a payment or refund we booked on that day that no stored statement lists is
ledger_only (短款).  One booked in the last minutes before midnight may be on the next day's file:
while that file is not stored it waits, and the next day's run matches it or flags it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import compress
from operator import eq

from sqlalchemy import and_, case, literal, select
from sqlmodel import Session

from billing.clock import BEIJING
from billing.ledger import Transfer
from payments.gateways.base import StatementLine
from payments.statements import StatementLines
from payments.orders import CLOSED, CREDITED, DUPLICATE, FAILED, HELD, ChannelPayment, PaymentOrder
from payments.reconciliation_records import (
    AMOUNT_MISMATCH, CHANNEL_ONLY, DUPLICATE_PAYMENT, LEDGER_ONLY, STATUS_MISMATCH, Statement, StatementEntry,
)
from payments.refunds import SUCCEEDED, Refund

MIDNIGHT_WINDOW = timedelta(minutes=15)  # booked this close to midnight, it may be on the next day's file
CHUNK = 500  # ids per IN (...) list

_payments, _orders, _transfers, _refunds = (
    ChannelPayment.__table__, PaymentOrder.__table__, Transfer.__table__, Refund.__table__)


@dataclass(frozen=True)
class Finding:
    kind: str
    ref: str  # transaction id (payments) or refund number (refunds)
    out_trade_no: str
    amount_fen: int
    line: StatementLine | None = None


@dataclass
class Match:
    matched: set[str] = field(default_factory=set)  # refs of matched lines
    findings: list[Finding] = field(default_factory=list)
    waiting: int = 0  # booked just before midnight, looked for on the next day's file


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=BEIJING)
    return start, start + timedelta(days=1)


def match(session: Session, channel: str, day: date, lines: StatementLines) -> Match:
    result = Match()
    payments, refund_lines = lines.where("payment"), lines.where("refund")
    window = _booked_window(session, channel, day)
    _match_payments(session, channel, day, lines, payments, window, result)
    refunds = _booked_refunds(session, channel, [lines.refund_nos[index] for index in refund_lines])
    for index in refund_lines:
        _match_refund(lines, index, refunds.get(lines.refund_nos[index]), result)
    on_file = {lines.txn_ids[index] for index in payments} | {lines.refund_nos[index] for index in refund_lines}
    absent = _booked_payments(session, channel, day, sorted(window.in_day - on_file))
    _ledger_only(session, channel, day, on_file, list(absent.values()), result)
    return result


@dataclass
class _Window:
    """The day's channel payments and its neighbours', read in one range query, reduced to what the
    bulk comparison needs."""

    clean: dict[str, int]  # credited and posted for the amount the channel reported: ref -> fen
    in_day: set[str]  # credited (or a duplicate) that counts for the day's ledger side


def _booked_window(session: Session, channel: str, day: date) -> _Window:
    start, end = day_bounds(day)
    in_day, _ = _day_flags(_payments.c.paid_at, start, end)
    rows = session.connection().execute(
        select(_payments.c.channel_txn_id, case((and_(_payments.c.outcome == CREDITED,
                                                      _payments.c.amount_fen == _transfers.c.amount_fen),
                                                 _payments.c.amount_fen)),
               and_(in_day, _payments.c.outcome.in_((CREDITED, DUPLICATE))))
        .select_from(_payments)
        .outerjoin(_transfers, _pay_transfer(channel))
        .where(_payments.c.channel == channel, _payments.c.paid_at >= start - timedelta(days=1),
               _payments.c.paid_at < end + timedelta(days=1))).all()
    refs, clean_fen, counts = zip(*rows) if rows else ((), (), ())
    return _Window(dict(zip(refs, clean_fen)), set(compress(refs, counts)))


def _booked_payments(session: Session, channel: str, day: date, txn_ids: list[str]) -> dict:
    """These channel payments by transaction id, each with its order and its ``pay:`` transfer."""
    start, end = day_bounds(day)
    query = (select(_payments.c.channel_txn_id.label("ref"), _payments.c.out_trade_no, _payments.c.amount_fen,
                    _payments.c.outcome, _orders.c.amount_fen.label("order_fen"), _orders.c.state,
                    _transfers.c.amount_fen.label("posted_fen"), *_day_flags(_payments.c.paid_at, start, end))
             .select_from(_payments)
             .outerjoin(_orders, _orders.c.id == _payments.c.order_id)
             .outerjoin(_transfers, _pay_transfer(channel))
             .where(_payments.c.channel == channel))
    booked = {}
    for chunk in _chunks(txn_ids):
        booked |= {row.ref: row for row in session.execute(query.where(_payments.c.channel_txn_id.in_(chunk)))}
    return booked


def _pay_transfer(channel: str):
    """A channel payment's ledger transfer: its key is ``pay:<channel>:<transaction id>``."""
    return _transfers.c.key == literal(f"pay:{channel}:") + _payments.c.channel_txn_id


def _day_flags(column, start: datetime, end: datetime) -> tuple:
    """Whether an instant counts for the day's ledger side (the day, and the window before it in case
    the previous day's file did not list it), and whether it is in the window before midnight."""
    return (and_(column >= start - MIDNIGHT_WINDOW, column < end).label("in_day"),
            (column >= end - MIDNIGHT_WINDOW).label("late"))


def _match_payments(session: Session, channel: str, day: date, lines: StatementLines, payments: list[int],
                    window: _Window, result: Match) -> None:
    """A million lines are compared a column at a time (C loops, no per-line objects): a payment line
    whose transaction we credited and posted for the very amount on the line is matched; only the
    rest are looked up in full and classified line by line."""
    same = list(map(eq, map(window.clean.get, lines.txn_ids), lines.amounts))
    result.matched = {lines.txn_ids[index] for index in payments if same[index]}
    unmatched = [index for index in payments if not same[index]]
    booked = _booked_payments(session, channel, day, [lines.txn_ids[index] for index in unmatched])
    for index in unmatched:
        _match_payment(session, lines, index, booked.get(lines.txn_ids[index]), result)


def _match_payment(session: Session, lines: StatementLines, index: int, booked, result: Match) -> None:
    ref, amount = lines.txn_ids[index], lines.amounts[index]
    if booked is not None and booked.outcome == CREDITED and booked.amount_fen == booked.posted_fen == amount:
        result.matched.add(ref)  # paid outside the window read in bulk (days before the statement's day)
        return
    line = lines.line(index)
    if booked is None:
        order = session.execute(select(_orders.c.state).where(_orders.c.out_trade_no == line.out_trade_no)).first()
        kind = STATUS_MISMATCH if order is not None and order.state in (CLOSED, FAILED) else CHANNEL_ONLY
    elif booked.outcome == DUPLICATE:
        kind = DUPLICATE_PAYMENT
    elif booked.outcome == HELD:
        kind = AMOUNT_MISMATCH if booked.order_fen not in (None, amount) else CHANNEL_ONLY
    else:  # booked, but the channel took another amount than we posted (or nothing was posted)
        kind = AMOUNT_MISMATCH
    result.findings.append(Finding(kind, ref, line.out_trade_no, amount, line))


def _booked_refunds(session: Session, channel: str, refund_nos: list[str]) -> dict:
    query = (select(_refunds.c.refund_no, _refunds.c.state, _refunds.c.amount_fen, _refunds.c.debit_code,
                    _transfers.c.amount_fen.label("posted_fen"))
             .select_from(_refunds)
             .outerjoin(_transfers, _transfers.c.key == literal("refund:") + _refunds.c.refund_no)
             .where(_refunds.c.channel == channel))
    found = {}
    for chunk in _chunks(refund_nos):
        found |= {row.refund_no: row for row in session.execute(query.where(_refunds.c.refund_no.in_(chunk)))}
    return found


def _match_refund(lines: StatementLines, index: int, refund, result: Match) -> None:
    line = lines.line(index)
    if refund is None:
        kind = CHANNEL_ONLY
    elif refund.state != SUCCEEDED:
        kind = STATUS_MISMATCH
    elif refund.amount_fen == line.amount_fen and (not refund.debit_code or refund.posted_fen == line.amount_fen):
        result.matched.add(line.refund_no)
        return
    else:
        kind = AMOUNT_MISMATCH
    result.findings.append(Finding(kind, line.refund_no, line.out_trade_no, line.amount_fen, line))


def _ledger_only(session: Session, channel: str, day: date, on_file: set[str], absent: list, result: Match) -> None:
    """What we booked that day (and in the window before it, in case the previous day's file did
    not list it) that this statement does not list: the payments found absent, refunds."""
    start, end = day_bounds(day)
    refunded = (select(_refunds.c.refund_no.label("ref"), literal("").label("out_trade_no"), _refunds.c.amount_fen,
                       *_day_flags(_refunds.c.submitted_at, start, end))
                .where(_refunds.c.channel == channel, _refunds.c.state == SUCCEEDED,
                       _refunds.c.submitted_at >= start - MIDNIGHT_WINDOW, _refunds.c.submitted_at < end))
    absent += [row for row in session.execute(refunded) if row.ref not in on_file]
    elsewhere = _on_other_statements(session, channel, [row.ref for row in absent])
    next_day_stored = _stored(session, channel, day + timedelta(days=1))
    for row in absent:
        if row.ref in elsewhere:
            continue
        if row.late and not next_day_stored:
            result.waiting += 1
            continue
        result.findings.append(Finding(LEDGER_ONLY, row.ref, row.out_trade_no, row.amount_fen))


def _on_other_statements(session: Session, channel: str, refs: list[str]) -> set[str]:
    entries, statements = StatementEntry.__table__, Statement.__table__
    found = set()
    for chunk in _chunks(refs):
        rows = session.execute(
            select(entries.c.channel_txn_id, entries.c.refund_no)
            .join(statements, and_(statements.c.id == entries.c.statement_id, statements.c.channel == channel))
            .where(entries.c.channel_txn_id.in_(chunk) | entries.c.refund_no.in_(chunk)))
        found |= {ref for row in rows for ref in (row.channel_txn_id, row.refund_no)}
    return found


def _stored(session: Session, channel: str, day: date) -> bool:
    statements = Statement.__table__
    return session.execute(select(statements.c.id).where(statements.c.channel == channel,
                                                         statements.c.day == day)).first() is not None


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for index in range(0, len(items), CHUNK):
        yield items[index:index + CHUNK]
