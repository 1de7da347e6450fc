"""The demo's routes: every hand-read meter on a route of reader1's, in address order, with work
due on the demo's day and one re-read order; the same from the same seed and day."""

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from billing.accounts import Meter
from billing.clock import beijing_date
from billing.db import read_session
from billing.reader_day import DUE, OVERDUE, reader_day
from billing.routes import ReadRoute, ReadRouteMeter
from billing.staff import StaffUser
from demo.county import load_demo_county


def _reader_day(engine, now):
    with read_session(engine) as db:
        reader_id = db.exec(select(StaffUser.id).where(StaffUser.username == "reader1")).one()
        manual = set(db.exec(select(Meter.id).where(Meter.kind == "manual")))
        on_routes = set(db.exec(select(ReadRouteMeter.meter_id)))
        routes = [(route.code, route.read_day) for route in db.exec(select(ReadRoute).order_by(ReadRoute.code))]
        return reader_day(db, reader_id, beijing_date(now)), manual, on_routes, routes


@pytest.mark.parametrize(("now", "read_days"), [
    (datetime(2026, 11, 27, 2, tzinfo=UTC), [("CB-01", 27), ("CB-02", 24)]),  # the first due, the second overdue
    (datetime(2026, 12, 31, 2, tzinfo=UTC), [("CB-01", 28), ("CB-02", 25)]),  # the last read day a route has
    (datetime(2026, 12, 1, 2, tzinfo=UTC), [("CB-01", 1), ("CB-02", 1)]),
])
def test_reader1_has_meters_due_and_a_re_read_order(engine, now, read_days):
    load_demo_county(engine, accounts=100, now=now)
    day, manual, on_routes, routes = _reader_day(engine, now)
    assert on_routes == manual and routes == read_days
    for _, stops in day.routes:
        addresses = [stop.account.address for stop in stops]
        assert addresses == sorted(addresses) and {stop.status for stop in stops} <= {DUE, OVERDUE}
    (order,) = day.rereads
    assert order.meter.kind == "smart" and order.meter.tou and order.status == DUE
    assert day.total == len(manual) + 1 and day.done_today == 0


def test_a_small_county_still_has_a_route_due(engine, clock):
    load_demo_county(engine, accounts=40, now=clock())
    day, manual, on_routes, routes = _reader_day(engine, clock())
    assert len(manual) == 1 and on_routes == manual and routes == [("CB-02", 27)]
    assert [stop.status for _, stops in day.routes for stop in stops] == [DUE] and len(day.rereads) == 1
