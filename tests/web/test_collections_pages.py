"""The collections desk (催费) as cashiers and finance use it: the worklist in the order the paper asks
for, the stage of each case, the plan form and its refusals, and who may see it."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from billing import dunning
from billing.accounts import LARGE_INDUSTRY
from billing.clock import BEIJING
from billing.db import read_session, unit_of_work
from billing.payment_plans import Instalment, PaymentPlan
from notifications.channels.console import ConsoleChannel
from notifications.dispatch import dispatch
from notifications.intake import take_events
from tests import factories
from tests.bill_helpers import issue_bill
from tests.conftest import csrf_token
from tests.staff_helpers import add_team, log_in


@pytest.fixture
def debtors(engine, clock):
    """A resident, a factory and a managed flat, all overdue since 2026-11-01; seen on 2026-12-15."""
    add_team(engine)
    clock.now = datetime(2026, 10, 20, 2, 0, tzinfo=UTC)
    with unit_of_work(engine) as db:
        resident = factories.account(db, at=clock(), account_no="3301000001", holder_name="李小荣")
        factory = factories.account(db, at=clock(), account_no="3301000002", holder_name="临安机械厂",
                                    category=LARGE_INDUSTRY)
        _, (flat,) = factories.manager(db, at=clock(), account_nos=["3301000003"])
    for account, fen in ((resident, 90000), (factory, 50000), (flat, 10000)):
        issue_bill(engine, clock, account, fen, due=date(2026, 11, 1))
    clock.now = datetime(2026, 12, 15, 1, 0, tzinfo=UTC)  # 09:00 Beijing
    dunning.run(engine, on=date(2026, 12, 15), now=clock())
    return resident


def _page(client) -> str:
    return client.get("/staff/collections").get_data(as_text=True)


def test_large_units_then_managed_then_residents_with_their_stage(client, debtors):
    log_in(client, "cashier1")
    page = _page(client)
    assert page.index("3301000002") < page.index("3301000003") < page.index("3301000001")
    assert "欠费户共 3 户，合计 ¥1500.00" in page
    assert page.count("已发停电通知") == 3 and "44" in page  # days overdue


@pytest.mark.parametrize(("role", "status"), [("cashier1", 200), ("finance1", 200), ("admin1", 200),
                                              ("reader1", 403), ("reviewer1", 403)])
def test_only_collections_roles_see_the_desk(client, debtors, role, status):
    log_in(client, role)
    answer = client.get("/staff/collections")
    assert answer.status_code == status


def _agree(client, *lines, note="分两期"):
    data = {"csrf_token": csrf_token(client, "/staff/collections/3301000001/plan"), "note": note}
    for n, (day, amount) in enumerate(lines, start=1):
        data[f"due_on-{n}"], data[f"amount-{n}"] = day, amount
    return client.post("/staff/collections/3301000001/plan", data=data)


def test_a_plan_is_agreed_and_shown_and_bad_lines_are_refused_by_name(client, engine, debtors):
    log_in(client, "cashier1")
    for lines, says in (([("2026-12-01", "100.00")], "缴费日期须从今天起"),
                        ([("2026-12-20", "0")], "每期金额须大于零"),
                        ([("12/20/2026", "100.00")], "缴费日期须从今天起"),
                        ([("2026-12-20", "1e3")], "金额格式有误"),
                        ([("2026-12-20", "")], "金额格式有误"),
                        ([], "请填写 1 至 12 期")):
        refused = _agree(client, *lines)
        assert refused.status_code == 400 and says in refused.get_data(as_text=True)
    assert _agree(client, ("2026-12-20", "400.00"), ("2027-01-10", "500.00")).status_code == 302
    assert "还款计划中" in _page(client)
    with read_session(engine) as db:
        [plan] = db.exec(select(PaymentPlan)).all()
        assert [(i.due_on, i.amount_fen) for i in db.exec(select(Instalment).order_by(Instalment.due_on))] == [
            (date(2026, 12, 20), 40000), (date(2027, 1, 10), 50000)]
    assert plan.note == "分两期" and plan.agreed_at.astimezone(BEIJING).date() == date(2026, 12, 15)
    again = _agree(client, ("2026-12-21", "1.00"))
    assert again.status_code == 400 and "已有进行中的还款计划" in again.get_data(as_text=True)


def test_an_unknown_account_is_a_404_and_english_is_there(client, debtors):
    log_in(client, "finance1")
    assert client.get("/staff/collections/9999999999/plan").status_code == 404
    assert client.get("/staff/collections/" + "9" * 400 + "/plan").status_code == 404
    client.get("/?lang=en")
    assert "Collections desk" in _page(client)


def test_the_delivery_log_shows_each_notice_masked_and_the_dashboard_counts(client, engine, clock, debtors):
    take_events(engine, clock=clock)
    dispatch(engine, {"sms": ConsoleChannel(io.StringIO())}, clock=clock)
    log_in(client, "finance1")
    page = client.get("/staff/messages").get_data(as_text=True)
    assert page.count("停电通知") >= 3 and "137****0000" in page and "13700000000" not in page
    only = client.get("/staff/messages?account_no=3301000001&status=delivered").get_data(as_text=True)
    assert "3301000002" not in only and "3301000001" in only
    assert client.get("/staff/messages?status=<script>&account_no=" + "9" * 300).status_code == 200
    dashboard = client.get("/staff/").get_data(as_text=True)
    assert "欠费户" in dashboard and "催费工作台" in dashboard
    log_in(client, "reader1")
    assert client.get("/staff/messages").status_code == 403
