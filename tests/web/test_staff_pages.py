"""Back-office pages: roles, the counter with its receipt and cash close, refunds approved by a
second person, incidents decided by finance."""

import re
from pathlib import Path

import pytest
from sqlmodel import select

from billing.accounts import get_account
from billing.audit import AuditEntry
from billing.db import read_session, unit_of_work
from billing.incidents import Incident, record_incident
from billing.staff import StaffUser, add_staff
from payments.refunds import Refund
from tests import factories
from tests.conftest import csrf_token
from tests.staff_helpers import take_at_counter
from tests.payment_helpers import acknowledged, balance, new_account, phone, start_payment


@pytest.fixture
def staff(engine):
    with unit_of_work(engine) as db:
        for name, roles in (("cashier1", ["cashier"]), ("finance1", ["finance"]), ("finance2", ["finance"])):
            add_staff(db, username=name, name=name, password="demo1234", roles=roles)


def log_in(client, username):
    token = csrf_token(client, "/staff/login")
    return client.post("/staff/login", data={"username": username, "password": "demo1234", "csrf_token": token})


def test_staff_pages_need_a_login_and_the_right_role(client, staff):
    assert client.get("/staff/").status_code == 302
    token = csrf_token(client, "/staff/login")
    wrong = client.post("/staff/login", data={"username": "cashier1", "password": "nope", "csrf_token": token})
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.get_data(as_text=True)
    log_in(client, "cashier1")
    assert client.get("/staff/").status_code == 200
    assert client.get("/staff/incidents").status_code == 403
    assert client.get("/staff/counter").status_code == 200


def test_counter_receipt_and_cash_close(engine, clock, client, staff):
    with unit_of_work(engine) as db:
        first = factories.account(db, at=clock(), account_no="3301000021")
        second = factories.account(db, at=clock(), account_no="3301000022")
    log_in(client, "cashier1")
    token = csrf_token(client, "/staff/counter")
    bad = client.post("/staff/counter/preview", data={"csrf_token": token, "account_no-1": "3301000099",
                                                      "amount-1": "10"})
    assert bad.status_code == 400 and "第1行：户号 3301000099 不存在" in bad.get_data(as_text=True)
    taken = take_at_counter(client, ("3301000021", "100"), ("3301000022", "50.50"))
    receipt = client.get(taken.headers["Location"]).get_data(as_text=True)
    assert "电费收据" in receipt and "150.50" in receipt and "现金" in receipt
    assert (balance(engine, first), balance(engine, second)) == (10000, 5050)
    closed = client.post("/staff/counter/close", data={"csrf_token": token, "counted": "150.00"}, follow_redirects=True)
    page = closed.get_data(as_text=True)
    assert re.search(r"差额</th><td class=\"num arrears\">¥-0.50", page)
    with read_session(engine) as db:
        assert db.exec(select(Incident.kind)).all() == ["cash_difference"]
        assert sorted(db.exec(select(AuditEntry.action)).all()) == ["close_cash_day", "counter_payment"]


def test_refund_requested_by_cashier_and_approved_by_finance(engine, clock, app, staff):
    with unit_of_work(engine) as db:
        factories.account(db, at=clock(), account_no="3301000031")
    cashier, finance = app.test_client(), app.test_client()
    log_in(cashier, "cashier1")
    token = csrf_token(cashier, "/staff/counter")
    receipt = take_at_counter(cashier, ("3301000031", "30"))
    receipt_no = re.search(r"receipts/(GT\w+)", receipt.headers["Location"]).group(1)
    asked = cashier.post("/staff/refunds", data={"csrf_token": token, "channel_txn_id": receipt_no, "amount": "12.00",
                                                 "reason": "overpayment", "note": "多交"}, follow_redirects=True)
    assert "等待财务审批" in asked.get_data(as_text=True)
    refund_no = re.search(r"(?<![0-9A-Za-z])(RF\d{8}[0-9A-F]{16})(?![0-9A-Za-z])", asked.get_data(as_text=True)).group(1)
    log_in(finance, "finance1")
    approved = finance.post(f"/staff/refunds/{refund_no}/approve", data={"csrf_token": csrf_token(finance, "/staff/refunds")},
                            follow_redirects=True)
    assert "已退款" in approved.get_data(as_text=True) and "已成功，¥12.00 已退回" in approved.get_data(as_text=True)
    with read_session(engine) as db:
        assert db.exec(select(Refund.state)).one() == "succeeded"
    with read_session(engine) as db:
        account = get_account(db, "3301000031")
    assert balance(engine, account) == 1800


