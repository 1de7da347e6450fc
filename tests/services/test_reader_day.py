"""The reader's day: their routes in walking order with what is due, overdue, done or later this
month, their re-read orders, and progress (read today, of today's work).  Both databases."""

from datetime import UTC, date, datetime, timedelta

import pytest

from billing.db import read_session, unit_of_work
from billing.errors import NotFound
from billing.estimation import estimate_read
from billing.manual_reads import Entry, RangeRule, save_manual_read
from billing.reader_day import DONE, DUE, LATER, OVERDUE, due_on, reader_day, stop_for
from billing.reads import MANUAL_READ, NewRead, record_read
from billing.routes import ReadRoute
from tests import reading_helpers as given
from tests.reading_helpers import TODAY


def _statuses(day):
    return {stop.account.account_no: stop.status for stop in day.stops()}


def test_a_route_is_due_on_its_read_day_overdue_after_and_done_once_read(engine, clock):
    with unit_of_work(engine) as db:
        reader = given.reader(db)
        a, b, c = (given.manual_account(db, clock) for _ in range(3))
        later = given.manual_account(db, clock)
        given.route(db, reader.id, [b, a, c], read_day=TODAY.day - 2)
        given.route(db, reader.id, [later], read_day=TODAY.day + 1, code="CB-T2")
        given.route(db, None, [given.manual_account(db, clock)], code="CB-X")  # nobody's route
        record_read(db, NewRead(c.meter_id, TODAY - timedelta(days=1), MANUAL_READ, 990_000), now=clock())
        estimate_read(db, a.meter_id, TODAY - timedelta(days=1), now=clock())  # an estimate does not count
    with read_session(engine) as db:
        day = reader_day(db, reader.id, TODAY)
    (first, stops), (second, later_stops) = day.routes
    assert (first.code, second.code) == ("CB-T1", "CB-T2")
    assert [stop.account.account_no for stop in stops] == [b.account_no, a.account_no, c.account_no]  # walking order
    assert [stop.status for stop in stops] == [OVERDUE, OVERDUE, DONE] and later_stops[0].status == LATER
    assert stops[2].done.read_on == TODAY - timedelta(days=1) and stops[1].last.source == "estimated"
    assert (day.done_today, day.to_do, day.total) == (0, 2, 2)  # yesterday's read is not today's work
    assert day.next_stop().account.account_no == b.account_no


def test_progress_counts_what_was_read_today(engine, clock):
    with unit_of_work(engine) as db:
        reader = given.reader(db)
        accounts = [given.manual_account(db, clock) for _ in range(3)]
        given.route(db, reader.id, accounts)
        save_manual_read(db, meter_id=accounts[1].meter_id, day=TODAY, reader_id=reader.id, entry=Entry(1_000_000),
                         rule=RangeRule(), now=clock())
    with read_session(engine) as db:
        day = reader_day(db, reader.id, TODAY)
    assert _statuses(day) == {accounts[0].account_no: DUE, accounts[1].account_no: DONE, accounts[2].account_no: DUE}
    assert (day.done_today, day.total) == (1, 3) and day.next_stop().meter.id == accounts[0].meter_id


def test_re_read_orders_come_first_and_count_once_done(engine, clock):
    with unit_of_work(engine) as db:
        reader, other = given.reader(db), given.reader(db, "reader2")
        on_route, smart = given.manual_account(db, clock), given.manual_account(db, clock)
        given.route(db, reader.id, [on_route])
        given.reread_order(db, clock, smart, reader.id)
        given.reread_order(db, clock, on_route, other.id)  # someone else's order
    with read_session(engine) as db:
        day = reader_day(db, reader.id, TODAY)
    assert [(stop.meter.id, stop.status, len(stop.rereads)) for stop in day.rereads] == [(smart.meter_id, DUE, 1)]
    assert day.next_stop().meter.id == smart.meter_id and (day.done_today, day.total) == (0, 2)
    with unit_of_work(engine) as db:
        save_manual_read(db, meter_id=smart.meter_id, day=TODAY, reader_id=reader.id, entry=Entry(1_000_000),
                         rule=RangeRule(), now=clock())
    with read_session(engine) as db:
        day = reader_day(db, reader.id, TODAY)
        tomorrow = reader_day(db, reader.id, TODAY + timedelta(days=1))
    assert [(stop.status, stop.done.total_wh) for stop in day.rereads] == [(DONE, 1_000_000)]
    assert (day.done_today, day.total) == (1, 2)
    assert tomorrow.rereads == []  # done yesterday: off the list


def test_only_the_readers_meters_are_theirs_to_read(engine, clock):
    with unit_of_work(engine) as db:
        reader, mine, other = given.reader(db), given.manual_account(db, clock), given.manual_account(db, clock)
        given.route(db, reader.id, [mine])
    with read_session(engine) as db:
        assert stop_for(db, reader.id, mine.meter_id, TODAY).status == DUE
        with pytest.raises(NotFound):
            stop_for(db, reader.id, other.meter_id, TODAY)
        stand_in = stop_for(db, reader.id, other.meter_id, TODAY, any_meter=True)
        assert (stand_in.meter.id, stand_in.account.id, stand_in.status) == (other.meter_id, other.id, DUE)


@pytest.mark.parametrize(("read_day", "on", "due"), [(31, date(2027, 2, 10), date(2027, 2, 28)),
                                                      (31, date(2028, 2, 10), date(2028, 2, 29)),
                                                      (15, date(2026, 11, 27), date(2026, 11, 15))])
def test_a_read_day_past_the_end_of_a_short_month_falls_on_its_last_day(read_day, on, due):
    assert due_on(ReadRoute(code="x", name="x", read_day=read_day), on) == due


def test_done_today_follows_the_beijing_day(engine, clock):
    """A re-read resolved at 00:30 Beijing (16:30 UTC the day before) is today's work."""
    with unit_of_work(engine) as db:
        reader, account = given.reader(db), given.manual_account(db, clock)
        given.reread_order(db, clock, account, reader.id)
        save_manual_read(db, meter_id=account.meter_id, day=TODAY, reader_id=reader.id, entry=Entry(1_000_000),
                         rule=RangeRule(), now=datetime(2026, 11, 26, 16, 30, tzinfo=UTC))
    with read_session(engine) as db:
        assert reader_day(db, reader.id, TODAY).done_today == 1
