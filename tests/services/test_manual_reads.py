"""A reader's manual read: the expected range from the meter's history, saving, the confirmation
an unusual read needs, conflicts, and re-read orders that a read resolves.  Both databases."""

import json
import threading
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import select

from billing.audit import AuditEntry
from billing.db import read_session, unit_of_work
from billing.estimation import estimate_read
from billing.manual_reads import (
    BELOW_LAST, HIGH_USE, LOW_USE, OUT_OF_RANGE_RULE, REGISTER_BACK, REGISTER_SUM, Entry, EntryInvalid, NoteMissing,
    RangeRule, ReadingFormat, ReadingMissing, Unconfirmed, assess, expected_range, parse_entry, parse_kwh,
    save_manual_read,
)
from billing.reads import AMI, MANUAL_READ, NewRead, Read, ReadConflict, record_read
from billing.review import OPEN, RESOLVED, ReviewItem
from tests import reading_helpers as given
from tests.reading_helpers import EXPECTED_WH, HIGH_WH, LOW_WH, TODAY
from tests.threads import Threads

RULE = RangeRule()


def _save(db, account, reader, clock, total_wh, *, note="", confirmed=None, registers=None, photo=None, day=TODAY):
    return save_manual_read(db, meter_id=account.meter_id, day=day, reader_id=reader.id, rule=RULE, now=clock(),
                            entry=Entry(total_wh, registers or {}, note), confirmed=confirmed, photo=photo)


@pytest.mark.parametrize(("text", "wh"), [("1234.56", 1_234_560), ("1234.5", 1_234_500), ("1234", 1_234_000),
                                          ("0.01", 10), ("001234.56", 1_234_560), (" 12.30 ", 12_300),
                                          ("１２３.４５", 123_450), ("9999999999.99", 9_999_999_999_990)])
def test_kwh_with_two_decimals_is_stored_as_exact_wh(text, wh):
    assert parse_kwh(text, "total") == wh


@pytest.mark.parametrize("text", ["1234.567", "-1", "1,234.56", "1e3", "12.3.4", "abc", ".5", "1234.", "99999999999"])
def test_anything_else_is_refused_naming_the_field(text):
    with pytest.raises(ReadingFormat) as refused:
        parse_kwh(text, "peak")
    assert refused.value.field == "peak"


def test_every_bad_field_of_an_entry_is_reported_at_once():
    with pytest.raises(EntryInvalid) as refused:
        parse_entry({"total": "", "peak": "12.345", "valley": "3"}, ("peak", "valley"))
    assert [(type(p), p.field) for p in refused.value.problems] == [(ReadingMissing, "total"), (ReadingFormat, "peak")]
    entry = parse_entry({"total": "10", "peak": "6", "valley": "4", "note": "  门口  有狗 "}, ("peak", "valley"))
    assert entry == Entry(10_000, {"peak": 6_000, "valley": 4_000}, "门口 有狗")


def test_the_expected_range_is_the_last_read_plus_average_daily_use_times_days(engine, clock):
    with unit_of_work(engine) as db:
        account = given.manual_account(db, clock)
        expected = expected_range(db, account.meter_id, TODAY, RULE)
        assert (expected.last.total_wh, expected.days, expected.average_daily_wh) == (700_000, 30, 10_000)
        assert (expected.low_wh, expected.expected_wh, expected.high_wh) == (LOW_WH, EXPECTED_WH, HIGH_WH)
        # Only the last 90 days count: a year-old read of a different pace changes nothing.
        record_read(db, NewRead(account.meter_id, date(2025, 11, 1), MANUAL_READ, 0), now=clock())
        assert expected_range(db, account.meter_id, TODAY, RULE) == expected
        narrow = expected_range(db, account.meter_id, TODAY, RangeRule(low_percent=90, high_percent=110))
        assert (narrow.low_wh, narrow.high_wh) == (970_000, 1_030_000)


def test_estimates_are_left_out_of_the_range(engine, clock):
    with unit_of_work(engine) as db:
        account = given.manual_account(db, clock)
        estimate_read(db, account.meter_id, date(2026, 11, 20), now=clock())
        expected = expected_range(db, account.meter_id, TODAY, RULE)
        assert expected.last.read_on == date(2026, 10, 28) and expected.high_wh == HIGH_WH


def test_a_meter_that_used_nothing_still_has_a_band(engine, clock):
    with unit_of_work(engine) as db:
        account = given.manual_account(db, clock, history=((date(2026, 9, 28), 500_000), (date(2026, 10, 28), 500_000)))
        expected = expected_range(db, account.meter_id, TODAY, RULE)
        assert (expected.low_wh, expected.high_wh) == (500_000, 510_000)  # DIANFEI_READ_RANGE_MIN_KWH = 10


