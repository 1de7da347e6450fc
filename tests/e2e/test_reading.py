"""The reader on a phone, in the demo county: opens the day's list, reads the route's hand-read
meter (inside the expected range), then the re-read order's smart meter with a value far above it,
which asks for a note; confirms it with a note and a photo of the meter face.  The list counts
both as read today, the unusual read is in the review queue, and the re-read order is done."""

from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait
from sqlmodel import select

from billing.accounts import Meter
from billing.db import read_session
from billing.kwh import format_kwh
from billing.manual_reads import OUT_OF_RANGE_RULE
from billing.reads import Read
from billing.review import ReviewItem
from billing.staff import StaffUser
from tests.e2e.test_staff import staff_log_in


def _no_sideways_scroll(page) -> None:
    assert page.chrome.execute_script("return document.documentElement.scrollWidth") <= 390, page.chrome.current_url


def _meter(site, kind: str) -> Meter:
    with read_session(site.engine) as db:
        reader_id = db.exec(select(StaffUser.id).where(StaffUser.username == "reader1")).one()
        item = db.exec(select(ReviewItem).where(ReviewItem.assigned_to == reader_id)).one()  # ordered by reviewer1
        if kind == "reread":
            return db.get(Meter, item.meter_id)
        return db.exec(select(Meter).where(Meter.kind == "manual")).first()


def _open_stop(phone, meter: Meter) -> None:
    old = phone.find("html")
    phone.find(f'.stop a[href$="/staff/reading/meters/{meter.id}"]').click()
    WebDriverWait(phone.chrome, 20).until(expected_conditions.staleness_of(old))
    phone.wait_for_text(meter.meter_no)


def _range(phone) -> tuple[int, int]:
    form = phone.find("form.reading-form")
    return int(form.get_attribute("data-low")), int(form.get_attribute("data-high"))


def test_reader_reads_the_day_on_a_phone(site, phone):
    manual, smart = _meter(site, "manual"), _meter(site, "reread")
    staff_log_in(phone, "reader1")
    phone.wait_for_text("开始抄表")
    phone.shoot("reader-dashboard")
    phone.press("开始抄表")
    phone.wait_for_text("今日已抄 0 / 2 户")
    _no_sideways_scroll(phone)
    photo = phone.shoot("day-list")  # also the photo of a "meter face" attached below

    _open_stop(phone, manual)
    low, high = _range(phone)
    phone.fill("#total", format_kwh((low + high) // 20 * 10))
    phone.wait_for_text("在预计范围内")
    _no_sideways_scroll(phone)
    phone.shoot("usual-read")
    phone.press("保存示数")
    phone.wait_for_text("今日已抄 1 / 2 户")
    assert "已保存" in phone.text()
    phone.shoot("after-usual-read")

    _open_stop(phone, smart)
    low, high = _range(phone)
    with read_session(site.engine) as db:
        last = db.exec(select(Read).where(Read.meter_id == smart.id).order_by(Read.read_on.desc())).first()
    total = high // 10 * 10 + 100_000  # 100 kWh above the range
    peak = last.peak_wh // 10 * 10 + (total - last.total_wh) // 20 * 10
    valley = total - peak
    phone.fill("#total", format_kwh(total))
    phone.fill("#peak", format_kwh(peak))
    phone.fill("#valley", format_kwh(valley))
    phone.wait_for_text("超出预计范围")
    phone.find("#photo").send_keys(str(photo))
    phone.shoot("unusual-read-typed")
    phone.press("保存示数")
    phone.wait_for_text("示数异常，请再核对表盘")
    assert "已附照片" in phone.text() and "说明（必填）" in phone.text()
    _no_sideways_scroll(phone)
    phone.shoot("asks-for-a-note")
    phone.fill("#note", "已再次核对表盘，户主说新装了电暖器")
    phone.press("确认保存")
    phone.wait_for_text("今日已抄 2 / 2 户")
    assert "示数异常，已连同说明提交复核" in phone.text() and "复抄单已完成" in phone.text()
    phone.shoot("day-done")

    with read_session(site.engine) as db:
        reader_id = db.exec(select(StaffUser.id).where(StaffUser.username == "reader1")).one()
        today = [db.exec(select(Read).where(Read.meter_id == meter.id, Read.source == "manual")
                         .order_by(Read.read_on.desc())).first() for meter in (manual, smart)]
        usual, unusual = today
        assert usual.read_on == unusual.read_on and {usual.reader_id, unusual.reader_id} == {reader_id}
        assert (unusual.total_wh, unusual.peak_wh, unusual.valley_wh) == (total, peak, valley)
        assert unusual.photo.startswith("photos/") and unusual.note.startswith("已再次核对表盘")
        finding = db.exec(select(ReviewItem).where(ReviewItem.rule == OUT_OF_RANGE_RULE)).one()
        assert (finding.read_id, finding.status) == (unusual.id, "open")
        order = db.exec(select(ReviewItem).where(ReviewItem.rule != OUT_OF_RANGE_RULE)).one()
        assert (order.status, order.action, order.assigned_to) == ("resolved", "reread", None)

    phone.open(f"/staff/reads/{unusual.id}/photo")
    assert phone.chrome.execute_script("return document.images.length && document.images[0].naturalWidth") == 390


def test_the_reviewer_sees_the_readers_note_and_photo(site, phone, desk):
    test_reader_reads_the_day_on_a_phone(site, phone)
    with read_session(site.engine) as db:
        finding = db.exec(select(ReviewItem).where(ReviewItem.rule == OUT_OF_RANGE_RULE)).one()
    staff_log_in(desk, "reviewer1")
    desk.open(f"/staff/review/{finding.id}")
    desk.wait_for_text("户主说新装了电暖器")
    photo = desk.find("img.meter-photo")
    assert desk.chrome.execute_script("return arguments[0].complete && arguments[0].naturalWidth", photo) == 390
    desk.shoot("review-item-with-photo")
