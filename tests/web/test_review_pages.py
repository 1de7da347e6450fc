"""The reviewer's desk pages: the queue with its filters, an item with its evidence, chart and photo,
the decisions as forms (a refused correction shows why and changes nothing), the account's
history, the error assessment with its CSV, and the line-loss page."""

import csv
import io
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from billing.accounts import District
from billing.db import read_session, unit_of_work
from billing.line_loss import DistrictLoss
from billing.reads import CORRECTED, VALID, Read
from billing.review import RESOLVED, ReviewItem, open_item
from tests import factories
from tests.conftest import csrf_token
from tests.review_helpers import FIRST, finding, metered, staff
from tests.staff_helpers import log_in


@pytest.fixture
def desk(engine, clock, app):
    """reviewer1 logged in; reader1's day-10 read is 90 kWh too high and flagged, with a photo."""
    with unit_of_work(engine) as db:
        people = staff(db)
        north = factories.district(db, code="TQ-N")
        subject = metered(db, clock, reader_id=people["reader1"], misread={10: 90_000}, district_=north,
                          account_no="3301000077")
        flagged = subject.on(10)
        flagged.photo = "photos/2026/11/m10.jpg"
        db.add(flagged)
        item_id = finding(db, clock, subject, 10, used_wh=100_000, average_wh=10_000, ratio=10)
        other = finding(db, clock, metered(db, clock, days=12), 3, rule="no_such_rule_yet")
    photo = Path(app.config["INSTANCE_PATH"]) / flagged.photo
    photo.parent.mkdir(parents=True, exist_ok=True)
    photo.write_bytes(b"\xff\xd8\xff\xe0 a jpeg")
    client = app.test_client()
    log_in(client, "reviewer1")
    return client, people, subject, item_id, other


def _page(client, path, status=200):
    answer = client.get(path)
    assert answer.status_code == status, (path, answer.status_code)
    return answer.get_data(as_text=True)


def test_the_queue_lists_and_filters_open_items(desk):
    client, _, subject, item_id, other = desk
    page = _page(client, "/staff/review")
    assert "电量突增" in page and "no_such_rule_yet" in page  # an unknown code still shows, as itself
    assert page.index(f'"/staff/review/{other}"') < page.index(f'"/staff/review/{item_id}"')  # 11-04 before 11-11
    filtered = _page(client, "/staff/review?rule=high_use")
    assert f"/staff/review/{item_id}" in filtered and f"/staff/review/{other}" not in filtered
    assert f"/staff/review/{item_id}" not in _page(client, "/staff/review?age=30")
    assert "台区筛选有误" in _page(client, "/staff/review?district=x", 400)
    dashboard = _page(client, "/staff/")
    assert f"/staff/review/{item_id}" in dashboard and "进入复核队列" in dashboard


def test_an_item_shows_rule_evidence_chart_table_photo_and_actions(desk):
    client, people, subject, item_id, _ = desk
    page = _page(client, f"/staff/review/{item_id}")
    assert "电量突增" in page and "high_use" in page and subject.account.account_no in page
    assert "期间用电量" in page and "100.00 kWh" in page  # the rule's evidence in words
    assert "<svg" in page and 'class="bar flagged' in page and 'class="mark"' in page  # chart, flagged day marked
    assert "<details>" in page and "1190.00" in page  # the table behind the chart
    assert f'src="/staff/reads/{subject.on(10).id}/photo"' in page
    for action in ("accept", "correct", "reread", "estimate"):
        assert f"/staff/review/{item_id}/{action}" in page
    assert f'<option value="{people["reader1"]}"' in page and f'<option value="{people["reviewer2"]}"' not in page
    assert "style=" not in page and "<script>" not in page and "onclick" not in page  # the strict CSP holds


def test_the_photo_is_served_to_staff_only_and_only_from_the_photo_folder(engine, desk, app):
    client, _, subject, _, _ = desk
    answer = client.get(f"/staff/reads/{subject.on(10).id}/photo")
    assert answer.status_code == 200 and answer.data.startswith(b"\xff\xd8")
    assert app.test_client().get(f"/staff/reads/{subject.on(10).id}/photo").status_code == 302  # to the login
    with unit_of_work(engine) as db:
        read = db.get(Read, subject.on(11).id)
        read.photo = "photos/../dianfei.sqlite3"
        db.add(read)
    assert client.get(f"/staff/reads/{subject.on(11).id}/photo").status_code == 404
    assert client.get(f"/staff/reads/{subject.on(12).id}/photo").status_code == 404  # no photo
    assert client.get(f"/staff/reads/{2**40}/photo").status_code == 404


