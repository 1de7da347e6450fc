"""对账: take in a channel's daily statement, match it against our orders and ledger, keep the
differences, and heal the ones a query can heal.

Intake.  The statement comes from the gateway adapter (after the channel publishes it: WeChat Pay
about 10:00, Alipay about 09:00 Beijing the next day; before that the answer is ``StatementNotYet``)
or from a file.  It is parsed and checked (payments.statements: summary, lines), then refused with
the reason and nothing written if it is another merchant's or another day's.  It is stored with
the file's SHA-256 and its lines; taking the same file again is a rerun, a different file for a
day already stored is refused.

Matching (payments.matching) classifies every line; each finding is a ``Difference`` row keyed by
(channel, class, ref), so a rerun or the next day's file never flags one twice.  A 长款 (the
channel took money we never booked: a lost notification) is healed by querying the order and
settling the answer through ``settle``, keyed by the channel's transaction id like every payment.

The counter has no channel file: its statement is the day's cash closes, matched against the
ledger's counter postings of each cashier.
"""

from __future__ import annotations

import gc
import gzip
import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import repeat

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from billing.clock import BEIJING, beijing_date
from billing.db import bulk_insert, insert_ignoring_duplicates, read_session, timestamp_value, unit_of_work
from billing.ledger import Transfer
from payments.counter import CashClose
from payments.errors import GatewayError, PaymentError
from payments.gateways.base import Gateway, Merchant, PaymentReport, StatementLine
from payments.matching import Finding, day_bounds, match
from payments.orders import COUNTER, CREDITED, DUPLICATE, ChannelPayment, PaymentOrder
from payments.reconciliation_records import (
    AMOUNT_MISMATCH, CHANNEL_ONLY, HEALED, LEDGER_ONLY, OPEN, STATUS_MISMATCH, Difference, Statement, StatementEntry,
)
from payments.settlement import settle
from payments.statements import StatementLines, parse_alipay_bill, read_wechat_tradebill

PUBLISHED_AT = {"wechat": time(10), "alipay": time(9)}  # Beijing, the day after the statement's day
HEALABLE = (CHANNEL_ONLY, STATUS_MISMATCH)  # money the channel took that a query + settle can book


class StatementRefused(PaymentError):
    code = "statement_refused"


class StatementNotYet(PaymentError):
    """Not published yet (or the counter's drawers not closed): the scheduled run tries again."""

    code = "statement_not_yet"


@dataclass
class Reconciled:
    channel: str
    day: date
    lines: int = 0
    matched: int = 0
    found: Counter = field(default_factory=Counter)  # class -> differences on this day
    healed: int = 0
    waiting: int = 0
    rerun: bool = False


# --- intake ---------------------------------------------------------------------------------------

def download(gateway: Gateway, day: date, *, now: datetime) -> bytes:
    """The day's file from the channel; b"" when the channel says there is no statement (no trade)."""
    published = datetime.combine(day + timedelta(days=1), PUBLISHED_AT[gateway.channel], tzinfo=BEIJING)
    if now < published:
        raise StatementNotYet(f"the {gateway.channel} statement for {day} is published after "
                              f"{published:%Y-%m-%d %H:%M} Beijing time")
    return gateway.statement_file(day) or b""


def read_file(channel: str, data: bytes, day: date, merchant: Merchant) -> StatementLines:
    """The checked lines of a statement file, or ``StatementInvalid``/``StatementRefused`` naming why."""
    if not data:
        return StatementLines(channel)
    if data[:2] == b"\x1f\x8b":  # WeChat Pay serves its bill gzipped
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError):
            raise StatementRefused("the file is a truncated gzip archive") from None
    lines = read_wechat_tradebill(data) if channel == "wechat" else StatementLines.of(channel, parse_alipay_bill(data))
    others = lines.merchant_ids - {merchant.merchant_id}
    if others:
        raise StatementRefused(f"the statement is merchant {', '.join(sorted(others))}'s, not ours ({merchant.merchant_id})")
    start, end = (instant.astimezone(UTC) for instant in day_bounds(day))
    if lines.ats and not (start <= min(lines.ats) and max(lines.ats) < end):
        index = next(i for i, at in enumerate(lines.ats) if not start <= at < end)
        raise StatementRefused(f"line {index + 1} ({lines.txn_ids[index]}) is dated {beijing_date(lines.ats[index])}, "
                               f"not {day}: a file for another day")
    return lines


