"""Each role sees exactly what it may use: links and buttons follow the same permission table as
the route guards, and the dashboard shows each role its own work."""

import re

import pytest
from sqlmodel import select

from billing.db import unit_of_work
from billing.incidents import record_incident
from billing.staff import ROLES, StaffUser
from payments import refunds
from payments.orders import ChannelPayment
from portal.staff.roles import (
    ACCOUNT_HISTORY, ASSESSMENT, CHANNEL_REPORT, COUNTER, DECIDE_REFUND, FINANCE_REPORTS, GRANTS, INCIDENTS, LINE_LOSS,
    READ_METERS, RECONCILE, REQUEST_REFUND, REQUEST_WAIVER, REVIEW, may,
)
from tests import factories
from tests.staff_helpers import add_team, log_in, take_at_counter

HREF = re.compile(r'href="(/staff[^"?#]*)"')
GUARDED = {"/staff/incidents": INCIDENTS, "/staff/refunds": REQUEST_REFUND, "/staff/counter": COUNTER,
           "/staff/counter/close": COUNTER, "/staff/review": REVIEW, "/staff/accounts": ACCOUNT_HISTORY,
           "/staff/assessment": ASSESSMENT, "/staff/loss": LINE_LOSS,
           "/staff/reading": READ_METERS, "/staff/waivers": REQUEST_WAIVER, "/staff/finance": FINANCE_REPORTS,
           "/staff/channel-report": CHANNEL_REPORT, "/staff/reconciliation": RECONCILE,
           "/staff/reconciliation/write-offs": RECONCILE}


@pytest.fixture
def team(engine):
    add_team(engine)


def test_the_permission_table_names_every_role():
    assert set(GRANTS) | {"admin"} == set(ROLES)
    assert may({"admin"}, DECIDE_REFUND) and not may({"cashier"}, DECIDE_REFUND)
    with pytest.raises(KeyError):
        may({"admin"}, "no_such_permission")


@pytest.mark.parametrize("role", ROLES)
def test_a_role_sees_a_link_exactly_when_it_may_open_it(app, team, role):
    client = app.test_client()
    log_in(client, f"{role}1")
    shown, todo = set(), ["/staff/"]
    while todo:  # every page reachable from the dashboard opens: no dead link anywhere
        path = todo.pop()
        page = client.get(path)
        assert page.status_code == 200, (role, path, page.status_code)
        shown.add(path)
        todo += sorted(set(HREF.findall(page.get_data(as_text=True))) - shown - set(todo))
    for path, permission in GUARDED.items():
        assert (path in shown) == may({role}, permission), (role, path)
        assert client.get(path).status_code == (200 if may({role}, permission) else 403), (role, path)


def _duplicate_payment_with_proposed_refund(engine, clock, client):
    """A counter payment (taken by ``client``) and a refund of part of it, asked for by the cashier."""
    with unit_of_work(engine) as db:
        factories.account(db, at=clock(), account_no="3301000051", holder_name="李小荣")
    take_at_counter(client, ("3301000051", "80.00"))
    with unit_of_work(engine) as db:
        payment = db.exec(select(ChannelPayment)).one()
        cashier_id = db.exec(select(StaffUser.id).where(StaffUser.username == "cashier1")).one()
        refund = refunds.request(db, staff_id=cashier_id, payment=payment, amount_fen=3000,
                                 reason="overpayment", note="", now=clock())
        record_incident(db, kind="duplicate_payment", ref="wechat:4200000001", at=clock(), detail={
            "problem": "duplicate_payment", "out_trade_no": "DF2026112700AA", "first_txn": "4200000000",
            "second_txn": "4200000001", "amount_fen": 5000})
    return refund.refund_no


def test_cashier_and_finance_each_see_their_own_work(engine, clock, app, team):
    cashier, finance = app.test_client(), app.test_client()
    log_in(cashier, "cashier1")
    refund_no = _duplicate_payment_with_proposed_refund(engine, clock, cashier)

    desk = cashier.get("/staff/").get_data(as_text=True)
    assert "今日柜台收费" in desk and "¥80.00" in desk  # today's takings
    assert refund_no in desk and "待审批" in desk  # the refund they asked for, and its state
    assert "待处理异常" not in desk and "/staff/incidents" not in desk and "被重复支付" not in desk
    refund_page = cashier.get("/staff/refunds").get_data(as_text=True)
    assert refund_no in refund_page and "批准并退款" not in refund_page and "驳回" not in refund_page

    log_in(finance, "finance1")
    desk = finance.get("/staff/").get_data(as_text=True)
    assert "订单 DF2026112700AA 被重复支付：第二笔 50.00 元（微信支付 4200000001）已入账" in desk
    assert "等待审批的退款" in desk and refund_no in desk
    assert "柜台收费" not in desk and "/staff/counter" not in desk
    assert "批准并退款" in finance.get("/staff/refunds").get_data(as_text=True)


def test_the_reviewer_dashboard_leads_to_the_queue_assessment_and_line_loss(app, team):
    client = app.test_client()
    log_in(client, "reviewer1")
    desk = client.get("/staff/").get_data(as_text=True)
    assert "复核" in desk and "没有待复核的事项" in desk and "该功能正在开发" not in desk
    assert {"/staff/review", "/staff/assessment", "/staff/loss", "/staff/accounts"} <= set(HREF.findall(desk))


def test_the_reader_is_shown_the_way_to_the_day_list(app, team):
    client = app.test_client()
    log_in(client, "reader1")
    desk = client.get("/staff/").get_data(as_text=True)
    assert "<h2>抄表</h2>" in desk and "该功能正在开发" not in desk and "今日已抄 0 / 0 户" in desk
    # 工作台, 抄表 and 开始抄表, 户号查询, 换表; nothing that would 403
    assert set(HREF.findall(desk)) == {"/staff/", "/staff/reading", "/staff/accounts", "/staff/meters"}


def test_admin_sees_every_section(app, team):
    client = app.test_client()
    log_in(client, "admin1")
    desk = client.get("/staff/").get_data(as_text=True)
    for title in ("待处理异常", "等待审批的退款", "今日柜台收费", "<h2>抄表</h2>", "<h2>复核 <span"):
        assert title in desk
