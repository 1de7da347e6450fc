"""The reviewer's decisions on the review queue: accept, correct (refused when use would turn
negative), order a re-read and take it back, estimate; each audit-logged, each leaving the read it
decided on the item; on both databases."""

import json
from datetime import timedelta

import pytest
from sqlmodel import select

from billing import review_actions
from billing.audit import AuditEntry
from billing.db import read_session, unit_of_work
from billing.errors import InvalidInput
from billing.estimation import CannotEstimate
from billing.reads import CORRECTED, ESTIMATED, MANUAL_READ, SUPERSEDED, VALID, NewRead, Read, record_read
from billing.review import OPEN, RESOLVED, ReviewItem, open_item
from billing.review_actions import AboveNextRead, BelowPreviousRead, ItemNotOpen
from billing.review_queue import rereads_for
from tests import factories
from tests.review_helpers import FIRST, finding, metered, staff


def _trail(engine, item_id):
    with read_session(engine) as db:
        return [(entry.action, json.loads(entry.before), json.loads(entry.after))
                for entry in db.exec(select(AuditEntry).where(AuditEntry.target == f"review:{item_id}")
                                     .order_by(AuditEntry.id))]


def _valid(db, meter_id, day_number):
    return db.exec(select(Read).where(Read.meter_id == meter_id, Read.read_on == FIRST + timedelta(days=day_number),
                                      Read.status == VALID)).one()


@pytest.fixture
def misread(engine, clock):
    """reader1's read of day 10 is 90 kWh too high: the day before looks huge, the day after negative."""
    with unit_of_work(engine) as db:
        people = staff(db)
        subject = metered(db, clock, reader_id=people["reader1"], misread={10: 90_000})
        item_id = finding(db, clock, subject, 10, used_wh=100_000)
    return people, subject, item_id


def test_accept_keeps_the_read_and_logs_who_and_why(engine, clock, misread):
    people, subject, item_id = misread
    with unit_of_work(engine) as db:
        review_actions.accept(db, item_id, staff_id=people["reviewer1"], now=clock(), note="用户装了空调")
    with read_session(engine) as db:
        item = db.get(ReviewItem, item_id)
        assert (item.status, item.action, item.resolved_by, item.reason) == (RESOLVED, "accept", people["reviewer1"],
                                                                             "用户装了空调")
        assert item.result_read_id == subject.on(10).id and _valid(db, subject.account.meter_id, 10).id == item.result_read_id
    ((action, before, after),) = _trail(engine, item_id)
    assert action == "review.accept" and before["total_wh"] == after["total_wh"] == 1_190_000
    assert after["reason"] == "用户装了空调"
    with unit_of_work(engine) as db, pytest.raises(ItemNotOpen):
        review_actions.accept(db, item_id, staff_id=people["reviewer2"], now=clock())


def test_a_correction_supersedes_the_read_keeps_its_reader_and_names_the_reviewer(engine, clock, misread):
    people, subject, item_id = misread
    with unit_of_work(engine) as db:
        review_actions.correct(db, item_id, staff_id=people["reviewer1"], now=clock(), total_wh=1_100_000,
                               registers_wh={}, reason="照片显示第二位是0")
    with read_session(engine) as db:
        corrected = _valid(db, subject.account.meter_id, 10)
        assert (corrected.source, corrected.total_wh, corrected.reader_id, corrected.note) == (
            CORRECTED, 1_100_000, people["reader1"], "照片显示第二位是0")
        assert corrected.supersedes_id == subject.on(10).id and db.get(Read, subject.on(10).id).status == SUPERSEDED
        item = db.get(ReviewItem, item_id)
        assert (item.action, item.resolved_by, item.result_read_id) == ("correct", people["reviewer1"], corrected.id)
    ((action, before, after),) = _trail(engine, item_id)
    assert (action, before["total_wh"], after["total_wh"], after["reason"]) == (
        "review.correct", 1_190_000, 1_100_000, "照片显示第二位是0")