def test_with_little_history_the_range_is_open_above(engine, clock):
    with unit_of_work(engine) as db:
        none = given.manual_account(db, clock, history=())
        one = given.manual_account(db, clock, history=((date(2026, 10, 28), 700_000),))
        rolled = given.manual_account(db, clock, history=((date(2026, 9, 28), 999_000_000), (date(2026, 10, 28), 5_000)))
        assert expected_range(db, none.meter_id, TODAY, RULE).low_wh is None
        for account, last in ((one, 700_000), (rolled, 5_000)):
            expected = expected_range(db, account.meter_id, TODAY, RULE)
            assert (expected.low_wh, expected.high_wh, expected.expected_wh) == (last, None, None)
        assert assess(Entry(10_000_000), expected_range(db, one.meter_id, TODAY, RULE)).unusual == ()
        assert assess(Entry(0), expected_range(db, none.meter_id, TODAY, RULE)).unusual == ()


def test_what_makes_a_read_unusual(engine, clock):
    with unit_of_work(engine) as db:
        plain, tou = given.manual_account(db, clock), given.manual_account(db, clock, tou=True)
        expected, tou_expected = (expected_range(db, a.meter_id, TODAY, RULE) for a in (plain, tou))
    for total, unusual in ((LOW_WH, ()), (HIGH_WH, ()), (LOW_WH - 10, (LOW_USE,)), (HIGH_WH + 10, (HIGH_USE,)),
                           (699_990, (BELOW_LAST,))):
        assert assess(Entry(total), expected).unusual == unusual, total
    assert assess(Entry(1_000_000, {"peak": 600_000, "valley": 400_000}), tou_expected).unusual == ()
    assert assess(Entry(1_000_000, {"peak": 600_000, "valley": 399_990}), tou_expected).unusual == (REGISTER_SUM,)
    assert assess(Entry(1_000_000, {"peak": 800_000, "valley": 200_000}), tou_expected).unusual == (REGISTER_BACK,)


def test_a_usual_read_is_saved_as_the_readers_manual_read(engine, clock):
    with unit_of_work(engine) as db:
        reader, account = given.reader(db), given.manual_account(db, clock)
        saved = _save(db, account, reader, clock, 1_012_340, photo="photos/2026/11/x.jpg")
        assert (saved.outcome, saved.review_item_id, saved.assessment.unusual) == ("created", None, ())
    with read_session(engine) as db:
        read = db.exec(select(Read).where(Read.read_on == TODAY)).one()
        assert (read.source, read.total_wh, read.reader_id, read.photo) == (MANUAL_READ, 1_012_340, reader.id,
                                                                           "photos/2026/11/x.jpg")
        assert db.exec(select(ReviewItem)).all() == []


def test_an_unusual_read_needs_the_readers_confirmation_and_a_note(engine, clock):
    with unit_of_work(engine) as db:
        reader, account = given.reader(db), given.manual_account(db, clock)
    with pytest.raises(Unconfirmed) as asked, unit_of_work(engine) as db:
        _save(db, account, reader, clock, 2_000_000, note="户主说开了电暖器")
    assert asked.value.assessment.unusual == (HIGH_USE,)
    with pytest.raises(Unconfirmed), unit_of_work(engine) as db:  # confirmed a different value
        _save(db, account, reader, clock, 2_000_000, note="x", confirmed=Entry(1_900_000).values_key)
    with pytest.raises(NoteMissing), unit_of_work(engine) as db:
        _save(db, account, reader, clock, 2_000_000, confirmed=Entry(2_000_000).values_key)
    with read_session(engine) as db:
        assert db.exec(select(Read).where(Read.read_on == TODAY)).all() == []
    with unit_of_work(engine) as db:
        saved = _save(db, account, reader, clock, 2_000_000, note="户主说开了电暖器",
                      confirmed=Entry(2_000_000).values_key)
    with read_session(engine) as db:
        item = db.get(ReviewItem, saved.review_item_id)
        assert (item.kind, item.rule, item.status, item.read_id, item.account_id, item.subject_on) == (
            "read", OUT_OF_RANGE_RULE, OPEN, saved.read.id, account.id, TODAY)
        assert item.details == {
            "unusual": [HIGH_USE], "total_wh": 2_000_000, "low_wh": LOW_WH, "high_wh": HIGH_WH,
            "expected_wh": EXPECTED_WH, "previous_wh": 700_000, "previous_on": "2026-10-28", "note": "户主说开了电暖器"}
        assert db.get(Read, saved.read.id).note == "户主说开了电暖器"