def store(session: Session, channel: str, day: date, data: bytes, lines: StatementLines, *, merchant_id: str,
          source: str, now: datetime) -> bool:
    """Keep the statement and its lines; False if this very file was stored before (a rerun)."""
    digest = hashlib.sha256(data).hexdigest()
    statement = session.execute(select(Statement).where(Statement.channel == channel, Statement.day == day)).scalar()
    if statement is not None and statement.sha256 == digest:
        return False
    if statement is not None and statement.lines:
        if statement.lines == len(lines) and _same_lines(session, statement.id, lines):
            return False  # the same statement fetched again: Alipay stamps every download with its export time
        raise StatementRefused(f"another {channel} statement for {day} is already stored "
                               f"(SHA-256 {statement.sha256[:12]}…, this file {digest[:12]}…)")
    # new, or replacing a "no statement that day" answer (a channel late to publish says that too)
    statement = statement or Statement(channel=channel, day=day)
    statement.sqlmodel_update(dict(
        merchant_id=merchant_id, sha256=digest, source=source, lines=len(lines), paid_fen=lines.total("payment"),
        refunded_fen=lines.total("refund"), fee_millifen=sum(lines.fees), taken_at=now))
    session.add(statement)
    session.flush()
    db = session.connection()
    # a day has 86,400 seconds: a million lines share them, and each is converted once
    stamps = {at: timestamp_value(db, at) for at in set(lines.ats)}
    bulk_insert(db, StatementEntry.__table__,
                ["statement_id", "kind", "channel_txn_id", "out_trade_no", "refund_no", "amount_fen", "fee_millifen", "at"],
                zip(repeat(statement.id), lines.kinds, lines.txn_ids, lines.out_trade_nos, lines.refund_nos,
                    lines.amounts, lines.fees, map(stamps.__getitem__, lines.ats)))
    return True


def _same_lines(session: Session, statement_id: int, lines: StatementLines) -> bool:
    entries = StatementEntry.__table__
    stored = session.execute(select(entries.c.kind, entries.c.channel_txn_id, entries.c.out_trade_no, entries.c.refund_no,
                                    entries.c.amount_fen, entries.c.fee_millifen)
                             .where(entries.c.statement_id == statement_id)).all()
    return sorted(map(tuple, stored)) == sorted(zip(lines.kinds, lines.txn_ids, lines.out_trade_nos, lines.refund_nos,
                                                    lines.amounts, lines.fees))


# --- a channel's day --------------------------------------------------------------------------------

