"""核销 of a 对账 difference, four eyes: one member of finance asks, another approves or rejects.

    requested -> approved | rejected   (a rejected write-off may be asked for again)

Only money nobody can place is written off, and only in full:

- 短款 (``ledger_only``): we booked a payment the channel never took; ``write-off:<id>`` moves it
  from the channel's clearing (the money that will never arrive) to ``expense:write_off``;
- 长款 (``channel_only``): the channel took money that no order or 户号 claims; it is booked into
  clearing (where the channel's settlement will put it) against ``revenue:unclaimed``.

Money we hold as a payment incident (in suspense) is decided by its incident, and a refund line by
its refund: neither is written off.  The ledger moves only on approval; asking, approving and
rejecting are audited, and whoever asked cannot approve (the table's CHECK says so too).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, select, update
from sqlmodel import Field, Session

from billing import four_eyes, ledger
from billing.audit import audit
from billing.errors import InvalidInput, require_text
from billing.four_eyes import REQUESTED, FourEyes, checks, locked
from billing.ledger import Posting
from payments.errors import DifferenceClosed, WriteOffNotAllowed
from payments.orders import ChannelPayment
from payments.reconciliation_records import CHANNEL_ONLY, LEDGER_ONLY, OPEN, WRITTEN_OFF, Difference
from payments.refunds import Refund

MAX_REASON = 400
EXPENSE, UNCLAIMED = "expense:write_off", "revenue:unclaimed"
WRITABLE = (LEDGER_ONLY, CHANNEL_ONLY)


class WriteOff(FourEyes, table=True):
    __tablename__ = "write_off"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"), *checks())

    id: int | None = Field(default=None, primary_key=True)
    difference_id: int = Field(foreign_key="reconciliation_difference.id", unique=True)
    amount_fen: int = Field(sa_type=BigInteger)
    reason: str = Field(max_length=MAX_REASON)


def open_difference(session: Session, difference_id: int) -> Difference:
    """The difference, locked, if it is still open; else the reason, naming the field."""
    difference = locked(session, Difference, difference_id, field="difference_id", what="difference")
    if difference.status != OPEN:
        raise DifferenceClosed(f"difference {difference.id} is {difference.status}", field="difference_id")
    return difference


def request(session: Session, difference_id: int, *, amount_fen: int, reason: str, staff_id: int,
            now: datetime) -> WriteOff:
    """Ask for a difference to be written off in full, with a reason; one request at a time."""
    reason = require_text(reason, "write_off_reason", "a write-off's reason", MAX_REASON)
    difference = open_difference(session, difference_id)
    _require_writable(session, difference)
    if amount_fen != difference.amount_fen:
        raise InvalidInput("write_off_amount", f"a write-off is of the whole difference, {difference.amount_fen} fen",
                           difference_fen=difference.amount_fen)
    write_off = of_difference(session, difference.id)
    if write_off is not None and write_off.status == REQUESTED:
        raise WriteOffNotAllowed(f"difference {difference.id} already waits for a write-off decision", field="state")
    before = None if write_off is None else _snapshot(write_off)
    write_off = write_off or WriteOff(difference_id=difference.id)  # asked again after a rejection: the same row
    write_off.sqlmodel_update(dict(amount_fen=amount_fen, reason=reason, status=REQUESTED, requested_by=staff_id,
                                   requested_at=now, approved_by=None, approved_at=None))
    session.add(write_off)
    session.flush()
    audit(session, staff_id=staff_id, action="request_write_off", target=f"difference:{difference.id}", at=now,
          before=before, after=_snapshot(write_off))
    return write_off


def decide(session: Session, write_off_id: int, *, staff_id: int, approve: bool, now: datetime) -> WriteOff:
    """Approve (post the write-off, close the difference) or reject; never one's own request."""
    return four_eyes.decide(session, _KIND, write_off_id, staff_id=staff_id, approve=approve, now=now)


def waiting(session: Session, limit: int = 200) -> list[WriteOff]:
    return list(session.execute(select(WriteOff).where(WriteOff.status == REQUESTED).order_by(WriteOff.id)
                                .limit(limit)).scalars())


def of_difference(session: Session, difference_id: int) -> WriteOff | None:
    return session.execute(select(WriteOff).where(WriteOff.difference_id == difference_id)).scalar()


def _require_writable(session: Session, difference: Difference) -> None:
    if difference.kind not in WRITABLE:
        raise WriteOffNotAllowed(f"a {difference.kind} difference is healed or refunded, not written off", field="kind")
    if difference.on_refund_line or session.execute(select(Refund.id).where(Refund.refund_no == difference.ref)).first():
        raise WriteOffNotAllowed("a refund's difference is settled by the refund", field="kind")
    held = session.execute(select(ChannelPayment.id).where(
        ChannelPayment.channel == difference.channel, ChannelPayment.channel_txn_id == difference.ref,
        ChannelPayment.outcome == "held")).first()
    if difference.kind == CHANNEL_ONLY and held is not None:
        raise WriteOffNotAllowed("the money is held as a payment incident: decide the incident", field="incident")


def _post(session: Session, write_off: WriteOff, now: datetime) -> None:
    difference = open_difference(session, write_off.difference_id)
    _require_writable(session, difference)  # the books may have moved since it was asked for
    clearing = f"clearing:{difference.channel}"
    debit, credit = (EXPENSE, clearing) if difference.kind == LEDGER_ONLY else (clearing, UNCLAIMED)
    ledger.post(session, Posting(f"write-off:{write_off.id}", debit, credit, write_off.amount_fen, "write_off",
                                 f"{difference.kind} {difference.ref}"[:200]), at=now)
    session.execute(update(Difference).where(Difference.id == difference.id).values(
        status=WRITTEN_OFF, healed_at=now, resolution=f"written off ({write_off.id}): {write_off.reason}"[:200]))


def _snapshot(write_off: WriteOff) -> dict:
    return {"status": write_off.status, "difference_id": write_off.difference_id, "amount_fen": write_off.amount_fen,
            "reason": write_off.reason}


_KIND = four_eyes.Kind(WriteOff, "write-off", "write_off_id", "write_off", WriteOffNotAllowed,
                       lambda session, write_off: f"difference:{write_off.difference_id}", _snapshot, _post)