def test_a_correction_through_the_page_is_recorded_and_shown_on_the_account(engine, desk):
    client, people, subject, item_id, _ = desk
    token = csrf_token(client, f"/staff/review/{item_id}")
    refused = client.post(f"/staff/review/{item_id}/correct", data={
        "csrf_token": token, "value": "1080", "reason": "看错"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "示数 1080.00 低于 2026-11-10 的示数 1090.00，用电量将为负，未更正" in page
    assert 'value="1080"' in page and 'value="看错"' in page  # the form as typed
    missing = client.post(f"/staff/review/{item_id}/correct", data={"csrf_token": token, "value": "1100", "reason": ""})
    assert missing.status_code == 400 and "更正示数必须填写原因" in missing.get_data(as_text=True)
    with read_session(engine) as db:
        assert db.get(ReviewItem, item_id).status == "open"
    done = client.post(f"/staff/review/{item_id}/correct", data={
        "csrf_token": token, "value": "1100.00", "reason": "照片显示第二位是0"}, follow_redirects=True)
    assert done.status_code == 200 and "已更正示数" in done.get_data(as_text=True)
    with read_session(engine) as db:
        item = db.get(ReviewItem, item_id)
        fixed = db.get(Read, item.result_read_id)
        assert (item.status, fixed.source, fixed.total_wh, fixed.status) == (RESOLVED, CORRECTED, 1_100_000, VALID)
    again = client.post(f"/staff/review/{item_id}/accept", data={"csrf_token": token})
    assert again.status_code == 409 and "已经处理过了" in again.get_data(as_text=True)
    history = _page(client, f"/staff/accounts/{subject.account.account_no}")
    assert "<del>1190.00</del>" in history and "照片显示第二位是0" in history and "reviewer1" in history
    assert "替代为更正 1100.00" in history


def test_reread_and_estimate_through_the_page(engine, desk):
    client, people, subject, item_id, _ = desk
    token = csrf_token(client, f"/staff/review/{item_id}")
    ordered = client.post(f"/staff/review/{item_id}/reread", data={"csrf_token": token, "reader": str(people["reader2"]),
                                                                   "note": "请拍照"}, follow_redirects=True)
    assert "已派发复抄" in ordered.get_data(as_text=True) and "等待复抄" in ordered.get_data(as_text=True)
    assert "待复抄：reader2" in _page(client, "/staff/review")
    bad = client.post(f"/staff/review/{item_id}/reread", data={"csrf_token": token, "reader": "x"})
    assert bad.status_code == 400 and "请选择一位在岗的抄表员" in bad.get_data(as_text=True)
    client.post(f"/staff/review/{item_id}/estimate", data={"csrf_token": token, "note": "表计故障"})
    with read_session(engine) as db:
        item = db.get(ReviewItem, item_id)
        assert (item.action, item.assigned_to, db.get(Read, item.result_read_id).source) == ("estimate", None, "estimated")
    assert client.post(f"/staff/review/{item_id}/nonsense", data={"csrf_token": token}).status_code == 404


def test_other_roles_cannot_decide(engine, desk, app):
    _, _, _, item_id, _ = desk
    reader = app.test_client()
    log_in(reader, "reader1")
    assert reader.get("/staff/review").status_code == 403
    assert reader.get(f"/staff/review/{item_id}").status_code == 403
    assert reader.get("/staff/accounts/3301000077").status_code == 200  # readers see an account's reads


def test_the_assessment_page_and_its_csv_show_the_same_numbers(engine, clock, desk):
    client, people, subject, item_id, _ = desk
    token = csrf_token(client, f"/staff/review/{item_id}")
    client.post(f"/staff/review/{item_id}/correct", data={"csrf_token": token, "value": "1100", "reason": "看错"})
    page = _page(client, "/staff/assessment?month=2026-11")
    rows = re.findall(r'<tr><td class="code">(\w+)</td><td>\w+</td><td class="num">(\d+)</td><td class="num">(\d+)</td>'
                      r'<td class="num">([\d.]+%)</td></tr>', page)
    assert rows == [("reader1", "20", "1", "5.00%"), ("reviewer1", "1", "0", "0.00%")]
    answer = client.get("/staff/assessment.csv?month=2026-11")
    assert answer.data.startswith("\ufeff".encode()) and answer.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(answer.data.decode("utf-8-sig"))))
    assert lines[0] == ["月份", "岗位", "工号", "姓名", "工作量", "差错", "差错率"]
    assert [(line[2], line[4], line[5], line[6]) for line in lines[1:-2]] == rows
    assert [line[1:] for line in lines[-2:]] == [["账单作废", "", "", "0", "0", "—"], ["账单重开", "", "", "0", "0", "—"]]
    assert lines[1][:2] == ["2026-11", "抄表员"]
    assert "月份格式应为 2026-11" in _page(client, "/staff/assessment?month=2026-13", 400)


