"""The queue as reviewers page through it (filters, age, order, pages, kinds other than reads), the
error assessment of readers and reviewers, and an account's whole story of reads."""

from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from billing import review_actions
from billing.account_history import history
from billing.accounts import Meter
from billing.assessment import assess, month_start
from billing.db import read_session, unit_of_work
from billing.estimation import estimate_read
from billing.meters import MeterInstallation, install
from billing.reads import MANUAL_READ, NewRead, record_read
from billing.review import open_item
from billing.review_queue import QueueFilter, choices, queue
from tests import factories
from tests.review_helpers import FIRST, finding, metered, staff

TODAY = date(2026, 11, 27)


def test_the_queue_filters_by_district_rule_kind_and_age_oldest_first(engine, clock):
    with unit_of_work(engine) as db:
        north, south = factories.district(db), factories.district(db)
        here = metered(db, clock, days=12, district_=north)
        there = metered(db, clock, days=12, district_=south)
        ids = {"old": finding(db, clock, here, 1, "high_use"), "new": finding(db, clock, here, 11, "zero_use"),
               "there": finding(db, clock, there, 5, "high_use")}
        ids["loss"] = open_item(db, kind="read", rule="loss_negative", subject_on=FIRST + timedelta(days=3), at=clock(),
                                district_id=north.id)
        ids["bill"] = open_item(db, kind="bill", rule="bill_high", subject_on=FIRST + timedelta(days=4), at=clock(),
                                account_id=there.account.id)
        closed = finding(db, clock, here, 2, "high_use")
        reviewer = staff(db)["reviewer1"]
        review_actions.accept(db, closed, staff_id=reviewer, now=clock())

    def shown(**filters):
        with read_session(engine) as db:
            return [row.item.id for row in queue(db, QueueFilter(**filters), today=TODAY).rows]

    assert shown() == [ids[name] for name in ("old", "loss", "bill", "there", "new")]
    assert shown(district_id=north.id) == [ids["old"], ids["loss"], ids["new"]]  # a district finding by its own
    assert shown(district_id=south.id) == [ids["bill"], ids["there"]]  # a meter's by its account
    assert shown(rule="high_use") == [ids["old"], ids["there"]]
    assert shown(kind="bill") == [ids["bill"]]
    assert shown(min_age_days=22) == [ids["old"], ids["loss"], ids["bill"]]  # 11-02 .. 11-05 are >= 22 days old
    with read_session(engine) as db:
        page = queue(db, QueueFilter(), today=TODAY, page=2, per_page=2)
        assert (page.total, page.pages, page.page, [row.item.id for row in page.rows]) == (
            5, 3, 2, [ids["bill"], ids["there"]])
        assert queue(db, QueueFilter(), today=TODAY, page=99, per_page=2).page == 3
        first = queue(db, QueueFilter(), today=TODAY).rows[0]
        assert (first.account_no, first.district, first.meter_no, first.age_days) == (
            here.account.account_no, north.name, db.get(Meter, here.account.meter_id).meter_no, 25)
        offered = choices(db)
        assert [d.id for d in offered.districts] == sorted([north.id, south.id])
        assert (offered.rules, offered.kinds) == (["bill_high", "high_use", "loss_negative", "zero_use"], ["bill", "read"])


def _month(day_of_november: int) -> datetime:
    return datetime(2026, 11, day_of_november, 2, tzinfo=UTC)


