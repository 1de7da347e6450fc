"""对账 queue pages: the queue and a difference with its evidence in Beijing time and in words (zh-CN
and English); a write-off asked for by one member of finance and approved by another, never by the
asker; readers and cashiers get the 403 page; bad input names the field and changes nothing."""

import re
from datetime import timedelta

from sqlalchemy import func, select

from billing.audit import AuditEntry
from billing.clock import beijing_date, to_beijing
from billing.db import read_session
from payments import reconciliation
from payments.reconciliation_records import Difference
from payments.write_offs import WriteOff
from tests.conftest import csrf_token
from tests.payment_helpers import booked_without_the_channel
from tests.staff_helpers import add_team, log_in


def _short(engine, clock, gateways) -> Difference:
    """A 7.00 元 短款 found on yesterday's WeChat Pay statement."""
    day = beijing_date(clock())
    booked_without_the_channel(engine, clock, gateways, "wechat", 700)
    clock.advance(days=1)
    gateway = gateways["wechat"]
    reconciliation.reconcile(engine, None, "wechat", day, merchant=gateway.merchant, now=clock(),
                             data=gateway.statement_file(day) or b"")
    with read_session(engine) as db:
        return db.execute(select(Difference)).scalar_one()


def _staff(app, username):
    client = app.test_client()
    log_in(client, username)
    return client


def _post(client, difference_id: int, action: str, **form):
    token = csrf_token(client, f"/staff/reconciliation/{difference_id}")
    return client.post(f"/staff/reconciliation/{difference_id}/{action}", data={"csrf_token": token, **form},
                       follow_redirects=True)


def _changes(engine):
    with read_session(engine) as db:
        return (db.execute(select(func.count()).select_from(AuditEntry)).scalar(),
                db.execute(select(func.count()).select_from(WriteOff)).scalar(),
                db.execute(select(Difference.status)).scalar_one())


def test_the_queue_and_the_evidence_in_both_languages(app, engine, clock, gateways):
    add_team(engine)
    difference = _short(engine, clock, gateways)
    finance = _staff(app, "finance1")
    dashboard = finance.get("/staff/").get_data(as_text=True)
    assert re.search(r'待处理的对账差异 <span class="count">1</span>', dashboard)
    assert 'href="/staff/reconciliation"' in dashboard
    queue = finance.get("/staff/reconciliation").get_data(as_text=True)
    assert "短款（账上有、渠道无）" in queue and "¥7.00" in queue and difference.ref in queue
    day = finance.get(f"/staff/reconciliation?day={difference.day}").get_data(as_text=True)
    assert "尚有 1 条差异待处理" in day
    page = finance.get(f"/staff/reconciliation/{difference.id}").get_data(as_text=True)
    posted = to_beijing(difference.found_at - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")  # booked a day before
    assert f"pay:wechat:{difference.ref}" in page and "缴费入账" in page and posted in page
    assert "渠道对账单上没有这笔" in page and "申请核销" in page and "已支付" in page
    assert "+00:00" not in page and "credited" not in page and "payment" not in page.split("<main")[-1]
    english = finance.get(f"/staff/reconciliation/{difference.id}?lang=en").get_data(as_text=True)
    assert "Shortage (on our books, not the channel&#39;s)" in english and "Request write-off" in english
    assert "Not on the channel&#39;s statement" in english


def test_a_write_off_needs_a_second_person(app, engine, clock, gateways):
    add_team(engine)
    difference = _short(engine, clock, gateways)
    asker, approver = _staff(app, "finance1"), _staff(app, "admin1")
    asked = _post(asker, difference.id, "write-off", amount="7.00", reason="渠道核实无此交易").get_data(as_text=True)
    assert "核销申请已提交" in asked and "渠道核实无此交易" in asked
    with read_session(engine) as db:
        write_off = db.execute(select(WriteOff)).scalar_one()
    own = asker.get("/staff/reconciliation/write-offs").get_data(as_text=True)
    assert "等待另一位工作人员审批" in own and "批准核销" not in own
    token = csrf_token(asker, "/staff/reconciliation/write-offs")
    refused = asker.post(f"/staff/reconciliation/write-offs/{write_off.id}/approve", data={"csrf_token": token},
                         follow_redirects=True).get_data(as_text=True)
    assert "不能审批自己申请的核销" in refused and _changes(engine)[2] == "open"
    token = csrf_token(approver, "/staff/reconciliation/write-offs")
    done = approver.post(f"/staff/reconciliation/write-offs/{write_off.id}/approve", data={"csrf_token": token},
                         follow_redirects=True).get_data(as_text=True)
    assert "已批准核销" in done and _changes(engine)[2] == "written_off"
    again = approver.post(f"/staff/reconciliation/write-offs/{write_off.id}/approve", data={"csrf_token": token},
                          follow_redirects=True).get_data(as_text=True)
    assert "这项核销正在等待审批或已经审批过" in again
    page = approver.get(f"/staff/reconciliation/{difference.id}").get_data(as_text=True)
    assert "已核销" in page and "申请核销" in page and "批准核销" in page and "finance1" in page


def test_readers_and_cashiers_get_the_403_page(app, engine, clock, gateways):
    add_team(engine)
    difference = _short(engine, clock, gateways)
    for username in ("reader1", "cashier1"):
        client = _staff(app, username)
        assert "对账差异" not in client.get("/staff/").get_data(as_text=True)
        for url in ("/staff/reconciliation", f"/staff/reconciliation/{difference.id}",
                    "/staff/reconciliation/write-offs"):
            answer = client.get(url)
            assert answer.status_code == 403 and "没有权限" in answer.get_data(as_text=True), (username, url)
        token = csrf_token(client, "/staff/")
        answer = client.post(f"/staff/reconciliation/{difference.id}/note", data={"csrf_token": token, "note": "x"})
        assert answer.status_code == 403
    assert _changes(engine)[:2] == (0, 0)


def test_bad_input_names_the_field_and_changes_nothing(app, engine, clock, gateways):
    add_team(engine)
    difference = _short(engine, clock, gateways)
    finance = _staff(app, "finance1")
    before = _changes(engine)
    for action, form, message in (
            ("write-off", {"amount": "7.00", "reason": " "}, "请填写核销原因"),
            ("write-off", {"amount": "abc", "reason": "核实"}, "核销金额格式有误"),
            ("write-off", {"amount": "6.99", "reason": "核实"}, "核销金额须等于差异金额 7.00 元"),
            ("note", {"note": "  "}, "请填写备注"),
            ("heal", {}, "这类差异不能通过查询补账"),
            ("refund", {}, "只有重复支付和状态不符的收款差异可以从这里退款")):
        page = _post(finance, difference.id, action, **form)
        assert page.status_code == 200 and message in page.get_data(as_text=True), (action, form)
    assert _changes(engine) == before
    token = csrf_token(finance, "/staff/reconciliation")
    missing = finance.post("/staff/reconciliation/999999/note", data={"csrf_token": token, "note": "x"},
                           follow_redirects=True)
    assert "没有找到这条对账差异" in missing.get_data(as_text=True)
    assert finance.get("/staff/reconciliation/999999").status_code == 404
    for query, message in (("day=2026-13-01", "日期格式应为 2026-12-01"), ("kind=foo", "请从列表中选择差异类型"),
                           ("channel=bank", "请从列表中选择渠道"), ("status=gone", "请从列表中选择处理状态")):
        page = finance.get(f"/staff/reconciliation?{query}")
        assert page.status_code == 200 and message in page.get_data(as_text=True), query
    assert _changes(engine) == before