def test_the_line_loss_page_shows_latest_figures_flags_and_trend(engine, clock, desk):
    client = desk[0]
    with unit_of_work(engine) as db:
        district = factories.district(db, code="TQ-LOSS")
        for n in range(14):
            first = date(2025 + (9 + n) // 12, (9 + n) % 12 + 1, 1)  # 2025-10 .. 2026-11
            db.add(DistrictLoss(district_id=district.id, period="month", starts_on=first, supply_wh=1_000_000,
                                customers_wh=950_000 + n * 10_000, loss_wh=50_000 - n * 10_000, estimated=n == 3,
                                complete=n != 13, computed_at=clock()))
        db.add(DistrictLoss(district_id=district.id, period="day", starts_on=date(2026, 11, 26), supply_wh=30_000,
                            customers_wh=29_100, loss_wh=900, computed_at=clock()))
        db.add(DistrictLoss(district_id=district.id, period="day", starts_on=date(2026, 11, 25), supply_wh=30_000,
                            customers_wh=20_000, loss_wh=10_000, computed_at=clock()))
    page = _page(client, "/staff/loss")
    assert "日 2026-11-26" in page and "3.00%" in page and "33.33%" not in page  # the latest day only
    assert "月 2026-11" in page and "-8.00%" in page and "数据不全" in page  # the latest month, negative, flagged
    chart = page[page.index(f'id="district-{district.id}"'):]
    assert chart.count('<rect class="bar') == 14 and 'class="bar negative' in chart and 'class="bar estimated' in chart


def test_an_unknown_item_or_account_is_a_404(desk):
    client = desk[0]
    assert client.get("/staff/review/999999").status_code == 404
    assert client.get(f"/staff/review/{2**40}").status_code == 404
    assert client.get("/staff/accounts/3309999999").status_code == 404
    assert client.get("/staff/accounts?account_no=3301000077").headers["Location"].endswith("/staff/accounts/3301000077")
    assert client.get("/staff/accounts?account_no=12").status_code == 400


def test_a_district_finding_shows_without_a_meter(engine, clock, desk):
    client = desk[0]
    with unit_of_work(engine) as db:
        district = db.exec(select(District).where(District.code == "TQ-N")).one()
        item_id = open_item(db, kind="read", rule="loss_negative", subject_on=FIRST + timedelta(days=3), at=clock(),
                            district_id=district.id, detail={"loss_wh": -5_000})
        for n in range(6):
            db.add(DistrictLoss(district_id=district.id, period="day", starts_on=FIRST + timedelta(days=n),
                                supply_wh=100_000, customers_wh=95_000 if n != 3 else 105_000,
                                loss_wh=5_000 if n != 3 else -5_000, computed_at=clock()))
    page = _page(client, f"/staff/review/{item_id}")
    assert "台区负线损" in page and "-5.00 kWh" in page and district.name in page
    assert page.count('<rect class="bar') == 6 and 'class="bar flagged negative"' in page  # the day, marked
    assert f"/staff/review/{item_id}/accept" in page and f"/staff/review/{item_id}/correct" not in page