def test_a_different_read_held_that_day_is_a_conflict_and_the_same_one_a_duplicate(engine, clock):
    with unit_of_work(engine) as db:
        reader, account = given.reader(db), given.manual_account(db, clock)
        record_read(db, NewRead(account.meter_id, TODAY, AMI, 1_000_000), now=clock())
    with pytest.raises(ReadConflict) as conflict, unit_of_work(engine) as db:
        _save(db, account, reader, clock, 1_000_010)
    assert conflict.value.params["held_wh"] == 1_000_000
    with unit_of_work(engine) as db:
        assert _save(db, account, reader, clock, 1_000_000).outcome == "duplicate"
    with read_session(engine) as db:
        assert [(r.source, r.total_wh) for r in db.exec(select(Read).where(Read.read_on == TODAY))] == [(AMI, 1_000_000)]


def test_a_read_answers_the_readers_re_read_order_of_that_meter(engine, clock):
    with unit_of_work(engine) as db:
        reader, other = given.reader(db), given.reader(db, "reader2")
        account, elsewhere = given.manual_account(db, clock), given.manual_account(db, clock)
        mine = given.reread_order(db, clock, account, reader.id)
        theirs = given.reread_order(db, clock, account, other.id, on=TODAY - timedelta(days=2))
        not_this_meter = given.reread_order(db, clock, elsewhere, reader.id)
        saved = _save(db, account, reader, clock, 1_010_000, note="已复核表计")
        assert saved.rereads == ((mine.id, True),)
    with read_session(engine) as db:
        done = db.get(ReviewItem, mine.id)
        assert (done.status, done.action, done.resolved_by, done.resolved_at) == (RESOLVED, "reread", mine.ordered_by,
                                                                                 clock())
        assert [db.get(ReviewItem, i).status for i in (theirs.id, not_this_meter.id)] == [OPEN, OPEN]
        (entry,) = db.exec(select(AuditEntry).where(AuditEntry.action == "review.reread")).all()
        assert entry.target == f"review:{mine.id}" and json.loads(entry.after)["reread"]["total_wh"] == 1_010_000


def test_a_re_read_below_the_doubted_read_goes_back_to_the_reviewers(engine, clock):
    """The reviewer doubted the read of 10-28; today's read is below it, so that read was wrong."""
    with unit_of_work(engine) as db:
        reader, account = given.reader(db), given.manual_account(db, clock)
        order = given.reread_order(db, clock, account, reader.id, on=date(2026, 10, 28))
        saved = _save(db, account, reader, clock, 650_000, note="表盘确认", confirmed=Entry(650_000).values_key)
        assert saved.rereads == ((order.id, False),) and saved.assessment.unusual == (BELOW_LAST,)
    with read_session(engine) as db:
        back = db.get(ReviewItem, order.id)
        assert (back.status, back.assigned_to) == (OPEN, None)


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)  # SQLite's writers queue at BEGIN: no race
def test_a_second_tap_racing_the_first_finds_the_read_it_saved(engine, clock):
    """The first save holds its transaction open; the second looks, finds no read yet, and waits
    on the unique index at its insert; once the first commits, it is the duplicate it is."""
    with unit_of_work(engine) as db:
        reader, account = given.reader(db), given.manual_account(db, clock)
    first_saved, outcomes, threads = threading.Event(), [], Threads()

    def first():
        with unit_of_work(engine) as db:
            _save(db, account, reader, clock, 1_000_000)
            first_saved.set()
            _wait_for_a_lock_wait(engine)

    def second():
        first_saved.wait()
        with unit_of_work(engine) as db:
            outcomes.append(_save(db, account, reader, clock, 1_000_000).outcome)

    threads.start(first)
    threads.start(second)
    threads.join()
    assert outcomes == ["duplicate"]
    with read_session(engine) as db:
        assert len(db.exec(select(Read).where(Read.read_on == TODAY)).all()) == 1


def _wait_for_a_lock_wait(engine) -> None:
    """Until another session waits on a lock (the second save, at its insert)."""
    with engine.connect() as connection:
        while not connection.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")).scalar():
            connection.rollback()
            time.sleep(0.01)


def test_a_meter_face_shows_whole_hundredths_of_a_kwh(engine, clock):
    """A smart meter's last read of 700.004 kWh shows as 700.00 on its face: reading that is usual."""
    with unit_of_work(engine) as db:
        account = given.manual_account(db, clock, tou=True, history=((date(2026, 11, 26), 700_004),))
        expected = expected_range(db, account.meter_id, TODAY, RULE)
    assert expected.low_wh == 700_000
    assert assess(Entry(700_000, {"peak": 420_000, "valley": 280_000}), expected).unusual == ()
    assert assess(Entry(699_990, {"peak": 420_000, "valley": 279_990}), expected).unusual == (BELOW_LAST, REGISTER_BACK)
