"""The exceptions queue: finance works each open 对账 difference to an end, oldest first.

Actions, each audited under ``difference:<id>`` with who and when:

- heal: ask the channel about the order and settle its answer, the very path reconciliation takes
  for a 长款 (``reconciliation.heal_by_query``); healed only once the money is on a balance;
- refund: a second payment of one order, or money taken for an order we had closed, goes back to
  the payer through the refund path (``payments.refunds``: proposed, approved by a second person,
  sent, confirmed); the difference keeps the refund's number and is refunded once the channel
  confirms it (``follow_refunds``);
- write off: asked for here, approved by a second person (``payments.write_offs``);
- note: free text for whoever looks next.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from billing.audit import AuditEntry, audit
from billing.db import unit_of_work
from billing.errors import InvalidInput, NotFound, require_text
from billing.review_queue import MAX_ID
from billing.staff import StaffUser
from payments import refunds
from payments.errors import PaymentError, RefundNotAllowed
from payments.gateways.base import Gateway
from payments.orders import ChannelPayment
from payments.reconciliation import HEALABLE, heal_by_query
from payments.reconciliation_records import (
    CLASSES, DUPLICATE_PAYMENT, OPEN, STATUS_MISMATCH, STATUSES, Difference, close_refunded,
)
from payments.write_offs import open_difference

MAX_NOTE = 400
SHOWN = 200
REFUNDABLE = (DUPLICATE_PAYMENT, STATUS_MISMATCH)  # money the payer gave twice, or for an order we had closed


class NotHealed(PaymentError):
    """The channel's answer does not place the money: the difference stays open."""

    code = "not_healed"


@dataclass(frozen=True)
class Filter:
    """Which differences to list; None is any.  Open ones unless asked otherwise."""

    day: date | None = None
    channel: str | None = None
    kind: str | None = None
    status: str | None = OPEN

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in CLASSES:
            raise InvalidInput("kind", f"one of {', '.join(CLASSES)}")
        if self.status is not None and self.status not in STATUSES:
            raise InvalidInput("status", f"one of {', '.join(STATUSES)}")

    def where(self) -> list:
        wanted = {Difference.day: self.day, Difference.channel: self.channel, Difference.kind: self.kind,
                  Difference.status: self.status}
        return [column == value for column, value in wanted.items() if value is not None]


@dataclass(frozen=True)
class Group:
    day: date
    channel: str
    kind: str
    count: int
    amount_fen: int


def queue(session: Session, wanted: Filter, limit: int = SHOWN) -> list[Difference]:
    """The differences wanted, oldest day first."""
    return list(session.execute(select(Difference).where(*wanted.where())
                                .order_by(Difference.day, Difference.id).limit(limit)).scalars())


def groups(session: Session, wanted: Filter) -> list[Group]:
    """How many of the wanted differences there are per day, channel and class, oldest day first."""
    rows = session.execute(select(Difference.day, Difference.channel, Difference.kind, func.count(),
                                  func.coalesce(func.sum(Difference.amount_fen), 0))
                           .where(*wanted.where()).group_by(Difference.day, Difference.channel, Difference.kind)
                           .order_by(Difference.day, Difference.channel, Difference.kind))
    return [Group(day, channel, kind, count, int(fen)) for day, channel, kind, count, fen in rows]


def open_count(session: Session) -> int:
    return session.execute(select(func.count()).where(Difference.status == OPEN)).scalar()


def get(session: Session, difference_id: int) -> Difference:
    known = isinstance(difference_id, int) and 0 < difference_id <= MAX_ID  # ids are INTEGER
    difference = session.get(Difference, difference_id) if known else None
    if difference is None:
        raise NotFound(f"no difference {difference_id}", field="difference_id")
    return difference


def trail(session: Session, difference_id: int) -> list[tuple[AuditEntry, str]]:
    """What staff did about a difference, with their names, in order."""
    return [tuple(row) for row in session.execute(
        select(AuditEntry, StaffUser.name).join(StaffUser, StaffUser.id == AuditEntry.staff_id)
        .where(AuditEntry.target == f"difference:{difference_id}").order_by(AuditEntry.id))]


# --- actions ---------------------------------------------------------------------------------------

def heal(engine: Engine, gateways: dict[str, Gateway], difference_id: int, *, staff_id: int, now: datetime) -> None:
    """Query the order and settle the answer; ``NotHealed`` if that does not place the money."""
    with unit_of_work(engine) as session:
        difference = open_difference(session, difference_id)
        if difference.kind not in HEALABLE or not difference.out_trade_no or difference.on_refund_line:
            raise NotHealed(f"a {difference.kind} difference is not healed by a query", field="kind")
        if difference.channel not in gateways:
            raise RefundNotAllowed(f"{difference.channel} is not configured here", field="channel")
    if not heal_by_query(engine, gateways[difference.channel], difference_id, now=now):
        raise NotHealed("the channel's answer does not put the money on a balance", field="query")
    with unit_of_work(engine) as session:
        audit(session, staff_id=staff_id, action="heal_difference", target=f"difference:{difference_id}", at=now,
              before={"status": OPEN}, after={"status": session.get(Difference, difference_id).status})


def refund(session: Session, difference_id: int, *, staff_id: int, now: datetime) -> refunds.Refund:
    """Send the money of a second payment (or of a closed order) back: the refund already proposed
    for it, else a new request; a second person approves it on the refunds page."""
    difference = open_difference(session, difference_id)
    if difference.kind not in REFUNDABLE or difference.on_refund_line:  # a refund line waits for its refund
        raise RefundNotAllowed(f"a {difference.kind} difference is not refunded from here", field="kind")
    payment = session.execute(select(ChannelPayment).where(
        ChannelPayment.channel == difference.channel, ChannelPayment.channel_txn_id == difference.ref)).scalar()
    if payment is None:
        raise RefundNotAllowed("the payment is not booked yet: heal it first", field="query")
    live = session.execute(select(refunds.Refund).where(refunds.Refund.channel_payment_id == payment.id,
                                                        refunds.Refund.state.in_(refunds.LIVE))).scalar()
    reason = refunds.DUPLICATE_PAYMENT if difference.kind == DUPLICATE_PAYMENT else refunds.OVERPAYMENT
    chosen = live or refunds.request(session, staff_id=staff_id, payment=payment,
                                     amount_fen=refunds.refundable_fen(session, payment), reason=reason,
                                     note=f"对账 difference {difference.id}", now=now)
    before = {"refund_no": difference.refund_no}
    difference.refund_no = chosen.refund_no
    session.add(difference)
    audit(session, staff_id=staff_id, action="refund_difference", target=f"difference:{difference.id}", at=now,
          before=before, after={"refund_no": chosen.refund_no, "refund_state": chosen.state})
    follow_refunds(session, now)
    return chosen


def follow_refunds(session: Session, now: datetime) -> int:
    """Open differences whose refund the channel had confirmed before it was linked are refunded."""
    linked = session.execute(select(Difference.refund_no).where(Difference.status == OPEN, Difference.refund_no != ""))
    confirmed = session.execute(select(refunds.Refund.refund_no).where(
        refunds.Refund.refund_no.in_(linked.scalars().all()), refunds.Refund.state == refunds.SUCCEEDED))
    return close_refunded(session, confirmed.scalars().all(), now)


def note(session: Session, difference_id: int, *, text: str, staff_id: int, now: datetime) -> None:
    text = require_text(text, "note", "a note", MAX_NOTE)
    difference = get(session, difference_id)
    audit(session, staff_id=staff_id, action="note_difference", target=f"difference:{difference.id}", at=now,
          after={"note": text})