def test_incidents_read_as_sentences_in_yuan(engine, clock, client, staff):
    with unit_of_work(engine) as db:
        cashier = db.exec(select(StaffUser).where(StaffUser.username == "cashier1")).one()
        for kind, ref, detail in (
            ("duplicate_payment", "wechat:4200000002", {"problem": "duplicate_payment", "out_trade_no": "DF20261127AB",
             "first_txn": "4200000001", "second_txn": "4200000002", "amount_fen": 5000}),
            ("amount_mismatch", "alipay:2026112722001", {"problem": "amount_mismatch", "out_trade_no": "DF20261127CD",
             "channel_txn_id": "2026112722001", "reported_fen": 12000, "order_fen": 10000, "app_id": "2021000000000001",
             "merchant_id": "2088000000000001", "source": "notify"}),
            ("cash_difference", "cash_close:1", {"cashier_id": cashier.id, "day": "2026-11-26", "expected_fen": 152000,
             "counted_fen": 151950}),
            ("transfer_conflict", "pay:wechat:42", {"existing": {"debit": "clearing:wechat", "credit": "customer:3301000001",
             "amount_fen": 5000, "code": "payment"}, "attempted": {"amount_fen": 6000}}),
            ("unknown_order", "wechat:4200000009", {}),  # details missing: still a sentence, not a crash
        ):
            record_incident(db, kind=kind, ref=ref, detail=detail, at=clock())
    log_in(client, "finance1")
    page = client.get("/staff/incidents").get_data(as_text=True)
    for sentence in (
        "订单 DF20261127AB 被重复支付：第二笔 50.00 元（微信支付 4200000002）已入账，已提出退款，等待审批",
        "订单 DF20261127CD 应付 100.00 元，支付宝实收 120.00 元（交易号 2026112722001）；款项暂挂",
        "收费员 cashier1 2026-11-26 日终轧账：应收现金 1520.00 元，实点 1519.50 元，短款 0.50 元",
        "记账键 pay:wechat:42 已记过另一笔账（50.00 元，从 clearing:wechat 到 customer:3301000001），这次的记账（60.00 元",
        "微信支付收到 — 元（交易号 —），但没有订单 —",
    ):
        assert sentence in page
    assert "problem=" not in page and "_fen" not in page and "app_id" not in page
    english = client.get("/staff/incidents?lang=en").get_data(as_text=True)
    assert "Order DF20261127AB was paid twice: the second payment of 50.00 yuan (WeChat Pay 4200000002)" in english


def test_staff_pages_use_the_desk_layout_and_tables_scroll_inside_the_page(client, staff):
    log_in(client, "finance1")
    for path in ("/staff/", "/staff/incidents", "/staff/refunds"):
        page = client.get(path).get_data(as_text=True)
        assert '<body class="desk"' in page
        assert page.count("<table") == page.count('<div class="table-scroll"><table')
    css = (Path(__file__).resolve().parents[2] / "static/css/app.css").read_text(encoding="utf-8")
    wide = re.search(r"@media \(min-width: (\d+)px\) \{\s*\.desk main \{ max-width: (\d+)px", css)
    assert wide and int(wide.group(1)) <= 1024 and int(wide.group(2)) >= 1200
    assert re.search(r"\.desk th, \.desk td\.num, \.desk td\.code \{ white-space: nowrap; \}", css)


def test_finance_decides_an_incident(engine, clock, client, staff):
    with unit_of_work(engine) as db:
        incident = record_incident(db, kind="cash_difference", ref="cash_close:1", detail={"difference_fen": -50},
                                   at=clock())
    log_in(client, "finance1")
    page = client.get("/staff/incidents").get_data(as_text=True)
    assert "现金差额" in page and "知悉并关闭" in page
    client.post(f"/staff/incidents/{incident.id}", data={"csrf_token": csrf_token(client, "/staff/incidents"),
                                                         "decision": "acknowledge", "note": "已追回"})
    with read_session(engine) as db:
        resolved = db.get(Incident, incident.id)
    assert resolved.status == "resolved" and "已追回" in resolved.resolution


def test_a_reprinted_receipt_names_the_cashier_who_took_the_money_and_the_balance_at_the_time(engine, clock, app, staff):
    with unit_of_work(engine) as db:
        account = factories.account(db, at=clock(), account_no="3301000041")
        add_staff(db, username="cashier2", name="另一位收费员", password="demo1234", roles=["cashier"])
    cashier = app.test_client()
    log_in(cashier, "cashier1")
    receipt_url = take_at_counter(cashier, ("3301000041", "20")).headers["Location"]
    take_at_counter(cashier, ("3301000041", "5"))
    assert balance(engine, account) == 2500
    other = app.test_client()
    log_in(other, "cashier2")
    reprint = other.get(receipt_url).get_data(as_text=True)
    assert "cashier1" in reprint and "另一位收费员" not in reprint.split("<main>")[1].split("打印")[0]
    assert re.search(r"20\.00</td>\s*<td class=\"num\">20\.00", reprint)


