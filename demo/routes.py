"""The demo's reading routes (抄表段): its hand-read meters, grouped by town into routes that reader1
walks in address order, with work due on the demo's day, and one re-read order from review.

The first route's read day is the demo's day (or the 28th, the last read day a route may have),
so its meters are due today; the other's is three days earlier, so they are overdue, or read
already when that falls on the 1st (the demo reads hand-read meters on the 1st of each month).
The re-read order is for the last household on a smart meter in the first route's towns, ordered
by the demo's reviewer.
Deterministic from the plan and the day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from billing.accounts import Account
from billing.reads import VALID, Read
from billing.review import READ_FINDING, open_item
from billing.review_actions import order_reread
from billing.routes import ReadRoute, ReadRouteMeter
from billing.staff import StaffRole

ROUTES = (("CB-01", "城关城南抄表段", (0, 1)), ("CB-02", "河西抄表段", (2,)))
LAST_READ_DAY = 28
EARLIER = 3  # days before the first route's read day
REREAD_REASON = "日用电量突增，请到现场核对表计"


def add_routes(session: Session, plan: list, reader_id: int, today: date, now: datetime) -> None:
    """``plan``: demo.county's planned households (each with its meter and district)."""
    routes = [(code, name, [p for p in plan if p.meter.manual and p.district_index in towns], towns)
              for code, name, towns in ROUTES]
    routes = [route for route in routes if route[2]]
    day = min(today.day, LAST_READ_DAY)
    for n, (code, name, households, _) in enumerate(routes):
        route = ReadRoute(code=code, name=name, reader_id=reader_id, read_day=day if n == 0 else max(1, day - EARLIER))
        session.add(route)
        session.flush()
        session.add_all(ReadRouteMeter(route_id=route.id, meter_id=p.meter.meter_id, position=position)
                        for position, p in enumerate(sorted(households, key=lambda p: p.address), start=1))
    if routes:
        _reread_order(session, plan, routes[0][3], reader_id, today, now)
    session.flush()


def _reread_order(session: Session, plan: list, towns: tuple[int, ...], reader_id: int, today: date,
                  now: datetime) -> None:
    smart = [p for p in plan if not p.meter.manual and p.meter.shares and p.district_index in towns
             and p.category == "residential"]
    if not smart:
        return
    household, yesterday = smart[-1], today - timedelta(days=1)
    account = session.exec(select(Account).where(Account.account_no == household.account_no)).one()
    read_id = session.exec(select(Read.id).where(Read.meter_id == account.meter_id, Read.read_on == yesterday,
                                                 Read.status == VALID)).first()
    item_id = open_item(session, kind=READ_FINDING, rule="high_use", subject_on=yesterday, at=now,
                        account_id=account.id, meter_id=account.meter_id, district_id=account.district_id,
                        read_id=read_id, detail={"demo": True})
    reviewer_id = session.exec(select(StaffRole.staff_id).where(StaffRole.role == "reviewer")
                               .order_by(StaffRole.staff_id)).first()
    order_reread(session, item_id, staff_id=reviewer_id, reader_id=reader_id, now=now, note=REREAD_REASON)
