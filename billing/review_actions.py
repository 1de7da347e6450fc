"""What a reviewer does with an item of the review queue (复核); every action is audit-logged
(who, when, the read before, the read after, the reason) against ``review:<item id>``.

- accept: the read held that day stands (an optional note).
- correct: a new register value and a mandatory reason, written as a ``corrected`` read that
  supersedes the one held that day.  It keeps the original read's ``reader_id``: the read is still
  that reader's visit, and the error counts against it; the reviewer is the item's ``resolved_by``
  and is in the audit.  Refused, naming the read, if use against the neighbouring valid reads of
  the meter would become negative.
- reread: assign the item to a reader; it stays open until the reader's new read arrives and the
  reader's page calls ``reread_done``.
- estimate: replace the read held that day with an estimate (``billing.estimation``), refused like
  a correction if it would make use negative.

A decision records the read it left valid (``result_read_id``): error assessment follows it.
Bill holds (a later kind of item) bring their own actions; ``actions_for`` says which apply.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, select

from billing.audit import audit
from billing.errors import BillingError, InvalidInput
from billing import estimation
from billing.kwh import format_kwh
from billing.meters import valid_read
from billing.reads import CORRECTED, ESTIMATED, REGISTERS, VALID, NewRead, Read, record_read
from billing.review import OPEN, READ_FINDING, RESOLVED, ReviewItem
from billing.review_queue import find_item
from billing.staff import StaffRole, StaffUser

ACCEPT, CORRECT, REREAD, ESTIMATE = "accept", "correct", "reread", "estimate"
READ_ACTIONS = (ACCEPT, CORRECT, REREAD, ESTIMATE)


class ItemNotOpen(BillingError):
    """Someone already decided this item (or it is waiting for nobody): nothing was changed."""

    code = "review_item_closed"


class NegativeUse(BillingError):
    """The value would make the meter's use negative against a neighbouring valid read."""


class BelowPreviousRead(NegativeUse):
    code = "below_previous_read"


class AboveNextRead(NegativeUse):
    code = "above_next_read"


def actions_for(item: ReviewItem) -> tuple[str, ...]:
    """The actions the queue offers for an open item: a finding about a district (no meter) can only
    be accepted; kinds other than read findings bring their own."""
    if item.status != OPEN or item.kind != READ_FINDING:
        return ()
    return READ_ACTIONS if item.meter_id else (ACCEPT,)


def subject_day(session: Session, item: ReviewItem) -> date:
    """The day whose read is in question: the flagged read's, else the item's own day."""
    flagged = session.get(Read, item.read_id) if item.read_id else None
    return flagged.read_on if flagged else item.subject_on


def readers(session: Session) -> list[StaffUser]:
    """Active staff with the reader role: whom a re-read can be assigned to."""
    return list(session.exec(select(StaffUser).join(StaffRole, StaffRole.staff_id == StaffUser.id)
                             .where(StaffRole.role == "reader", StaffUser.active).order_by(StaffUser.name)))


def accept(session: Session, item_id: int, *, staff_id: int, now: datetime, note: str = "") -> ReviewItem:
    item = _open_item(session, item_id, ACCEPT)
    held = valid_read(session, item.meter_id, subject_day(session, item)) if item.meter_id else None
    return _resolve(session, item, ACCEPT, staff_id=staff_id, now=now, reason=note, before=held, after=held)


def correct(session: Session, item_id: int, *, staff_id: int, now: datetime, total_wh: int,
            registers_wh: dict[str, int], reason: str) -> ReviewItem:
    item = _open_item(session, item_id, CORRECT)
    if not reason.strip():
        raise InvalidInput("reason", "a correction needs its reason")
    day = subject_day(session, item)
    held = valid_read(session, item.meter_id, day)
    _check_registers(held or neighbours(session, item.meter_id, day)[0], total_wh, registers_wh)
    check_neighbours(session, item.meter_id, day, total_wh, registers_wh, field="value")
    flagged = session.get(Read, item.read_id) if item.read_id else held
    read, _ = record_read(session, NewRead(
        meter_id=item.meter_id, read_on=day, source=CORRECTED, total_wh=total_wh, registers_wh=registers_wh,
        reader_id=flagged.reader_id if flagged else None, note=reason.strip()), now=now, replace=True)
    return _resolve(session, item, CORRECT, staff_id=staff_id, now=now, reason=reason, before=held, after=read)


def estimate(session: Session, item_id: int, *, staff_id: int, now: datetime, note: str = "") -> ReviewItem:
    item = _open_item(session, item_id, ESTIMATE)
    day = subject_day(session, item)
    held = valid_read(session, item.meter_id, day)
    if held is not None and held.source == ESTIMATED:
        raise InvalidInput("action", "the read of that day is an estimate already")
    guess = estimation.estimate(session, item.meter_id, day)  # CannotEstimate without enough history
    check_neighbours(session, item.meter_id, day, guess.total_wh, guess.registers_wh, field="estimate")
    read = estimation.estimate_read(session, item.meter_id, day, now=now, note=note.strip(), replace=True)
    return _resolve(session, item, ESTIMATE, staff_id=staff_id, now=now, reason=note, before=held, after=read)


