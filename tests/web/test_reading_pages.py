"""The reader's phone pages: the day's list, one meter per page with the expected range, saving a
read, the note an unusual read needs, the photo of the meter face and who may see it."""

import io
import re
from datetime import date
from html import unescape
from pathlib import Path

import pytest
from sqlmodel import select

from billing.accounts import VACANT, Account
from billing.db import read_session, unit_of_work
from billing.reads import AMI, NewRead, Read, record_read
from billing.review import OPEN, RESOLVED, ReviewItem
from billing.staff import StaffUser
from tests import reading_helpers as given
from tests.conftest import csrf_token
from tests.reading_helpers import TODAY
from tests.staff_helpers import add_team, log_in
from tests.unit.test_read_photos import JPEG

DAY_LIST = "/staff/reading"


@pytest.fixture
def world(engine, clock):
    """reader1's route of two hand-read meters, and a re-read order on a third meter."""
    add_team(engine)
    with unit_of_work(engine) as db:
        reader_id = db.exec(select(StaffUser.id).where(StaffUser.username == "reader1")).one()
        first, second = given.manual_account(db, clock), given.manual_account(db, clock, tou=True)
        given.route(db, reader_id, [first, second])
        reread = given.manual_account(db, clock)
        item = given.reread_order(db, clock, reread, reader_id)
    return {"reader_id": reader_id, "first": first, "tou": second, "reread": reread, "item": item.id}


@pytest.fixture
def reader(app, world):
    client = app.test_client()
    log_in(client, "reader1")
    return client


def _page(client, meter_id):
    return f"/staff/reading/meters/{meter_id}"


def _post(client, meter_id, **fields):
    token = csrf_token(client, _page(client, meter_id))
    return client.post(_page(client, meter_id), data={"csrf_token": token, **fields}, content_type="multipart/form-data")


def _reads_today(engine):
    with read_session(engine) as db:
        return [(r.meter_id, r.total_wh, r.reader_id) for r in db.exec(select(Read).where(Read.read_on == TODAY))]


def _text(answer) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", answer.get_data(as_text=True))).split())


def test_the_reader_finds_the_day_from_the_dashboard_and_the_menu(reader, world):
    dashboard = reader.get("/staff/").get_data(as_text=True)
    assert f'href="{DAY_LIST}"' in dashboard and "今日已抄 0 / 3 户" in dashboard and "复抄单 1 张" in dashboard
    day = reader.get(DAY_LIST)
    text = _text(day)
    assert day.status_code == 200 and "今日已抄 0 / 3 户" in text
    for account in (world["first"], world["tou"], world["reread"]):
        assert account.account_no in text and f'href="{_page(reader, account.meter_id)}"' in day.get_data(as_text=True)
    assert "复抄单" in text and "测试抄表段" in text and "上次 700.00 kWh · 10-28" in text
    assert text.index(world["reread"].account_no) < text.index(world["first"].account_no) < text.index(world["tou"].account_no)


def test_the_entry_page_shows_what_to_check_and_the_expected_range(reader, world):
    page = reader.get(_page(reader, world["tou"].meter_id)).get_data(as_text=True)
    text = _text(reader.get(_page(reader, world["tou"].meter_id)))
    assert "李*荣" in text and "李小荣" not in text and "城关镇幸福路1号" in text
    assert "预计今日总示数 850.00 – 1300.00 kWh" in text and "日均 10.00 kWh × 30 天" in text
    assert "2026-10-28" in text and "700.00" in text
    for name in ("total", "peak", "valley"):
        assert re.search(rf'<input id="{name}" name="{name}" value="" inputmode="decimal"', page)
    assert 'name="sharp"' not in page  # this meter has 峰谷 registers only
    assert 'type="file" accept="image/*" capture="environment"' in page and 'enctype="multipart/form-data"' in page
    assert 'data-low="850000"' in page and 'data-high="1300000"' in page and "reading.js" in page


def test_a_usual_read_is_saved_and_the_list_moves_on(engine, reader, world):
    answer = _post(reader, world["first"].meter_id, total="1012.34")
    assert answer.status_code == 302 and answer.headers["Location"].endswith(DAY_LIST)
    assert _reads_today(engine) == [(world["first"].meter_id, 1_012_340, world["reader_id"])]
    day = _text(reader.get(DAY_LIST))
    assert "已保存" in day and "1012.34 kWh" in day and "今日已抄 1 / 3 户" in day


def test_a_read_is_checked_against_the_read_rules_as_it_is_saved(engine, reader, world):
    with unit_of_work(engine) as db:
        account = db.get(Account, world["first"].id)
        account.status = VACANT  # use within the expected range, but nobody should be living there
    assert _post(reader, world["first"].meter_id, total="1012.34").status_code == 302
    with read_session(engine) as db:
        items = db.exec(select(ReviewItem.rule, ReviewItem.account_id).where(ReviewItem.meter_id == world["first"].meter_id))
        assert list(items) == [("inactive_use", world["first"].id)]


