"""The desk's search, an account's story page and the audit-log viewer through the Flask client:
what a clerk types, what comes back, and bad input answered with a sentence naming the field."""

import re

import pytest

from billing.accounts import Customer, get_account
from billing.db import unit_of_work
from billing.dunning_records import DunningStep
from billing.supply_order_records import SupplyOrder
from notifications.records import Message
from tests import factories
from tests.staff_helpers import add_team, log_in, take_at_counter

pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


@pytest.fixture
def hall(engine, clock, app):
    add_team(engine)
    with unit_of_work(engine) as db:
        for n, name in ((1, "欧阳小荣"), (2, "欧阳大明"), (3, "李四")):
            account = factories.account(db, at=clock(), account_no=f"330100080{n}", holder_name=name)
            db.get(Customer, account.customer_id).phone = f"1391234567{n}"
    cashier = app.test_client()
    log_in(cashier, "cashier1")
    take_at_counter(cashier, ("3301000801", "88.00"))
    return cashier


def test_search_lists_matches_with_masked_phones_and_a_whole_number_opens_the_account(hall):
    found = hall.get("/staff/accounts?q=欧阳").get_data(as_text=True)
    assert "找到 2 户" in found and "3301000801" in found and "3301000802" in found and "3301000803" not in found
    assert "139****5671" in found and "13912345671" not in found
    exact = hall.get("/staff/accounts?q=3301000803")
    assert exact.status_code == 302 and exact.headers["Location"].endswith("/staff/accounts/3301000803")
    assert "找到 1 户" in hall.get("/staff/accounts?q=45673").get_data(as_text=True)  # part of a phone
    assert "没有找到匹配的户号" in hall.get("/staff/accounts?q=3301999999").get_data(as_text=True)


@pytest.mark.parametrize("typed", ["12", "x" * 41, "a\x00b", "1\u200b"])
def test_search_answers_bad_input_with_the_field_named(hall, typed):
    answer = hall.get("/staff/accounts", query_string={"q": typed})
    assert answer.status_code == 400
    assert "请输入户号、户名、手机号或表号" in answer.get_data(as_text=True)


def test_the_story_shows_money_messages_and_the_audit_trail(hall):
    page = hall.get("/staff/accounts/3301000801").get_data(as_text=True)
    for section in ("use", "bills", "payments", "ledger", "dunning", "messages", "reads", "audit"):
        assert f'id="{section}"' in page, section
    assert re.search(r"GT\w+", page) and "88.00" in page  # the counter receipt and the balance after it
    assert "无进行中的催费" in page and "柜台收费" in page  # no dunning; the audit trail's counter payment
    assert "cashier1" in page  # who took the money


def test_the_audit_viewer_filters_and_refuses_bad_filters(app, hall):
    finance = app.test_client()
    log_in(finance, "finance1")
    page = finance.get("/staff/audit?actor=cashier1&action=counter_payment&account_no=3301000801").get_data(as_text=True)
    assert "共 1 条" in page and "柜台收费" in page
    assert "共 0 条" in finance.get("/staff/audit?account_no=3301000802").get_data(as_text=True)
    for query, says in (("actor=nobody", "操作人筛选有误"), ("action=drop_table", "操作筛选有误"),
                        ("account_no=12", "户号应为10位数字"), ("account_no=3301999999", "没有找到这个户号"),
                        ("from=2026-13-01", "起始日格式"), ("from=2026-12-02&to=2026-12-01", "截止日格式")):
        answer = finance.get(f"/staff/audit?{query}")
        assert answer.status_code == 400 and says in answer.get_data(as_text=True), query
    assert hall.get("/staff/audit").status_code == 403  # a cashier does not read the audit log


def test_the_dashboard_counts_failed_messages_and_supply_orders_and_leads_to_them(engine, clock, hall):
    with unit_of_work(engine) as db:
        account = get_account(db, "3301000802")
        step = DunningStep(account_id=account.id, case_ref="bill:9", step="disconnection_ordered", at=clock())
        db.add(step)
        db.flush()
        db.add(SupplyOrder(account_id=account.id, step_id=step.id, case_ref="bill:9", kind="cut", method="field",
                           meter_no="T0000000001", next_try_at=clock(), created_at=clock(), escalated_at=clock()))
        db.add(Message(dedupe_key="test:failed", account_id=account.id, kind="disconnection_notice", channel="sms",
                       address="13912345672", lang="zh", params="{}", status="failed", due_at=clock(),
                       created_at=clock(), error="空号"))
    desk = hall.get("/staff/").get_data(as_text=True)
    assert re.search(r'发送失败的消息</a> <span class="count">1</span>', desk)
    assert re.search(r'进行中的停复电工单</a> <span class="count">1</span>', desk) and "其中 1 张等待人工" in desk
    orders = hall.get("/staff/supply-orders").get_data(as_text=True)
    assert "3301000802" in orders and "已升级人工" in orders and "现场" in orders
    story = hall.get("/staff/accounts/3301000802").get_data(as_text=True)
    assert "已下停电指令" in story and "空号" in story and "139****5672" in story
