"""违约金减免 pages: a cashier finds a bill by its number and asks for a waiver; the asker sees no
buttons on their own waiver; a finance member approves it and the fee is taken back; bad input
names the field and changes nothing; readers cannot open the pages; a fee bill's PDF names the bill
it was charged on."""

import io
import re

from pypdf import PdfReader
from sqlmodel import select

from billing.db import read_session
from billing.waivers import Waiver
from tests.bill_helpers import issue_bill, new_account
from tests.conftest import csrf_token
from tests.late_fee_helpers import fee_bills, pay, standing_fee
from tests.staff_helpers import add_team, log_in


def _fined(engine, clock):
    account = new_account(engine, clock)
    bill = issue_bill(engine, clock, account, 100_000)
    clock.advance(days=30)
    pay(engine, clock, account, 100_000)  # 10 days late: a 10 元 fee bill
    return bill


def _ask(client, bill_text: str, amount: str, reason: str):
    token = csrf_token(client, f"/staff/waivers/new?bill_id={bill_text}")
    return client.post("/staff/waivers", data={"bill_id": bill_text, "amount": amount, "reason": reason,
                                               "csrf_token": token}, follow_redirects=True)


def test_a_cashier_asks_and_finance_approves_a_waiver(app, engine, clock):
    add_team(engine)
    bill = _fined(engine, clock)
    cashier, finance = app.test_client(), app.test_client()
    log_in(cashier, "cashier1")
    form = cashier.get(f"/staff/waivers/new?bill_id={bill.number}").get_data(as_text=True)
    assert "¥10.00" in form and 'name="reason"' in form
    asked = _ask(cashier, str(bill.id), "6.00", "首次逾期，用户申请").get_data(as_text=True)
    assert f"账单 {bill.number} 的违约金减免申请已提交" in asked and "首次逾期，用户申请" in asked
    assert "批准减免" not in asked  # cashiers do not decide
    with read_session(engine) as db:
        waiver = db.exec(select(Waiver)).one()
    log_in(finance, "finance1")
    listed = finance.get("/staff/waivers").get_data(as_text=True)
    assert "批准减免" in listed and bill.number in listed
    token = csrf_token(finance, "/staff/waivers")
    done = finance.post(f"/staff/waivers/{waiver.id}/approve", data={"csrf_token": token}, follow_redirects=True)
    assert "已批准减免" in done.get_data(as_text=True)
    assert standing_fee(engine, bill) == 400 and len(fee_bills(engine, bill)) == 2


def test_the_asker_cannot_decide_their_own_waiver(app, engine, clock):
    add_team(engine)
    bill = _fined(engine, clock)
    finance = app.test_client()
    log_in(finance, "finance1")
    page = _ask(finance, bill.number, "10.00", "营业厅核实后减免").get_data(as_text=True)
    assert "等待另一位工作人员审批" in page and "批准减免" not in page
    with read_session(engine) as db:
        waiver = db.exec(select(Waiver)).one()
    token = csrf_token(finance, "/staff/waivers")
    refused = finance.post(f"/staff/waivers/{waiver.id}/approve", data={"csrf_token": token}, follow_redirects=True)
    assert "违约金减免需由申请人以外的另一位工作人员审批" in refused.get_data(as_text=True)
    assert standing_fee(engine, bill) == 1000


def test_bad_input_names_the_field_and_asks_nothing(app, engine, clock):
    add_team(engine)
    bill = _fined(engine, clock)
    client = app.test_client()
    log_in(client, "cashier1")
    for bill_text, amount, reason, message in (
            (str(bill.id), "10.01", "减免", "减免金额应大于 0"), (str(bill.id), "abc", "减免", "减免金额格式有误"),
            (str(bill.id), "1.00", " ", "请填写减免原因"), ("x1", "1.00", "减免", "账单应填写账单ID"),
            ("999999", "1.00", "减免", "没有找到这张账单")):
        page = _ask(client, bill_text, amount, reason)
        assert page.status_code == 200 and message in page.get_data(as_text=True), (bill_text, amount, reason)
    with read_session(engine) as db:
        assert db.exec(select(Waiver)).all() == []
    found = client.get("/staff/waivers/new?bill_id=2026-999999").get_data(as_text=True)
    assert "没有找到这张账单" in found


def test_readers_cannot_open_the_waiver_pages(app, engine):
    add_team(engine)
    client = app.test_client()
    log_in(client, "reader1")
    assert client.get("/staff/waivers").status_code == 403
    assert client.get("/staff/waivers/new").status_code == 403


def test_a_fee_bill_pdf_shows_the_late_fee_line_and_the_bill_it_was_charged_on(app, engine, clock):
    add_team(engine)
    bill = _fined(engine, clock)
    (fee,) = fee_bills(engine, bill)
    client = app.test_client()
    log_in(client, "cashier1")
    answer = client.get(f"/staff/bills/{fee.id}.pdf")
    assert answer.status_code == 200
    text = re.sub(r"\s+", "", "".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.data)).pages))
    assert "违约金" in text and bill.number in text and fee.number in text and "10.00" in text


def test_finance_sees_on_the_dashboard_how_many_waivers_others_asked_for(app, engine, clock):
    add_team(engine)
    bill = _fined(engine, clock)
    cashier, finance = app.test_client(), app.test_client()
    log_in(cashier, "cashier1")
    _ask(cashier, bill.number, "1.00", "核实减免")
    log_in(finance, "finance1")
    desk = finance.get("/staff/").get_data(as_text=True)
    assert re.search(r'等待审批的违约金减免 <span class="count">1</span>', desk)
    assert "等待审批的违约金减免" not in cashier.get("/staff/").get_data(as_text=True)