def test_bad_values_are_named_by_field_and_kept(engine, reader, world):
    answer = _post(reader, world["tou"].meter_id, total="1000.123", peak="", valley="400", note="门口有狗")
    text = _text(answer)
    assert answer.status_code == 400
    assert "总示数有误：请照表盘填写数字" in text and "请填写峰示数" in text
    assert "谷示数有误" not in text and "请填写谷示数" not in text
    page = answer.get_data(as_text=True)
    assert 'value="1000.123"' in page and 'value="400"' in page and "门口有狗" in page and 'aria-invalid="true"' in page
    assert _reads_today(engine) == []


def test_an_unusual_read_asks_for_a_note_before_it_is_saved(engine, reader, world):
    meter_id = world["first"].meter_id
    asked = _post(reader, meter_id, total="2000")
    text, page = _text(asked), asked.get_data(as_text=True)
    assert asked.status_code == 200 and "示数异常，请再核对表盘" in text and "高于预计范围上限 1300.00 kWh" in text
    assert "说明（必填）" in text and "确认保存" in text and 'value="2000"' in page
    assert _reads_today(engine) == []
    confirmed = re.search(r'name="confirmed" value="([^"]+)"', page).group(1)
    no_note = _post(reader, meter_id, total="2000", confirmed=confirmed, note="  ")
    assert no_note.status_code == 400 and "请写明核对情况" in _text(no_note) and _reads_today(engine) == []
    saved = _post(reader, meter_id, total="2000", confirmed=confirmed, note="户主新装了电暖器")
    assert saved.status_code == 302 and _reads_today(engine) == [(meter_id, 2_000_000, world["reader_id"])]
    assert "示数异常，已连同说明提交复核" in _text(reader.get(DAY_LIST))
    with read_session(engine) as db:
        item = db.exec(select(ReviewItem).where(ReviewItem.rule == "reader_confirmed_out_of_range")).one()
        assert (item.status, item.details["note"], item.details["high_wh"]) == (OPEN, "户主新装了电暖器", 1_300_000)


def test_changing_the_value_after_the_warning_needs_no_note_if_it_is_usual(engine, reader, world):
    asked = _post(reader, world["first"].meter_id, total="2000").get_data(as_text=True)
    confirmed = re.search(r'name="confirmed" value="([^"]+)"', asked).group(1)
    assert _post(reader, world["first"].meter_id, total="1000", confirmed=confirmed).status_code == 302
    other = _post(reader, world["tou"].meter_id, total="1000", peak="600", valley="300", confirmed=confirmed,
                  note="x")  # a confirmation holds for the values it was shown, not others
    assert other.status_code == 200 and "尖峰平谷示数之和与总示数不符" in _text(other)
    assert _reads_today(engine) == [(world["first"].meter_id, 1_000_000, world["reader_id"])]


def test_a_re_read_answers_its_order(engine, reader, world):
    assert _post(reader, world["reread"].meter_id, total="1000", note="表计正常").status_code == 302
    day = _text(reader.get(DAY_LIST))
    assert "复抄单已完成" in day and "今日已抄 1 / 3 户" in day
    with read_session(engine) as db:
        item = db.get(ReviewItem, world["item"])
        assert (item.status, item.action, item.assigned_to) == (RESOLVED, "reread", None)


def test_a_re_read_that_disagrees_says_it_went_back_to_the_reviewer(engine, reader, world):
    """The order doubts yesterday's read, which there is none of; a read below the last one is."""
    with unit_of_work(engine) as db:
        item = db.get(ReviewItem, world["item"])
        item.subject_on = date(2026, 10, 28)
        db.add(item)
    asked = _post(reader, world["reread"].meter_id, total="600").get_data(as_text=True)
    confirmed = re.search(r'name="confirmed" value="([^"]+)"', asked).group(1)
    assert _post(reader, world["reread"].meter_id, total="600", confirmed=confirmed, note="表盘确认").status_code == 302
    assert "复抄示数比复核员质疑的示数还小，已退回复核员处理" in _text(reader.get(DAY_LIST))
    with read_session(engine) as db:
        assert (db.get(ReviewItem, world["item"]).status, db.get(ReviewItem, world["item"]).assigned_to) == (OPEN, None)


def test_a_conflicting_read_that_day_is_shown_not_saved(engine, clock, reader, world):
    with unit_of_work(engine) as db:
        record_read(db, NewRead(world["first"].meter_id, TODAY, AMI, 1_000_000), now=clock())
    answer = _post(reader, world["first"].meter_id, total="1000.50")
    assert answer.status_code == 409
    assert "该表今日已有示数 1000.00 kWh，与录入的 1000.50 kWh 不同，未保存" in _text(answer)
    assert 'value="1000.50"' in answer.get_data(as_text=True)