def test_error_assessment_counts_corrected_reads_and_overturned_decisions(engine, clock):
    with unit_of_work(engine) as db:
        people = staff(db)
        metered(db, clock, days=20, reader_id=people["reader2"])  # a careful reader
        sloppy = metered(db, clock, days=25, reader_id=people["reader1"], misread={10: 90_000, 12: 5_000})
        first, second, third = (finding(db, clock, sloppy, n) for n in (10, 12, 20))
        ami = metered(db, clock, days=25)
        estimated = finding(db, clock, ami, 24, rule="ami_gap")
        # reviewer1 accepts day 12 (wrong), which reviewer2 corrects later; reviewer1 corrects day 10;
        # reviewer2 replaces an AMI read by an estimate that the actual then supersedes (normal).
        review_actions.accept(db, second, staff_id=people["reviewer1"], now=_month(20))
        review_actions.correct(db, first, staff_id=people["reviewer1"], now=_month(20), total_wh=1_100_000,
                               registers_wh={}, reason="看错")
        again = finding(db, clock, sloppy, 12, rule="negative_use")
        review_actions.correct(db, again, staff_id=people["reviewer2"], now=_month(21), total_wh=1_120_000,
                               registers_wh={}, reason="复查照片")
        review_actions.estimate(db, estimated, staff_id=people["reviewer2"], now=_month(22))
        record_read(db, NewRead(ami.account.meter_id, FIRST + timedelta(days=24), "ami", 1_240_500), now=clock())
        review_actions.accept(db, third, staff_id=people["reviewer2"], now=datetime(2026, 11, 30, 16, 30, tzinfo=UTC))
    with read_session(engine) as db:
        november = assess(db, month_start("2026-11"))
        december = assess(db, month_start("2026-12"))
    readers = {line.username: (line.work, line.errors) for line in november.readers}
    assert readers == {"reader1": (25, 2), "reader2": (20, 0)}
    reviewers = {line.username: (line.work, line.errors) for line in november.reviewers}
    assert reviewers == {"reviewer1": (2, 1), "reviewer2": (2, 0)}
    # 2026-11-30 16:30 UTC is 12-01 00:30 in Beijing: December's
    assert [(line.username, line.work) for line in december.reviewers] == [("reviewer2", 1)]
    assert december.readers == []


def test_an_account_history_tells_meters_reads_changes_estimates_and_decisions(engine, clock):
    change = FIRST + timedelta(days=10)
    with unit_of_work(engine) as db:
        people = staff(db)
        subject = metered(db, clock, days=11, reader_id=people["reader1"], misread={5: 90_000})
        old = db.exec(select(MeterInstallation).where(MeterInstallation.account_id == subject.account.id)).one()
        old.removed_on = change
        db.add(old)
        new_meter = Meter(meter_no="T-NEW-HIST", installed_on=change)
        db.add(new_meter)
        db.flush()
        install(db, account_id=subject.account.id, meter_id=new_meter.id, multiplier=1, on=change, now=clock(),
                reason="表计烧毁", staff_id=people["admin1"])
        for n, total in ((0, 0), (1, 10_000), (2, 20_000)):
            record_read(db, NewRead(new_meter.id, change + timedelta(days=n), MANUAL_READ, total,
                                    reader_id=people["reader1"]), now=clock())
        guess = estimate_read(db, new_meter.id, change + timedelta(days=4), now=clock())
        record_read(db, NewRead(new_meter.id, change + timedelta(days=4), MANUAL_READ, 45_000), now=clock())
        item_id = finding(db, clock, subject, 5)
        review_actions.correct(db, item_id, staff_id=people["reviewer1"], now=clock(), total_wh=1_050_000,
                               registers_wh={}, reason="照片显示 1050")
        account_no = subject.account.account_no
    with read_session(engine) as db:
        found = history(db, account_no)
        assert [(span.meter_id, span.removed_on) for span in found.installations] == [
            (subject.account.meter_id, change), (new_meter.id, None)]
        assert len(found.reads) == 11 + 3 + 2 + 1  # both meters, the change day twice, superseded ones too
        assert found.reads[0].read_on == change + timedelta(days=4)
        flagged = subject.on(5)
        assert found.replaced_by[flagged.id].total_wh == 1_050_000 and found.replaced_by[guess.id].total_wh == 45_000
        assert [(c.old.total_wh, c.new.total_wh, c.by, c.reason) for c in found.changes] == [
            (40_000, 45_000, "", ""),
            (1_140_000, 1_050_000, "reviewer1", "照片显示 1050")]
        ((estimate, carry),) = found.estimates
        assert (estimate.id, guess.total_wh, carry.difference_wh) == (guess.id, 40_000, 5_000)
        (item,) = found.items
        assert item.id == item_id and [entry.action for entry, _ in found.trails[item_id]] == ["review.correct"]
        assert found.names[people["admin1"]] == "admin1"
        paged = history(db, account_no, page=2, per_page=10)
        assert (paged.page, paged.pages, len(paged.reads)) == (2, 2, 7)
