"""Staff at the service-hall desk: finance logs in, finds an account by the holder's name, opens its
whole story (charts, money, notices, dunning, audit trail), reads the audit log for it; the same
story on a phone."""

from sqlmodel import select

from billing.accounts import Account
from billing.audit import AuditEntry
from billing.db import read_session
from tests.e2e import browser
from tests.e2e.test_staff import staff_log_in


def test_staff_search_an_account_by_name_and_open_its_story_and_the_audit_log(site, desk, request):
    with read_session(site.engine) as db:  # the account whose meter the demo changed: it has an audit trail
        target = db.exec(select(AuditEntry.target).where(AuditEntry.action == "meter_change")).first()
        account_no = target.removeprefix("account:")
        name = db.exec(select(Account.holder_name).where(Account.account_no == account_no)).one()
    staff_log_in(desk, "finance1")
    desk.wait_for_text("工作台")
    desk.shoot("dashboard")
    desk.fill("#q", name)
    desk.press("查询")
    desk.wait_for_text("找到")
    assert account_no in desk.text() and "****" in desk.text()  # the phone masked
    desk.shoot("search")
    desk.click(f"a[href$='/staff/accounts/{account_no}']")
    desk.wait_for_text("账务流水")
    for heading in ("每月用电量 kWh", "缴费", "催费与停复电", "通知与短信", "操作记录", "抄表记录", "换表"):
        assert heading in desk.text(), heading
    desk.shoot("story")

    desk.open(f"/staff/audit?account_no={account_no}")
    desk.wait_for_text("操作日志")
    assert "换表" in desk.text() and "变更前 → 变更后" in desk.text()  # the meter change, old and new
    desk.shoot("audit")

    phone = browser.Page(browser.start(browser.PHONE), site.url, f"{request.node.name}-phone")
    request.addfinalizer(phone.chrome.quit)
    staff_log_in(phone, "finance1")
    phone.open(f"/staff/accounts/{account_no}")
    phone.wait_for_text("账务流水")
    phone.shoot("story")