def test_a_photo_is_stored_with_the_read_and_shown_to_staff_who_read_or_review(app, engine, reader, world):
    answer = _post(reader, world["first"].meter_id, total="1000", photo=(io.BytesIO(JPEG), "../../evil.php"))
    assert answer.status_code == 302
    with read_session(engine) as db:
        read = db.exec(select(Read).where(Read.read_on == TODAY)).one()
    assert re.fullmatch(r"photos/2026/11/[0-9a-f]{32}\.jpg", read.photo)
    assert (Path(app.instance_path) / read.photo).read_bytes() == JPEG
    url = f"/staff/reads/{read.id}/photo"
    for role, status in (("reviewer1", 200), ("admin1", 200), ("reader1", 200), ("cashier1", 403), ("finance1", 403)):
        client = app.test_client()
        log_in(client, role)
        shown = client.get(url)
        assert shown.status_code == status, role
        if status == 200:
            assert shown.data == JPEG and shown.mimetype == "image/jpeg" and "private" in shown.headers["Cache-Control"]
    assert app.test_client().get(url).status_code == 302  # to the login
    with unit_of_work(engine) as db:
        other = record_read(db, NewRead(world["tou"].meter_id, TODAY, AMI, 1_000_000), now=read.received_at)[0]
    assert reader.get(f"/staff/reads/{other.id}/photo").status_code == 404
    assert reader.get("/staff/reads/999999/photo").status_code == 404


@pytest.mark.parametrize(("photo", "problem"), [
    (b"GIF89a" + b"\x00" * 100, "照片须为 JPEG 或 PNG 格式"),
    (JPEG + b"\x00" * (1024 * 1024), "照片超过 1 MB"),
])
def test_a_photo_that_is_not_a_jpeg_or_png_or_too_large_is_refused(app, engine, reader, world, photo, problem):
    app.extensions["dianfei"].settings = type(app.extensions["dianfei"].settings)(
        **{**app.extensions["dianfei"].settings.__dict__, "READ_PHOTO_MAX_MB": 1})
    answer = _post(reader, world["first"].meter_id, total="1000", note="门口有狗", photo=(io.BytesIO(photo), "meter.jpg"))
    assert answer.status_code == 400 and problem in _text(answer)
    assert 'value="1000"' in answer.get_data(as_text=True) and _reads_today(engine) == []


def test_the_photo_is_kept_through_the_confirm_step(engine, reader, world):
    asked = _post(reader, world["first"].meter_id, total="2000", photo=(io.BytesIO(JPEG), "meter.jpg"))
    page = asked.get_data(as_text=True)
    assert "已附照片" in _text(asked)
    confirmed = re.search(r'name="confirmed" value="([^"]+)"', page).group(1)
    token = re.search(r'name="photo_token" value="([^"]+)"', page).group(1)
    assert _post(reader, world["first"].meter_id, total="2000", confirmed=confirmed, note="电暖器",
                 photo_token=token).status_code == 302
    with read_session(engine) as db:
        assert db.exec(select(Read.photo).where(Read.read_on == TODAY)).one().startswith("photos/2026/11/")


def test_a_photo_token_is_good_only_for_its_reader_and_meter(app, engine, reader, world):
    page = _post(reader, world["first"].meter_id, total="2000", photo=(io.BytesIO(JPEG), "m.jpg")).get_data(as_text=True)
    token = re.search(r'name="photo_token" value="([^"]+)"', page).group(1)
    for meter_id, client_token in ((world["tou"].meter_id, token), (world["reread"].meter_id, token + "x")):
        assert _post(reader, meter_id, total="1000", peak="600", valley="400", photo_token=client_token).status_code == 302
    with read_session(engine) as db:
        assert db.exec(select(Read.photo).where(Read.read_on == TODAY)).all() == [None, None]


def test_the_body_cap_leaves_room_for_a_photo_and_no_more(reader, world):
    token = csrf_token(reader, _page(reader, world["first"].meter_id))
    big = reader.post(_page(reader, world["first"].meter_id), content_type="multipart/form-data",
                      data={"csrf_token": token, "total": "1000", "photo": (io.BytesIO(JPEG + b"\x00" * 22 * 1024 * 1024), "m.jpg")})
    assert big.status_code == 413


def test_a_reader_opens_only_their_own_meters_and_others_no_reading_at_all(app, engine, clock, reader, world):
    with unit_of_work(engine) as db:
        stranger = given.manual_account(db, clock)
    assert reader.get(_page(reader, stranger.meter_id)).status_code == 404
    assert reader.post(_page(reader, stranger.meter_id), data={"total": "1"}).status_code in (400, 404)
    admin = app.test_client()
    log_in(admin, "admin1")
    assert admin.get(_page(admin, stranger.meter_id)).status_code == 200  # standing in for a reader
    assert "今日没有要抄的表" in _text(admin.get(DAY_LIST))
    cashier = app.test_client()
    log_in(cashier, "cashier1")
    assert cashier.get(DAY_LIST).status_code == 403 and cashier.get(_page(cashier, world["first"].meter_id)).status_code == 403


def test_the_pages_in_english(reader, world):
    text = _text(reader.get(DAY_LIST + "?lang=en"))
    assert "Read today 0 / 3" in text and "Re-read orders" in text
    asked = _text(_post(reader, world["first"].meter_id, total="2000"))
    assert "Unusual reading" in asked and "Confirm and save" in asked
