"""Error assessment (差错考核): per reader and per reviewer, for one month, the work done and how much
of it was later found wrong.

- A reader's month is the manual reads they took with ``read_on`` in it; one of them counts as
  corrected once something superseded it: a reviewer's correction, a re-read on the same day that
  disagreed, or a reviewer's estimate in its place (a manual read is never superseded otherwise).
- A reviewer's month is the queue items they decided (``resolved_at``, Beijing) in it; a decision
  counts as overturned once the read it left valid (accepted, corrected, or confirmed by a re-read)
  was superseded later.  An estimate they chose being replaced by the actual read is the normal
  course, not an error.

- Bills: of the month's issued bills (issue date in it), how many issued bills were cancelled in
  the month (cancelled after issue, Beijing day; a held bill cancelled at review was never issued)
  and how many rebills were issued in it: each is a bill the county had to take back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import and_, case, func
from sqlmodel import Session, select

from billing.bill_records import Bill
from billing.clock import from_beijing
from billing.errors import InvalidInput
from billing.reads import ESTIMATED, MANUAL_READ, SUPERSEDED, Read
from billing.review import RESOLVED, ReviewItem
from billing.staff import StaffUser

READER, REVIEWER = "reader", "reviewer"


@dataclass(frozen=True)
class Line:
    """One person's month: ``work`` done (reads taken, items decided), ``errors`` among them."""

    role: str
    staff_id: int
    username: str
    name: str
    work: int
    errors: int


@dataclass(frozen=True)
class BillCorrections:
    issued: int
    cancelled: int
    reissued: int


@dataclass(frozen=True)
class Assessment:
    month: date  # its first day
    readers: list[Line]
    reviewers: list[Line]
    bills: BillCorrections

    @property
    def lines(self) -> list[Line]:
        return self.readers + self.reviewers


def month_start(text: str) -> date:
    """``"2026-11"`` -> 2026-11-01; anything else names the field ``month``."""
    try:
        year, month = text.split("-")
        if len(year) != 4 or len(month) != 2:
            raise ValueError(text)
        return date(int(year), int(month), 1)
    except ValueError:
        raise InvalidInput("month", f"{text[:20]!r} is not a month such as 2026-11") from None


def next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def assess(session: Session, month: date) -> Assessment:
    end = next_month(month)
    return Assessment(month, _readers(session, month, end), _reviewers(session, month, end), _bills(session, month, end))


def _readers(session: Session, start: date, end: date) -> list[Line]:
    corrected = func.sum(case((Read.status == SUPERSEDED, 1), else_=0))
    rows = session.exec(
        select(StaffUser.id, StaffUser.username, StaffUser.name, func.count(Read.id), corrected)
        .join(StaffUser, StaffUser.id == Read.reader_id)
        .where(Read.reader_id.is_not(None), Read.source == MANUAL_READ, Read.read_on >= start, Read.read_on < end)
        .group_by(StaffUser.id, StaffUser.username, StaffUser.name).order_by(StaffUser.username))
    return [Line(READER, staff_id, username, name, taken, int(wrong or 0)) for staff_id, username, name, taken, wrong in rows]


def _reviewers(session: Session, start: date, end: date) -> list[Line]:
    since, until = (from_beijing(datetime.combine(day, time.min)) for day in (start, end))
    overturned = func.sum(case((and_(Read.status == SUPERSEDED, Read.source != ESTIMATED), 1), else_=0))
    rows = session.exec(
        select(StaffUser.id, StaffUser.username, StaffUser.name, func.count(ReviewItem.id), overturned)
        .join(StaffUser, StaffUser.id == ReviewItem.resolved_by)
        .outerjoin(Read, Read.id == ReviewItem.result_read_id)
        .where(ReviewItem.status == RESOLVED, ReviewItem.resolved_at >= since, ReviewItem.resolved_at < until)
        .group_by(StaffUser.id, StaffUser.username, StaffUser.name).order_by(StaffUser.username))
    return [Line(REVIEWER, staff_id, username, name, decided, int(wrong or 0))
            for staff_id, username, name, decided, wrong in rows]


def _bills(session: Session, start: date, end: date) -> BillCorrections:
    since, until = (from_beijing(datetime.combine(day, time.min)) for day in (start, end))
    in_month = and_(Bill.issue_date >= start, Bill.issue_date < end)
    issued, reissued = session.exec(select(func.count(Bill.id), func.count(Bill.replaces_bill_id)).where(in_month)).one()
    cancelled = session.exec(select(func.count(Bill.id)).where(
        Bill.number.is_not(None), Bill.cancelled_at >= since, Bill.cancelled_at < until)).one()
    return BillCorrections(issued, cancelled, reissued)
