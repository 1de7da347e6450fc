"""A reviewer at the desk: opens the queue, filters it, opens a finding about a reader's manual read,
has a correction that would make use negative refused, corrects the read with a reason, and finds
the correction, struck-through original and all, on the account's history.

Until the validation rules land in the demo, the test opens its findings itself through the
service (``billing.review.open_item``) on the demo county's own reads.
"""

from sqlmodel import select

from billing.accounts import Account
from billing.db import read_session, unit_of_work
from billing.kwh import format_kwh
from billing.reads import MANUAL_READ, VALID, Read
from billing.review import open_item
from tests.e2e.test_staff import staff_log_in


def _findings(site) -> tuple[int, Read, Read, Account]:
    """A high-use finding on the latest manual read of the demo, and a zero-use one elsewhere."""
    with unit_of_work(site.engine) as db:
        flagged = db.exec(select(Read).where(Read.source == MANUAL_READ, Read.status == VALID)
                          .order_by(Read.read_on.desc(), Read.id)).first()
        before = db.exec(select(Read).where(Read.meter_id == flagged.meter_id, Read.read_on < flagged.read_on)
                         .order_by(Read.read_on.desc())).first()
        account = db.exec(select(Account).where(Account.meter_id == flagged.meter_id)).one()
        item_id = open_item(db, kind="read", rule="high_use", subject_on=flagged.read_on, at=flagged.received_at,
                            account_id=account.id, meter_id=flagged.meter_id, read_id=flagged.id,
                            detail={"used_wh": flagged.total_wh - before.total_wh})
        other = db.exec(select(Account).where(Account.district_id != account.district_id).order_by(Account.id)).first()
        open_item(db, kind="read", rule="zero_use", subject_on=flagged.read_on, at=flagged.received_at,
                  account_id=other.id, meter_id=other.meter_id, detail={"days": 7})
    return item_id, flagged, before, account


def test_reviewer_filters_the_queue_and_corrects_a_read_with_a_reason(site, desk):
    item_id, flagged, before, account = _findings(site)
    staff_log_in(desk, "reviewer1")
    desk.open("/staff/review")
    rows = desk.find("table.queue tbody").text
    assert "电量突增" in rows and "连续零电量" in rows
    desk.shoot("queue")
    desk.find("select[name=rule] option[value=high_use]").click()
    desk.press("筛选")
    rows = desk.find("table.queue tbody").text
    assert "电量突增" in rows and "连续零电量" not in rows
    desk.shoot("queue-filtered")
    desk.click(f"a[href='/staff/review/{item_id}']")
    desk.wait_for_text("被标记的示数")
    assert desk.all("svg rect.flagged")  # the meter's history, the flagged day marked
    desk.shoot("item")

    too_low = format_kwh(before.total_wh - 1000)
    desk.fill("#value", too_low)
    desk.fill("#reason", "照片显示读数有误")
    desk.press("更正示数")
    desk.wait_for_text("用电量将为负，未更正")
    desk.shoot("correction-refused")

    halfway = (before.total_wh + (flagged.total_wh - before.total_wh) // 2) // 10 * 10
    desk.fill("#value", format_kwh(halfway))
    desk.fill("#reason", "照片显示读数有误")
    desk.press("更正示数")
    desk.wait_for_text("已更正示数")
    desk.shoot("corrected")
    with read_session(site.engine) as db:
        held = db.exec(select(Read).where(Read.meter_id == flagged.meter_id, Read.read_on == flagged.read_on,
                                          Read.status == VALID)).one()
        assert (held.source, held.total_wh, held.reader_id) == ("corrected", halfway, flagged.reader_id)

    desk.click(f"a[href='/staff/accounts/{account.account_no}']")
    desk.wait_for_text("示数更正")
    assert "照片显示读数有误" in desk.text() and "李秀英" in desk.text()
    assert format_kwh(flagged.total_wh) in [cell.text for cell in desk.all("del")]
    desk.shoot("account-history")
