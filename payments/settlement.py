"""``settle``: the one place where a channel's word about a payment changes our books.

Notifications, queries (``payments sync``, the return page) and statements all end here:

1. lock the order (a duplicate notification racing the first waits, then sees it settled);
2. a channel transaction we have seen before is a no-op (``exists``);
3. a verified but inconsistent report (unknown order, another merchant's app id or merchant id,
   another channel, a different amount) becomes an incident and credits nothing (``held``);
4. a second real payment of an order that is already paid (one QR code, two phones) is real
   money: it is credited to the same balance and a refund is proposed to staff (``duplicate``);
5. otherwise the order becomes paid and the money is posted: clearing -> customer, or for a
   property manager clearing -> manager float -> each 户号, all in the caller's transaction,
   with ``payment_posted`` events.

A callback never "pays a bill"; it credits a balance, and which bills count as paid follows from
the balance.  Every transfer is keyed by the channel's transaction id, so nothing can post twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, bindparam, insert, select, update
from sqlmodel import Session

from billing import allocation, bad_debt_recovery, events, late_fee_posting, ledger
from billing.accounts import Account
from billing.db import insert_ignoring_duplicates
from billing.incidents import OPEN, Incident, record_incident, resolve_incident
from billing.ledger import LedgerAccount, Posting
from payments import refunds, suspense
from payments.gateways.base import CLOSED as REPORT_CLOSED, FAILED as REPORT_FAILED, PAID as REPORT_PAID
from payments.gateways.base import Merchant, PaymentReport
from payments.orders import (
    BULK, CLOSED, CREATED, CREDITED, DUPLICATE, FAILED, HELD, PAID, PAYING, TRANSITIONS, ChannelPayment, OrderLine,
    PaymentOrder, transition,
)

# Every notification runs these, inside the write transaction: built once, executed with parameters.
_orders, _payments, _lines, _accounts = (
    PaymentOrder.__table__, ChannelPayment.__table__, OrderLine.__table__, Account.__table__)
_ORDER = select(_orders).where(_orders.c.out_trade_no == bindparam("out_trade_no")).with_for_update()
_SEEN = select(_payments.c.id, _payments.c.order_id, _payments.c.outcome, _payments.c.incident_id).where(
    _payments.c.channel == bindparam("channel"), _payments.c.channel_txn_id == bindparam("txn"))
_MARK_PAID = update(_orders).where(
    _orders.c.id == bindparam("order_id"), _orders.c.state.in_([s for s, nexts in TRANSITIONS.items() if PAID in nexts])
).values(state=PAID, channel_txn_id=bindparam("txn"), paid_at=bindparam("at"))
_RECORD = insert(_payments).returning(_payments.c.id)
_ledger = LedgerAccount.__table__
# The 户号 paid for, with the ledger ids a credit needs: the customer's and the channel's clearing.
_LINES = (select(_accounts.c.id, _accounts.c.account_no, _lines.c.amount_fen, _ledger.c.id.label("ledger_id"),
                 select(_ledger.c.id).where(_ledger.c.code == bindparam("clearing")).scalar_subquery().label("clearing_id"))
          .join(_lines, _lines.c.account_id == _accounts.c.id)
          .join(_ledger, _ledger.c.account_id == _accounts.c.id)
          .where(_lines.c.order_id == bindparam("order_id")).order_by(_accounts.c.account_no))

# The receipt's "balance after": set once, by the first credit of the line (a second payment of the
# same order, or held money credited later, leaves the receipt as it was).
_BALANCE_AFTER = update(_lines).where(
    _lines.c.order_id == select(_orders.c.id).where(_orders.c.out_trade_no == bindparam("out_trade_no")).scalar_subquery(),
    _lines.c.account_id == bindparam("line_account"), _lines.c.balance_after_fen.is_(None),
).values(balance_after_fen=bindparam("balance"))


@dataclass(frozen=True)
class Settled:
    outcome: str  # credited | exists | duplicate | held | pending | closed | failed | unknown
    order_id: int | None = None
    incident_id: int | None = None


def settle(session: Session, report: PaymentReport, merchant: Merchant, *, now: datetime) -> Settled:
    db = session.connection()
    order = db.execute(_ORDER, {"out_trade_no": report.out_trade_no}).first()
    if report.status != REPORT_PAID:
        return _not_paid(session, order, report, now)
    seen = db.execute(_SEEN, {"channel": report.channel, "txn": report.channel_txn_id}).first()
    problem = _problem(order, report, merchant)
    if seen is not None and problem:
        return _seen_inconsistent(session, seen, order, report, problem, now)
    if seen is not None and seen.outcome != HELD:
        return Settled("exists", seen.order_id, seen.incident_id)
    if problem:
        return _hold(session, order, report, problem, now)
    if seen is not None and refunds.sending_back(session, seen.id):  # finance decided to return it: it stays so
        return Settled("exists", seen.order_id, seen.incident_id)
    if seen is not None:  # held earlier on a report that did not add up; this one does
        _release(session, seen, report, now)
    if order.state == PAID:
        return _second_payment(session, order, report, now, seen)
    db.execute(_MARK_PAID, {"order_id": order.id, "txn": report.channel_txn_id, "at": report.paid_at or now})
    _record(session, order, report, CREDITED, now, seen)
    _post(session, order, report, now, allocate=True)
    return Settled("credited", order.id)


def _not_paid(session: Session, order: Row | None, report: PaymentReport, now: datetime) -> Settled:
    if order is None:
        return Settled("unknown")
    target = {REPORT_CLOSED: CLOSED, REPORT_FAILED: FAILED}.get(report.status)
    state = order.state
    if target and state in (CREATED, PAYING):
        transition(session.get(PaymentOrder, order.id), target, now)
        state = target
    return Settled("pending" if state in (CREATED, PAYING) else state, order.id)


PROBLEMS = ("wrong_merchant", "unknown_order", "wrong_channel", "amount_mismatch")  # what _problem finds


def _problem(order: Row | None, report: PaymentReport, merchant: Merchant) -> str | None:
    if (report.app_id, report.merchant_id) != (merchant.app_id, merchant.merchant_id):
        return "wrong_merchant"
    if order is None:
        return "unknown_order"
    if order.channel != report.channel:
        return "wrong_channel"
    if order.amount_fen != report.amount_fen:
        return "amount_mismatch"
    return None


def _hold(session: Session, order: Row | None, report: PaymentReport, problem: str, now: datetime) -> Settled:
    """Verified money we cannot place: an incident for staff and the money in suspense until they
    decide (another merchant's money is not ours and is not booked)."""
    claim = insert_ignoring_duplicates(session, _payments, ["channel", "channel_txn_id"], returning="id")
    claimed = session.execute(claim, _payment_values(order, report, HELD, now)).scalar()
    if claimed is None:  # the same report, held by a concurrent delivery a moment ago
        return Settled("exists", order.id if order else None)
    incident = _open_incident(session, order, report, problem, now)
    session.get(ChannelPayment, claimed).incident_id = incident.id
    if problem != "wrong_merchant":
        suspense.hold(session, channel=report.channel, txn=report.channel_txn_id, amount_fen=report.amount_fen,
                      memo=f"{problem} {report.out_trade_no}", now=now)
    return Settled("held", order.id if order else None, incident.id)


# What makes two reports of one transaction the same inconsistency (deliveries are retried).
_INCONSISTENCY = ("problem", "out_trade_no", "reported_fen", "app_id", "merchant_id")


def _inconsistency(order: Row | None, report: PaymentReport, problem: str) -> dict:
    return {
        "problem": problem, "out_trade_no": report.out_trade_no, "channel_txn_id": report.channel_txn_id,
        "reported_fen": report.amount_fen, "order_fen": order.amount_fen if order else None,
        "app_id": report.app_id, "merchant_id": report.merchant_id, "source": report.source,
    }


def _open_incident(session: Session, order: Row | None, report: PaymentReport, problem: str, now: datetime) -> Incident:
    ref = f"{report.channel}:{report.channel_txn_id}"
    incident = record_incident(session, kind=problem, ref=ref, detail=_inconsistency(order, report, problem), at=now)
    events.emit(session, events.INCIDENT_OPENED, at=now, incident_id=incident.id, problem=problem, ref=ref)
    return incident


def _seen_inconsistent(session: Session, seen: Row, order: Row | None, report: PaymentReport, problem: str,
                       now: datetime) -> Settled:
    """A verified report of a transaction we already know, that does not add up: each distinct
    inconsistency gets its own incident (staff must see that the channel changed its story); a
    repeat of one already recorded is a retried delivery and changes nothing."""
    session.execute(select(_payments.c.id).where(_payments.c.id == seen.id).with_for_update())  # one at a time
    wanted = _inconsistency(order, report, problem)
    recorded = session.execute(select(Incident.detail).where(Incident.ref == f"{report.channel}:{report.channel_txn_id}"))
    if any({key: json.loads(detail).get(key) for key in _INCONSISTENCY} == {key: wanted[key] for key in _INCONSISTENCY}
           for (detail,) in recorded):
        return Settled("exists", seen.order_id, seen.incident_id)
    return Settled("held", seen.order_id, _open_incident(session, order, report, problem, now).id)


def _release(session: Session, held: Row, report: PaymentReport, now: datetime) -> None:
    """A consistent report of a transaction that was held: its incidents are closed by the system.

    Transaction ids are the channel's; a verified report that adds up is the truth about it."""
    incidents = session.execute(select(Incident).where(
        Incident.ref == f"{report.channel}:{report.channel_txn_id}", Incident.kind.in_(PROBLEMS),
        Incident.status == OPEN)).scalars().all()
    for incident in incidents:
        resolve_incident(session, incident, staff_id=None, at=now,
                         resolution=f"superseded by a consistent {report.source} report")
    suspense.release(session, channel=report.channel, txn=report.channel_txn_id, now=now)


def _second_payment(session: Session, order: Row, report: PaymentReport, now: datetime, seen: Row | None) -> Settled:
    """Real money paid a second time for one order: credit it, and offer it back for refund."""
    payment = session.get(ChannelPayment, _record(session, order, report, DUPLICATE, now, seen))
    target = _post(session, order, report, now, allocate=False)
    detail = {"problem": "duplicate_payment", "out_trade_no": order.out_trade_no,
              "first_txn": order.channel_txn_id, "second_txn": report.channel_txn_id, "amount_fen": report.amount_fen}
    incident = record_incident(session, kind="duplicate_payment", ref=f"{report.channel}:{report.channel_txn_id}",
                               detail=detail, at=now)
    payment.incident_id = incident.id
    refunds.propose(session, payment=payment, order=order, debit_code=target, amount_fen=report.amount_fen,
                    reason=refunds.DUPLICATE_PAYMENT, note=f"second payment {report.channel_txn_id}", now=now)
    events.emit(session, events.INCIDENT_OPENED, at=now, incident_id=incident.id, problem="duplicate_payment",
                ref=incident.ref)
    return Settled("duplicate", order.id, incident.id)


def _payment_values(order: Row | None, report: PaymentReport, outcome: str, now: datetime) -> dict:
    return {
        "channel": report.channel, "channel_txn_id": report.channel_txn_id, "out_trade_no": report.out_trade_no,
        "order_id": order.id if order else None, "amount_fen": report.amount_fen, "payer": report.payer[:128],
        "paid_at": report.paid_at or now, "source": report.source, "outcome": outcome, "incident_id": None,
    }


def _record(session: Session, order: Row, report: PaymentReport, outcome: str, now: datetime,
            held: Row | None = None) -> int:
    """The channel payment as we booked it; a held record of the same transaction is reused."""
    values = _payment_values(order, report, outcome, now)
    db = session.connection()
    if held is None:
        return db.execute(_RECORD, values).scalar()
    values.pop("incident_id")
    db.execute(update(_payments).where(_payments.c.id == held.id).values(values))
    return held.id


def _post(session: Session, order: Row, report: PaymentReport, now: datetime, *, allocate: bool) -> str:
    """Post the payment; returns the ledger account that received it (customer or manager float)."""
    clearing = f"clearing:{report.channel}"
    key = f"pay:{report.channel}:{report.channel_txn_id}"
    lines = session.connection().execute(_LINES, {"order_id": order.id, "clearing": clearing}).all()
    if order.purpose != BULK:
        (account,) = lines
        known = {ledger.customer_code(account.account_no): account.ledger_id, clearing: account.clearing_id}
        credit_account(session, key=key, source=clearing, account=account, amount_fen=report.amount_fen,
                       code="payment", channel=report.channel, out_trade_no=order.out_trade_no, now=now,
                       known_ids=known)
        return ledger.customer_code(account.account_no)
    target = ledger.manager_code(order.manager_id)
    ledger.ensure_ledger_account(session, target, ledger.LIABILITY)
    ledger.post(session, Posting(key, clearing, target, report.amount_fen, "payment", order.out_trade_no), at=now)
    if allocate:
        for account in lines:
            credit_account(session, key=f"bulk:{order.out_trade_no}:{account.account_no}", source=target,
                           account=account, amount_fen=account.amount_fen, code="bulk", channel=report.channel,
                           out_trade_no=order.out_trade_no, now=now)
    return target


def credit_account(session: Session, *, key: str, source: str, account: Account | Row, amount_fen: int, code: str,
                   channel: str, out_trade_no: str, now: datetime, known_ids: dict[str, int] | None = None) -> None:
    """Money onto a 户号's balance, with the ``payment_posted`` event that tells the resident; a
    payment into arrears posts the late fee of each overdue bill it completed; credit left on a
    written-off account recovers the bad debt (``billing.bad_debt_recovery``).

    ``account`` is anything with ``id`` and ``account_no`` (a model or a row)."""
    posted = allocation.post(session, Posting(key, source, ledger.customer_code(account.account_no), amount_fen, code,
                                              out_trade_no), at=now, known_ids=known_ids)
    if posted.created:
        balance = posted.credit_balance_fen - bad_debt_recovery.after_payment(
            session, account_id=account.id, account_no=account.account_no, payment_transfer_id=posted.transfer_id,
            balance_fen=posted.credit_balance_fen, now=now)
        session.connection().execute(_BALANCE_AFTER, {"out_trade_no": out_trade_no, "line_account": account.id,
                                                      "balance": balance})
        events.emit(session, events.PAYMENT_POSTED, at=now, account_id=account.id, account_no=account.account_no,
                    amount_fen=amount_fen, channel=channel, out_trade_no=out_trade_no, balance_fen=balance)
    if posted.created and posted.credit_balance_fen - amount_fen < 0:  # it paid arrears: maybe an overdue bill in full
        late_fee_posting.post_paid_in_full(session, account.id, now=now)
