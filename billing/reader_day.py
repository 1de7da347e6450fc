"""A reader's day (抄表员): their routes (抄表段) in walking order, what is due, and re-read orders.

A route meter is *due* once the route's read day has come this month (a read day past the end of
a short month falls on its last day) and *overdue* after that day, until an actual read (not an
estimate) on or after the read day makes it *done*; before the read day it is *later*.  Re-read
orders (review items assigned to the reader) are due until the reader's read answers them; one it
resolved today stays on the list as done.  Progress counts today's work: what was read today, of
that plus what is still due.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from sqlalchemy import func
from sqlmodel import Session, select

from billing.accounts import Account, Meter
from billing.clock import BEIJING
from billing.errors import NotFound
from billing.reads import ESTIMATED, MANUAL_READ, VALID, Read
from billing.review import RESOLVED, ReviewItem
from billing.review_actions import REREAD
from billing.review_queue import MAX_ID, rereads_for
from billing.routes import ReadRoute, ReadRouteMeter

DUE, OVERDUE, DONE, LATER = "due", "overdue", "done", "later"
TO_DO = (DUE, OVERDUE)


@dataclass(frozen=True)
class Stop:
    """One meter on the reader's list."""

    meter: Meter
    account: Account | None
    last: Read | None  # the meter's latest valid read
    status: str
    due_on: date | None = None  # the route's read day this month
    done: Read | None = None  # the actual read that made it done
    route: ReadRoute | None = None
    rereads: tuple[ReviewItem, ...] = ()  # the re-read orders it answers


@dataclass(frozen=True)
class ReaderDay:
    day: date
    routes: list[tuple[ReadRoute, list[Stop]]] = field(default_factory=list)
    rereads: list[Stop] = field(default_factory=list)  # open orders, then those done today

    def stops(self) -> list[Stop]:
        return [*self.rereads, *(stop for _, stops in self.routes for stop in stops)]

    @property
    def done_today(self) -> int:
        return len({stop.meter.id for stop in self.stops() if stop.status == DONE and stop.done
                    and stop.done.read_on == self.day})

    @property
    def to_do(self) -> int:
        return len({stop.meter.id for stop in self.stops() if stop.status in TO_DO})

    @property
    def total(self) -> int:
        return self.done_today + self.to_do

    def next_stop(self) -> Stop | None:
        """The first meter still to read: re-read orders, then each route in walking order."""
        return next((stop for stop in self.stops() if stop.status in TO_DO), None)


def due_on(route: ReadRoute, day: date) -> date:
    return day.replace(day=min(route.read_day, calendar.monthrange(day.year, day.month)[1]))


def reader_day(session: Session, reader_id: int, day: date) -> ReaderDay:
    routes = list(session.exec(select(ReadRoute).where(ReadRoute.reader_id == reader_id).order_by(ReadRoute.code)))
    members = session.exec(select(ReadRouteMeter.route_id, Meter, Account)
                           .join(Meter, Meter.id == ReadRouteMeter.meter_id)
                           .join(Account, Account.meter_id == Meter.id, isouter=True)
                           .where(ReadRouteMeter.route_id.in_([route.id for route in routes]))
                           .order_by(ReadRouteMeter.position, Meter.meter_no)).all()
    orders = [item for item in rereads_for(session, reader_id) if item.meter_id] + _rereads_done(session, reader_id, day)
    meters = _meters(session, {item.meter_id for item in orders}) | {meter.id: (meter, account)
                                                                     for _, meter, account in members}
    latest, actual = _latest_reads(session, list(meters), None), _latest_reads(session, list(meters), ESTIMATED)
    by_route = {route.id: [] for route in routes}
    for route_id, meter, account in members:
        route = next(route for route in routes if route.id == route_id)
        by_route[route_id].append(_route_stop(route, meter, account, latest.get(meter.id), actual.get(meter.id), day))
    rereads = [_reread_stop(item, *meters[item.meter_id], latest, actual) for item in orders]
    return ReaderDay(day, [(route, by_route[route.id]) for route in routes], rereads)


