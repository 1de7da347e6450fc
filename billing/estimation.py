"""Estimating a missing read (估抄): the meter's average daily use times the days since its last read.

An estimate is a read with source ``estimated`` and its ``method``; it is billed like any read, and
when the actual read arrives it supersedes the estimate and the difference is carried, visibly, into
the next bill (``billing.reads.record_read``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from billing.errors import BillingError
from billing.reads import ESTIMATED, REGISTERS, VALID, NewRead, Read, record_read

TRAILING_DAYS = 30  # the window the average daily use is taken over
METHOD = f"avg_daily_{TRAILING_DAYS}d"


class CannotEstimate(BillingError):
    """Too little history to estimate from: the meter must be read."""

    code = "cannot_estimate"


def estimate(session: Session, meter_id: int, day: date) -> NewRead:
    """The estimated read of ``meter_id`` on ``day``, from its last valid read before that day and
    the average daily use over the ``TRAILING_DAYS`` before that read (registers in proportion)."""
    last = _valid_before(session, meter_id, day)
    if last is None:
        raise CannotEstimate(f"meter {meter_id} has no read before {day}", field="read_on")
    first = _valid_before(session, meter_id, last.read_on - timedelta(days=TRAILING_DAYS - 1)) or _first(session, meter_id)
    if first is None or first.read_on >= last.read_on:
        raise CannotEstimate(f"meter {meter_id} has one read only before {day}", field="read_on")
    span, days = (last.read_on - first.read_on).days, (day - last.read_on).days
    registers = {}
    for name in REGISTERS:
        before, after = getattr(first, f"{name}_wh"), getattr(last, f"{name}_wh")
        if before is not None and after is not None:
            registers[name] = after + (after - before) * days // span
    total = last.total_wh + (last.total_wh - first.total_wh) * days // span
    if registers:  # the registers must add up to the total, as a meter's do
        total = last.total_wh + sum(value - getattr(last, f"{name}_wh") for name, value in registers.items())
    return NewRead(meter_id=meter_id, read_on=day, source=ESTIMATED, total_wh=total, registers_wh=registers,
                   method=METHOD)


def estimate_read(session: Session, meter_id: int, day: date, *, now: datetime, note: str = "",
                  replace: bool = False) -> Read:
    """Record the estimate for a missing read (a held read of that day is left alone), or with
    ``replace`` instead of the read held that day (a reviewer's decision that it cannot stand)."""
    guess = estimate(session, meter_id, day)
    read, _ = record_read(session, NewRead(**{**guess.__dict__, "note": note}), now=now, replace=replace)
    return read


def _valid_before(session: Session, meter_id: int, day: date) -> Read | None:
    return session.exec(select(Read).where(Read.meter_id == meter_id, Read.read_on < day, Read.status == VALID)
                        .order_by(Read.read_on.desc())).first()


def _first(session: Session, meter_id: int) -> Read | None:
    return session.exec(select(Read).where(Read.meter_id == meter_id, Read.status == VALID)
                        .order_by(Read.read_on)).first()
