"""A resident's bills on the portal: the list with states, a bill explained and its PDF, the home
page's balance in words, and a stranger's or a made-up bill as a Chinese 404, never a leak or a 500."""

from __future__ import annotations

import io
import pytest
from pypdf import PdfReader

from billing.db import unit_of_work
from billing.managers import ManagerAccount
from tests import factories
from tests.bill_helpers import pay
from tests.explained_helpers import OCT_FEN, SEP_FEN, billed_account, bind, resident_log_in

PHONE, STRANGER = "13800000011", "13800000012"


@pytest.fixture
def billed(engine, clock, client):
    billed = billed_account(engine, clock, holder_name="李小荣")
    other = billed_account(engine, clock, holder_name="赵强")
    bind(engine, clock, PHONE, billed.account.id)
    bind(engine, clock, STRANGER, other.account.id)
    resident_log_in(client, PHONE)
    return billed, other


def test_the_home_page_says_the_balance_in_words_and_links_the_bills(billed, client, engine, clock):
    mine, _other = billed
    page = client.get("/").get_data(as_text=True)
    assert "本期应缴 276.00 元，截止 2026-12-12" in page
    assert f'href="/bills/{mine.account.account_no}"' in page
    pay(engine, clock, mine.account, SEP_FEN + OCT_FEN + 1234)
    assert "余额 12.34 元" in client.get("/").get_data(as_text=True)


def test_overdue_arrears_say_the_days(billed, client, clock):
    clock.advance(days=23)  # 2026-12-20: the bills were due on 12-12
    resident_log_in(client, PHONE)  # the session of 11-27 has expired
    assert "欠费 276.00 元（逾期 8 天）" in client.get("/").get_data(as_text=True)


def test_the_bill_list_shows_each_bill_newest_first_with_its_state(billed, client, engine, clock):
    mine, _other = billed
    pay(engine, clock, mine.account, SEP_FEN)
    page = client.get(f"/bills/{mine.account.account_no}").get_data(as_text=True)
    assert page.index(mine.october.number) < page.index(mine.september.number)
    assert "2026 年 10 月" in page and "168.40" in page and "107.60" in page
    assert "已缴清" in page and "截止 2026-12-12" in page
    assert f"/bills/{mine.account.account_no}/{mine.october.id}" in page


def test_a_bill_page_explains_lines_reads_tiers_and_forecast(billed, client):
    mine, _other = billed
    page = client.get(f"/bills/{mine.account.account_no}/{mine.october.id}").get_data(as_text=True)
    assert mine.october.number in page and "168.40" in page and "截止 2026-12-12" in page
    assert "第一档电费" in page and "第二档电费" in page and "0.588" in page
    assert "2026-10-01" in page and "2600.00" in page and "2900.00" in page and "本期示数均为实际抄表或采集所得" in page
    assert "本年累计用电 2900.00 kWh，处于第 2 档，本档还剩 1900.00 kWh" in page
    assert "2026-11-01 至 2026-11-30 预计用电 245.90 kWh，电费约 144.59 元" in page
    assert "李*荣" in page and "李小荣" not in page


def test_the_bill_pdf_is_the_bill_with_its_number(billed, client):
    mine, _other = billed
    answer = client.get(f"/bills/{mine.account.account_no}/{mine.october.id}.pdf")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.data)).pages)
    assert mine.october.number in text and "168.40" in text and "本档还剩" in text


@pytest.mark.parametrize("path", [
    "/bills/{other_no}", "/bills/{other_no}/{other_bill}", "/bills/{other_no}/{other_bill}.pdf",
    "/bills/{mine_no}/{other_bill}", "/bills/{mine_no}/{other_bill}.pdf", "/bills/{mine_no}/999999",
    "/bills/{mine_no}/99999999999999999999", "/bills/{mine_no}/0", "/bills/{mine_no}/abc", "/bills/not-a-number",
])
def test_a_strangers_or_a_made_up_bill_is_a_chinese_404(billed, client, path):
    mine, other = billed
    url = path.format(other_no=other.account.account_no, other_bill=other.october.id,
                      mine_no=mine.account.account_no)
    answer = client.get(url)
    body = answer.get_data(as_text=True)
    assert answer.status_code == 404
    assert "页面不存在" in body or "找不到" in body
    assert other.october.number not in body and "赵" not in body


def test_logged_out_the_bills_ask_for_a_login(billed, client):
    mine, _other = billed
    answer = client.application.test_client().get(f"/bills/{mine.account.account_no}")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_the_bill_pages_read_in_english(billed, client):
    mine, _other = billed
    listing = client.get(f"/bills/{mine.account.account_no}?lang=en").get_data(as_text=True)
    assert "My bills" in listing and "¥276.00 to pay by 2026-12-12" in listing and "Due 2026-12-12" in listing
    page = client.get(f"/bills/{mine.account.account_no}/{mine.october.id}").get_data(as_text=True)
    assert "Download the bill as PDF" in page and "Tier 2 ends at 4800.00 kWh" in page


def test_a_property_manager_member_reads_the_bills_of_the_managed_accounts(engine, clock, client):
    managed, other = billed_account(engine, clock), billed_account(engine, clock)
    with unit_of_work(engine) as db:
        org, _ = factories.manager(db, at=clock(), account_nos=[], member_phone="13900000011")
        db.add(ManagerAccount(manager_id=org.id, account_id=managed.account.id))
    resident_log_in(client, "13900000011")
    assert f'href="/bills/{managed.account.account_no}"' in client.get("/manager/").get_data(as_text=True)
    assert managed.october.number in client.get(f"/bills/{managed.account.account_no}").get_data(as_text=True)
    assert client.get(f"/bills/{managed.account.account_no}/{managed.october.id}.pdf").status_code == 200
    assert client.get(f"/bills/{other.account.account_no}").status_code == 404