def order_reread(session: Session, item_id: int, *, staff_id: int, reader_id: int, now: datetime,
                 note: str = "") -> ReviewItem:
    """Send a reader to the meter; the item stays open, assigned to them, until ``reread_done``."""
    item = _open_item(session, item_id, REREAD)
    if reader_id not in {reader.id for reader in readers(session)}:
        raise InvalidInput("reader", f"staff {reader_id} is not an active reader")
    before = {"assigned_to": item.assigned_to}
    item.assigned_to, item.ordered_by, item.reason = reader_id, staff_id, note.strip()[:400]
    session.add(item)
    audit(session, staff_id=staff_id, action="review.reread_ordered", target=f"review:{item.id}", at=now,
          before=before, after={"assigned_to": reader_id, "reason": item.reason})
    session.flush()
    return item


def reread_done(session: Session, item: ReviewItem, read: Read, now: datetime) -> bool:
    """The ordered re-read ``read`` (already recorded) has come back; returns whether it agrees.

    On the flagged day it is the day's read now (the flagged one again, or one that superseded it):
    the item is resolved with it.  On a later day it agrees unless it is below the read held on the
    flagged day (a register does not run back): then that read is wrong, and the item goes back to
    the queue, unassigned, for a reviewer to correct or estimate."""
    if item.status != OPEN:
        raise ItemNotOpen(f"review item {item.id} is {item.status}")
    day = subject_day(session, item)
    by = item.ordered_by or read.reader_id
    if read.meter_id != item.meter_id or read.read_on < day or read.status != VALID or by is None:
        raise InvalidInput("read", f"read {read.id} is no re-read of meter {item.meter_id} from {day} on")
    held = valid_read(session, item.meter_id, day)
    flagged = session.get(Read, item.read_id) if item.read_id else held
    if read.read_on == day:
        agrees, result = flagged is None or flagged.id == read.id, read
    elif held is None or read.total_wh >= held.total_wh:
        agrees, result = True, held
    else:
        item.assigned_to = None
        session.add(item)
        audit(session, staff_id=by, action="review.reread_returned", target=f"review:{item.id}", at=now,
              before=snapshot(held), after={**snapshot(read), "agrees": False})
        session.flush()
        return False
    _resolve(session, item, REREAD, staff_id=by, now=now, reason=item.reason, before=flagged, after=result,
             audit_extra={"reread": snapshot(read), "agrees": agrees})
    return agrees


def check_neighbours(session: Session, meter_id: int, day: date, total_wh: int, registers_wh: dict[str, int], *,
                     field: str) -> None:
    """Refuse a value for ``day`` below the meter's previous valid read or above its next one."""
    before, after = neighbours(session, meter_id, day)
    for name, value in (("total", total_wh), *registers_wh.items()):
        column = f"{name}_wh"
        if before is not None and getattr(before, column) is not None and value < getattr(before, column):
            raise BelowPreviousRead(f"{name} {value} Wh is below the read of {before.read_on}", field=field,
                                    value=format_kwh(value), day=before.read_on.isoformat(),
                                    held=format_kwh(getattr(before, column)))
        if after is not None and getattr(after, column) is not None and value > getattr(after, column):
            raise AboveNextRead(f"{name} {value} Wh is above the read of {after.read_on}", field=field,
                                value=format_kwh(value), day=after.read_on.isoformat(),
                                held=format_kwh(getattr(after, column)))


def neighbours(session: Session, meter_id: int, day: date) -> tuple[Read | None, Read | None]:
    """The meter's valid reads just before and just after ``day``."""
    before = session.exec(select(Read).where(Read.meter_id == meter_id, Read.read_on < day, Read.status == VALID)
                          .order_by(Read.read_on.desc())).first()
    after = session.exec(select(Read).where(Read.meter_id == meter_id, Read.read_on > day, Read.status == VALID)
                         .order_by(Read.read_on)).first()
    return before, after


def snapshot(read: Read | None) -> dict | None:
    """A read as the audit log keeps it."""
    if read is None:
        return None
    registers = {f"{name}_wh": getattr(read, f"{name}_wh") for name in REGISTERS if getattr(read, f"{name}_wh") is not None}
    return {"read_id": read.id, "read_on": read.read_on.isoformat(), "source": read.source, "total_wh": read.total_wh,
            **registers}


def _check_registers(reference: Read | None, total_wh: int, registers_wh: dict[str, int]) -> None:
    """A time-of-use meter's correction gives every register its reads have, adding up to the total."""
    expected = {name for name in REGISTERS if reference is not None and getattr(reference, f"{name}_wh") is not None}
    if set(registers_wh) != expected or (registers_wh and sum(registers_wh.values()) != total_wh):
        raise InvalidInput("registers", f"registers {sorted(expected)} must be given and add up to the total")


def _open_item(session: Session, item_id: int, action: str) -> ReviewItem:
    """The item, locked for this decision, if it is open and ``action`` applies to it."""
    item = find_item(session, item_id, lock=True)
    if item.status != OPEN:
        raise ItemNotOpen(f"review item {item_id} is {item.status}")
    if action not in actions_for(item):
        raise InvalidInput("action", f"{action} does not apply to a {item.kind} item without a meter")
    return item


def _resolve(session: Session, item: ReviewItem, action: str, *, staff_id: int, now: datetime, reason: str,
             before: Read | None, after: Read | None, audit_extra: dict | None = None) -> ReviewItem:
    item.status, item.action, item.resolved_by, item.resolved_at = RESOLVED, action, staff_id, now
    item.reason, item.assigned_to = reason.strip()[:400], None
    item.result_read_id = after.id if after else None
    session.add(item)
    audit(session, staff_id=staff_id, action=f"review.{action}", target=f"review:{item.id}", at=now,
          before=snapshot(before), after={**(snapshot(after) or {}), "reason": item.reason, **(audit_extra or {})})
    session.flush()
    return item