def reconcile(engine: Engine, gateway: Gateway | None, channel: str, day: date, *, merchant: Merchant, now: datetime,
              data: bytes | None = None) -> Reconciled:
    """Take in the day's statement (``data`` given, else downloaded), match it, keep the differences,
    heal what a query heals.  Rerunning a day changes nothing."""
    source = "file" if data is not None else "gateway"
    if data is None:
        if gateway is None:
            raise StatementRefused(f"{channel} is not configured: give the statement as a file")
        data = download(gateway, day, now=now)
    with _collector_paused():
        lines = read_file(channel, data, day, merchant)
        with unit_of_work(engine) as session:
            created = store(session, channel, day, data, lines, merchant_id=merchant.merchant_id, source=source, now=now)
            found = match(session, channel, day, lines)
            _record(session, channel, day, found.findings, now)
            _heal_matched(session, channel, found.matched, now)
    result = Reconciled(channel, day, len(lines), len(found.matched), waiting=found.waiting, rerun=not created)
    if gateway is not None:
        _heal_by_query(engine, gateway, channel, day, now)
    return _count(engine, result)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """A statement of a million lines is tens of millions of strings, lists and rows, none in a cycle:
    Python's cycle collector would walk them all again and again as they are made (half the time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _record(session: Session, channel: str, day: date, findings: list[Finding], now: datetime) -> None:
    if not findings:
        return
    claim = insert_ignoring_duplicates(session, Difference.__table__, ["channel", "kind", "ref"])
    session.execute(claim, [
        {"channel": channel, "day": day, "kind": finding.kind, "ref": finding.ref, "out_trade_no": finding.out_trade_no,
         "amount_fen": finding.amount_fen, "evidence": json.dumps(evidence(session, channel, finding), ensure_ascii=False,
                                                                  default=str),
         "status": OPEN, "found_at": now, "healed_at": None, "resolution": ""}
        for finding in findings])


def _heal_matched(session: Session, channel: str, matched: set[str], now: datetime) -> None:
    """An open difference whose line now matches (the notification came late, the channel's file was
    published late) is healed."""
    open_refs = session.execute(select(Difference.id, Difference.ref).where(
        Difference.channel == channel, Difference.status == OPEN, Difference.kind.in_((*HEALABLE, LEDGER_ONLY)))).all()
    healed = [row.id for row in open_refs if row.ref in matched]
    if healed:
        session.execute(update(Difference).where(Difference.id.in_(healed))
                        .values(status=HEALED, healed_at=now, resolution="matched since (a late notification or file)"))


def _heal_by_query(engine: Engine, gateway: Gateway, channel: str, day: date, now: datetime) -> None:
    """长款: ask the channel about each open order of the day (``heal_by_query``)."""
    with read_session(engine) as session:
        todo = session.execute(select(Difference.id).where(
            Difference.channel == channel, Difference.day == day, Difference.status == OPEN,
            Difference.kind.in_(HEALABLE), Difference.out_trade_no != "")).scalars().all()
    for difference_id in todo:
        try:
            heal_by_query(engine, gateway, difference_id, now=now)
        except GatewayError:
            continue


def heal_by_query(engine: Engine, gateway: Gateway, difference_id: int, *, now: datetime) -> bool:
    """Ask the channel about a 长款's order and book its answer through ``settle`` (idempotent by the
    transaction id); healed once the money is on a balance.  A report settle holds (an amount that
    still does not add up: ``exists`` for an inconsistency already recorded) leaves it open, for
    its incident to decide.  A channel that cannot answer raises ``GatewayError``."""
    with read_session(engine) as session:
        difference = session.get(Difference, difference_id)
    if difference is None or difference.status != OPEN or difference.kind not in HEALABLE or not difference.out_trade_no:
        return False
    report = gateway.query(difference.out_trade_no)
    if report.channel_txn_id != difference.ref:  # the query speaks of another transaction (or a refund line)
        return False
    with unit_of_work(engine) as session:
        outcome = settle(session, report, gateway.merchant, now=now).outcome
        if outcome not in ("credited", "exists", "duplicate") or not _on_a_balance(session, report):
            return False
        healed = session.execute(update(Difference).where(Difference.id == difference_id, Difference.status == OPEN)
                                 .values(status=HEALED, healed_at=now,
                                         resolution=f"queried and settled: {outcome} ({report.channel_txn_id})"))
        return healed.rowcount == 1


def _on_a_balance(session: Session, report: PaymentReport) -> bool:
    """Whether the reported transaction's money was credited (not held as an incident)."""
    outcome = session.execute(select(ChannelPayment.outcome).where(
        ChannelPayment.channel == report.channel, ChannelPayment.channel_txn_id == report.channel_txn_id)).scalar()
    return outcome in (CREDITED, DUPLICATE)


def _count(engine: Engine, result: Reconciled) -> Reconciled:
    with read_session(engine) as session:
        rows = session.execute(select(Difference.kind, Difference.status, func.count()).where(
            Difference.channel == result.channel, Difference.day == result.day)
            .group_by(Difference.kind, Difference.status)).all()
    for kind, status, count in rows:
        result.found[kind] += count
        result.healed += count if status == HEALED else 0
    return result


# --- evidence ---------------------------------------------------------------------------------------