@pytest.mark.parametrize(("total_wh", "refused", "day", "held"), [
    (1_080_000, BelowPreviousRead, "2026-11-10", "1090.00"),  # below day 9: day 9's use negative
    (1_120_000, AboveNextRead, "2026-11-12", "1110.00"),  # above day 11: day 10's use negative
])
def test_a_correction_that_makes_use_negative_is_refused_naming_the_read(engine, clock, misread, total_wh, refused,
                                                                          day, held):
    people, subject, item_id = misread
    with unit_of_work(engine) as db, pytest.raises(refused) as caught:
        review_actions.correct(db, item_id, staff_id=people["reviewer1"], now=clock(), total_wh=total_wh,
                               registers_wh={}, reason="看错了")
    assert caught.value.params == {"value": f"{total_wh // 1000}.00", "day": day, "held": held}
    assert caught.value.field == "value"
    with read_session(engine) as db:  # nothing changed
        assert _valid(db, subject.account.meter_id, 10).id == subject.on(10).id
        assert db.get(ReviewItem, item_id).status == OPEN
    assert _trail(engine, item_id) == []


def test_a_correction_needs_a_reason(engine, clock, misread):
    people, _, item_id = misread
    with unit_of_work(engine) as db, pytest.raises(InvalidInput) as caught:
        review_actions.correct(db, item_id, staff_id=people["reviewer1"], now=clock(), total_wh=1_100_000,
                               registers_wh={}, reason="  ")
    assert caught.value.field == "reason"


def test_a_time_of_use_correction_gives_every_register_adding_up(engine, clock):
    with unit_of_work(engine) as db:
        people = staff(db)
        subject = metered(db, clock, registers=True, misread={10: 90_000})
        item_id = finding(db, clock, subject, 10)
    with unit_of_work(engine) as db, pytest.raises(InvalidInput) as caught:
        review_actions.correct(db, item_id, staff_id=people["reviewer1"], now=clock(), total_wh=1_100_000,
                               registers_wh={}, reason="看错")
    assert caught.value.field == "registers"
    with unit_of_work(engine) as db, pytest.raises(InvalidInput):
        review_actions.correct(db, item_id, staff_id=people["reviewer1"], now=clock(), total_wh=1_100_000,
                               registers_wh={"peak": 660_000, "valley": 430_000}, reason="看错")
    with unit_of_work(engine) as db, pytest.raises(AboveNextRead):  # peak above the next day's peak
        review_actions.correct(db, item_id, staff_id=people["reviewer1"], now=clock(), total_wh=1_100_000,
                               registers_wh={"peak": 670_000, "valley": 430_000}, reason="看错")
    with unit_of_work(engine) as db:
        review_actions.correct(db, item_id, staff_id=people["reviewer1"], now=clock(), total_wh=1_100_000,
                               registers_wh={"peak": 660_000, "valley": 440_000}, reason="看错")
    with read_session(engine) as db:
        fixed = _valid(db, subject.account.meter_id, 10)
        assert (fixed.total_wh, fixed.peak_wh, fixed.valley_wh) == (1_100_000, 660_000, 440_000)


def test_estimate_replaces_the_read_unless_it_would_make_use_negative(engine, clock):
    with unit_of_work(engine) as db:
        people = staff(db)
        subject = metered(db, clock, reader_id=people["reader1"], misread={19: 90_000})
        last = finding(db, clock, subject, 19)  # the latest read: nothing after it to contradict
        middle = metered(db, clock, days=20, misread={10: 500_000})
        after_spike = finding(db, clock, middle, 11, rule="negative_use")
    with unit_of_work(engine) as db:
        review_actions.estimate(db, last, staff_id=people["reviewer1"], now=clock(), note="表计故障")
    with read_session(engine) as db:
        guess = _valid(db, subject.account.meter_id, 19)
        assert (guess.source, guess.total_wh, guess.supersedes_id) == (ESTIMATED, 1_190_000, subject.on(19).id)
        assert db.get(ReviewItem, last).result_read_id == guess.id
    with unit_of_work(engine) as db, pytest.raises(ItemNotOpen):
        review_actions.estimate(db, last, staff_id=people["reviewer1"], now=clock())
    with unit_of_work(engine) as db, pytest.raises(AboveNextRead) as caught:
        # day 11 estimated from the trend up to day 10's spike lands above day 12's read
        review_actions.estimate(db, after_spike, staff_id=people["reviewer1"], now=clock())
    assert caught.value.field == "estimate"


def test_estimate_without_history_is_refused(engine, clock):
    with unit_of_work(engine) as db:
        people = staff(db)
        subject = metered(db, clock, days=3)
        item_id = finding(db, clock, subject, 0)
    with unit_of_work(engine) as db, pytest.raises(CannotEstimate):
        review_actions.estimate(db, item_id, staff_id=people["reviewer1"], now=clock())