def stop_for(session: Session, reader_id: int, meter_id: int, day: date, *, any_meter: bool = False) -> Stop:
    """The reader's stop at ``meter_id``; a meter on none of their routes or orders is not found,
    unless ``any_meter`` (an administrator standing in)."""
    if not 0 < meter_id <= MAX_ID:
        raise NotFound(f"no meter {meter_id}", field="meter_id")
    found = next((stop for stop in reader_day(session, reader_id, day).stops() if stop.meter.id == meter_id), None)
    if found is not None:
        return found
    meter = session.get(Meter, meter_id) if any_meter else None
    if meter is None:
        raise NotFound(f"meter {meter_id} is not on the reader's list", field="meter_id")
    account = session.exec(select(Account).where(Account.meter_id == meter_id)).first()
    latest = _latest_reads(session, [meter_id], None).get(meter_id)
    done = latest if latest is not None and latest.read_on == day and latest.source != ESTIMATED else None
    return Stop(meter, account, latest, DONE if done else DUE, done=done)


def _route_stop(route: ReadRoute, meter: Meter, account: Account | None, last: Read | None, actual: Read | None,
                day: date) -> Stop:
    due = due_on(route, day)
    if actual is not None and actual.read_on >= due:
        status, done = DONE, actual
    else:
        status, done = (LATER if due > day else DUE if due == day else OVERDUE), None
    return Stop(meter, account, last, status, due_on=due, done=done, route=route)


def _reread_stop(item: ReviewItem, meter: Meter, account: Account | None, latest: dict, actual: dict) -> Stop:
    done = actual.get(meter.id) if item.status == RESOLVED else None
    return Stop(meter, account, latest.get(meter.id), DONE if item.status == RESOLVED else DUE, done=done,
                rereads=(item,))


def _rereads_done(session: Session, reader_id: int, day: date) -> list[ReviewItem]:
    """Re-read orders resolved today by the reader's own read of today (a resolved item is no
    longer assigned to anyone: the read is what ties it to the reader)."""
    start = datetime.combine(day, time(), tzinfo=BEIJING).astimezone(UTC)
    read_today = select(Read.meter_id).where(Read.read_on == day, Read.reader_id == reader_id,
                                             Read.source == MANUAL_READ, Read.status == VALID)
    return list(session.exec(select(ReviewItem).where(
        ReviewItem.status == RESOLVED, ReviewItem.action == REREAD, ReviewItem.resolved_at >= start,
        ReviewItem.meter_id.in_(read_today)).order_by(ReviewItem.resolved_at, ReviewItem.id)))


def _meters(session: Session, meter_ids: set[int]) -> dict[int, tuple[Meter, Account | None]]:
    rows = session.exec(select(Meter, Account).join(Account, Account.meter_id == Meter.id, isouter=True)
                        .where(Meter.id.in_(meter_ids))).all() if meter_ids else []
    return {meter.id: (meter, account) for meter, account in rows}


def _latest_reads(session: Session, meter_ids: list[int], excluded_source: str | None) -> dict[int, Read]:
    """Each meter's latest valid read (leaving out one source, e.g. estimates)."""
    if not meter_ids:
        return {}
    conditions = [Read.meter_id.in_(meter_ids), Read.status == VALID]
    if excluded_source:
        conditions.append(Read.source != excluded_source)
    latest = select(Read.meter_id, func.max(Read.read_on).label("read_on")).where(*conditions).group_by(Read.meter_id)
    latest = latest.subquery()
    rows = session.exec(select(Read).join(latest, (Read.meter_id == latest.c.meter_id) & (Read.read_on == latest.c.read_on))
                        .where(Read.status == VALID))
    return {read.meter_id: read for read in rows}