@pytest.fixture
def wechat_paid(request, engine, clock, app, gateways, staff):
    """50.00 paid by WeChat Pay, and a cashier's refund request of 20.00 of it, awaiting finance."""
    account = new_account(engine, clock)
    started = start_payment(engine, gateways["wechat"], account, 5000, clock)
    device = phone(request, "wechat")
    txn = device.pay(started)
    assert acknowledged("wechat", device.deliver(device.notification(started.out_trade_no, txn)))
    cashier = app.test_client()
    log_in(cashier, "cashier1")
    asked = cashier.post("/staff/refunds", data={"csrf_token": csrf_token(cashier, "/staff/refunds"), "amount": "20.00",
                                                 "channel_txn_id": txn, "reason": "overpayment"}, follow_redirects=True)
    refund_no = re.search(r"(?<![0-9A-Za-z])(RF\d{8}[0-9A-F]{16})(?![0-9A-Za-z])", asked.get_data(as_text=True)).group(1)
    finance = app.test_client()
    log_in(finance, "finance1")
    return account, started, txn, refund_no, finance


def _decide(finance, refund_no, decision="approve") -> str:
    token = csrf_token(finance, "/staff/refunds")
    return finance.post(f"/staff/refunds/{refund_no}/{decision}", data={"csrf_token": token},
                        follow_redirects=True).get_data(as_text=True)


def _state(engine, refund_no) -> tuple[str, str]:
    with read_session(engine) as db:
        refund = db.exec(select(Refund).where(Refund.refund_no == refund_no)).one()
    return refund.state, refund.failure


def test_a_refund_the_channel_refuses_says_so_with_its_reason(engine, gateways, wechat_paid):
    account, started, txn, refund_no, finance = wechat_paid
    # Refunded in full on the merchant platform meanwhile: the channel has nothing left to refund.
    gateways["wechat"].refund("RF-PLATFORM", out_trade_no=started.out_trade_no, channel_txn_id=txn, amount_fen=5000,
                              total_fen=5000, reason="商户平台退款")
    page = _decide(finance, refund_no)
    assert f"渠道拒绝了退款 {refund_no}：" in page and "申请退款金额超过订单可退金额" in page and "已处理" not in page
    assert "退款失败<br><span class=\"hint\">" in page  # the reason stays in the list
    assert _state(engine, refund_no)[0] == "failed" and balance(engine, account) == 5000


def test_a_refund_the_channel_accepted_is_processing_until_confirmed(engine, wechat_sandbox, wechat_paid):
    account, _, _, refund_no, finance = wechat_paid
    wechat_sandbox.auto_refund = False
    page = _decide(finance, refund_no)
    assert f"退款 {refund_no} 已提交渠道，处理中，结果待渠道确认" in page
    assert _state(engine, refund_no) == ("submitted", "") and balance(engine, account) == 5000


def test_a_refund_sent_to_an_unreachable_channel_is_processing_too(engine, wechat_sandbox, wechat_paid):
    account, _, _, refund_no, finance = wechat_paid
    wechat_sandbox.stop()
    page = _decide(finance, refund_no)
    assert f"退款 {refund_no} 已提交渠道，处理中，结果待渠道确认" in page
    assert _state(engine, refund_no) == ("submitted", "") and balance(engine, account) == 5000


def test_a_rejected_refund_says_so_and_a_made_up_decision_changes_nothing(engine, wechat_paid):
    account, _, _, refund_no, finance = wechat_paid
    assert "没有找到相关记录" in _decide(finance, refund_no, "whatever")
    assert _state(engine, refund_no) == ("proposed", "")
    assert f"已驳回退款申请 {refund_no}" in _decide(finance, refund_no, "reject")
    assert _state(engine, refund_no)[0] == "rejected" and balance(engine, account) == 5000


def test_held_money_cannot_be_closed_without_a_decision(engine, client, staff, held):
    with read_session(engine) as db:
        incident = db.exec(select(Incident)).one()
    log_in(client, "finance1")
    answer = client.post(f"/staff/incidents/{incident.id}", follow_redirects=True, data={
        "csrf_token": csrf_token(client, "/staff/incidents"), "decision": "acknowledge", "note": ""})
    assert "不能直接关闭：这笔款项仍在挂账中，请入账到户号或原路退回" in answer.get_data(as_text=True)
    with read_session(engine) as db:
        assert db.get(Incident, incident.id).status == "open"