def _reread(engine, clock, people, subject, item_id, day_number, total_wh, replace=False):
    with unit_of_work(engine) as db:
        read, _ = record_read(db, NewRead(subject.account.meter_id, FIRST + timedelta(days=day_number), MANUAL_READ,
                                          total_wh, reader_id=people["reader2"]), now=clock(), replace=replace)
        return review_actions.reread_done(db, db.get(ReviewItem, item_id), read, clock())


def test_a_reread_is_assigned_and_a_later_read_that_agrees_resolves_it(engine, clock, misread):
    people, subject, item_id = misread
    with unit_of_work(engine) as db:
        item = review_actions.order_reread(db, item_id, staff_id=people["reviewer1"], reader_id=people["reader2"],
                                           now=clock(), note="请拍表盘")
        assert (item.status, item.assigned_to, item.ordered_by) == (OPEN, people["reader2"], people["reviewer1"])
        with pytest.raises(InvalidInput):  # a reviewer is not a reader
            review_actions.order_reread(db, item_id, staff_id=people["reviewer1"], reader_id=people["reviewer2"],
                                        now=clock())
    with read_session(engine) as db:
        assert [item.id for item in rereads_for(db, people["reader2"])] == [item_id]
        assert rereads_for(db, people["reader1"]) == []
    assert _reread(engine, clock, people, subject, item_id, 25, 1_250_000) is True
    with read_session(engine) as db:
        item = db.get(ReviewItem, item_id)
        assert (item.status, item.action, item.resolved_by, item.assigned_to) == (
            RESOLVED, "reread", people["reviewer1"], None)
        assert item.result_read_id == subject.on(10).id  # the flagged read stands
        assert rereads_for(db, people["reader2"]) == []
    assert [action for action, *_ in _trail(engine, item_id)] == ["review.reread_ordered", "review.reread"]


def test_a_later_reread_below_the_flagged_read_sends_the_item_back(engine, clock, misread):
    people, subject, item_id = misread
    with unit_of_work(engine) as db:
        review_actions.order_reread(db, item_id, staff_id=people["reviewer1"], reader_id=people["reader2"], now=clock())
    assert _reread(engine, clock, people, subject, item_id, 25, 1_150_000) is False  # below 1190: day 10 was wrong
    with read_session(engine) as db:
        item = db.get(ReviewItem, item_id)
        assert (item.status, item.assigned_to) == (OPEN, None)
    assert _trail(engine, item_id)[-1][0] == "review.reread_returned"


def test_a_same_day_reread_that_differs_replaces_the_read_and_resolves(engine, clock, misread):
    people, subject, item_id = misread
    with unit_of_work(engine) as db:
        review_actions.order_reread(db, item_id, staff_id=people["reviewer1"], reader_id=people["reader2"], now=clock())
    assert _reread(engine, clock, people, subject, item_id, 10, 1_100_000, replace=True) is False
    with read_session(engine) as db:
        item = db.get(ReviewItem, item_id)
        assert item.status == RESOLVED and db.get(Read, item.result_read_id).total_wh == 1_100_000
        assert db.get(Read, subject.on(10).id).status == SUPERSEDED


def test_a_district_finding_can_only_be_accepted(engine, clock):
    with unit_of_work(engine) as db:
        people = staff(db)
        district = factories.district(db)
        item_id = open_item(db, kind="read", rule="loss_negative", subject_on=FIRST, at=clock(), district_id=district.id,
                            detail={"loss_wh": -5_000})
    with unit_of_work(engine) as db:
        assert review_actions.actions_for(db.get(ReviewItem, item_id)) == ("accept",)
        with pytest.raises(InvalidInput) as caught:
            review_actions.correct(db, item_id, staff_id=people["reviewer1"], now=clock(), total_wh=1, registers_wh={},
                                   reason="x")
        assert caught.value.field == "action"
        review_actions.accept(db, item_id, staff_id=people["reviewer1"], now=clock(), note="总表接线已查")
    with read_session(engine) as db:
        item = db.get(ReviewItem, item_id)
        assert (item.status, item.result_read_id) == (RESOLVED, None)


def test_other_kinds_of_item_bring_their_own_actions(engine, clock):
    with unit_of_work(engine) as db:
        subject = metered(db, clock, days=2)
        item_id = open_item(db, kind="bill", rule="bill_high", subject_on=FIRST, at=clock(),
                            account_id=subject.account.id)
        assert review_actions.actions_for(db.get(ReviewItem, item_id)) == ()