def evidence(session: Session, channel: str, finding: Finding) -> dict:
    """What finance needs to decide: the line, the order, its transfers and what the channel told us when."""
    line = finding.line
    order = session.execute(select(PaymentOrder).where(PaymentOrder.out_trade_no == finding.out_trade_no)).scalar()
    reports = session.execute(select(ChannelPayment).where(
        ChannelPayment.channel == channel,
        (ChannelPayment.out_trade_no == finding.out_trade_no) | (ChannelPayment.channel_txn_id == finding.ref))).scalars()
    keys = [f"pay:{channel}:{finding.ref}", f"refund:{finding.ref}"]
    about = Transfer.key.in_(keys)
    if finding.out_trade_no:  # and whatever was posted for the order (a bulk payment's 户号)
        about = about | (Transfer.memo == finding.out_trade_no)
    transfers = session.execute(select(Transfer).where(about).order_by(Transfer.id)).scalars()
    return {
        "statement_line": None if line is None else {
            "kind": line.kind, "channel_txn_id": line.channel_txn_id, "out_trade_no": line.out_trade_no,
            "refund_no": line.refund_no, "amount_fen": line.amount_fen, "fee_millifen": line.fee_millifen,
            "at": line.at.isoformat()},
        "order": None if order is None else {
            "out_trade_no": order.out_trade_no, "state": order.state, "amount_fen": order.amount_fen,
            "created_at": order.created_at, "paid_at": order.paid_at, "channel_txn_id": order.channel_txn_id},
        "transfers": [{"key": t.key, "amount_fen": t.amount_fen, "code": t.code, "posted_at": t.posted_at}
                      for t in transfers],
        "notifications": [{"channel_txn_id": p.channel_txn_id, "source": p.source, "amount_fen": p.amount_fen,
                           "at": p.paid_at, "outcome": p.outcome} for p in reports],
    }


# --- the counter ------------------------------------------------------------------------------------

def reconcile_counter(engine: Engine, day: date, *, now: datetime) -> Reconciled:
    """The counter's day: every cashier who took money has closed the drawer (else not yet); each
    close's expected cash agrees with the ledger, and the counted cash with the expected."""
    with unit_of_work(engine) as session:
        takings = _counter_takings(session, day)
        closes = {close.cashier_id: close for close in session.execute(
            select(CashClose).where(CashClose.day == day)).scalars()}
        open_drawers = sorted(set(takings) - set(closes))
        if open_drawers:
            raise StatementNotYet(f"the counter's day {day} is not closed: cashier(s) "
                                  f"{', '.join(map(str, open_drawers))} have not counted their drawer")
        data = json.dumps([[c.cashier_id, c.expected_fen, c.counted_fen, c.card_fen] for c in
                           sorted(closes.values(), key=lambda c: c.cashier_id)]).encode()
        lines = StatementLines.of(COUNTER, [
            StatementLine(COUNTER, "payment", f"drawer:{c.cashier_id}:{day}", "", c.counted_fen + c.card_fen, 0,
                          c.closed_at) for c in closes.values()])
        created = store(session, COUNTER, day, data, lines, merchant_id="", source="counter", now=now)
        findings = [finding for close in closes.values() for finding in _drawer_findings(close, takings, day)]
        _record(session, COUNTER, day, findings, now)
    result = Reconciled(COUNTER, day, len(lines), len(closes) - len({f.ref for f in findings}), rerun=not created)
    return _count(engine, result)


def _counter_takings(session: Session, day: date) -> dict[int, dict[str, int]]:
    """Per cashier: cash and card the ledger received at the counter that day (its ``counter:`` postings)."""
    start, end = day_bounds(day)
    orders, transfers = PaymentOrder.__table__, Transfer.__table__
    rows = session.execute(
        select(orders.c.cashier_id, orders.c.scene, func.sum(transfers.c.amount_fen))
        .join(transfers, transfers.c.memo == orders.c.out_trade_no)
        .where(orders.c.channel == COUNTER, orders.c.paid_at >= start, orders.c.paid_at < end,
               transfers.c.key.like("counter:%"))
        .group_by(orders.c.cashier_id, orders.c.scene))
    takings: dict[int, dict[str, int]] = {}
    for cashier_id, scene, fen in rows:
        takings.setdefault(cashier_id, {})[scene] = int(fen)
    return takings


def _drawer_findings(close: CashClose, takings: dict[int, dict[str, int]], day: date) -> list[Finding]:
    ref = f"drawer:{close.cashier_id}:{day}"
    posted = takings.get(close.cashier_id, {})
    if (close.expected_fen, close.card_fen) != (posted.get("cash", 0), posted.get("card", 0)):
        return [Finding(AMOUNT_MISMATCH, ref, "", close.expected_fen + close.card_fen)]
    if close.difference_fen > 0:  # more cash in the drawer than the ledger took: 长款
        return [Finding(CHANNEL_ONLY, ref, "", close.difference_fen)]
    if close.difference_fen < 0:
        return [Finding(LEDGER_ONLY, ref, "", -close.difference_fen)]
    return []
