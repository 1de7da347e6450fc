"""催费 in the browser: a cashier on a phone reads the collections desk (a factory first, then a
resident, both 45 days overdue and sent a disconnection notice) and records an instalment plan
for the resident; finance at a desk sees the resident on the plan.  The factory then closes its
account with the bill unpaid: the cashier marks it bad debt and asks for its write-off, which
finance approves."""

import io
from datetime import date, timedelta

from sqlalchemy import update
from sqlmodel import select

from billing import bills, dunning, ledger
from billing.accounts import CLOSED, LARGE_INDUSTRY, Account
from billing.clock import beijing_date, system_clock
from billing.db import read_session, unit_of_work
from billing.payment_plans import PaymentPlan
from notifications.channels.console import ConsoleChannel
from notifications.dispatch import dispatch
from notifications.intake import take_events
from tests.e2e import browser
from tests.e2e.test_staff import staff_log_in

RESIDENT, FACTORY = "3301000001", "3302000002"


def _overdue(site) -> date:
    """A bill 45 days overdue on two demo 户号 (the second made a factory), and today's dunning run."""
    now = system_clock()
    today, issued = beijing_date(now), now - timedelta(days=60)
    with unit_of_work(site.engine) as db:
        for number, fen in ((RESIDENT, 38_800), (FACTORY, 1_250_000)):
            account = db.exec(select(Account).where(Account.account_no == number)).one()
            if number == FACTORY:
                account.category = LARGE_INDUSTRY
                db.add(account)
            bills.create(db, bills.Draft(account.id, date(2026, 8, 1), date(2026, 8, 31), today - timedelta(days=45),
                                         (bills.Line("energy", "bill.line.energy", fen),)), now=issued)
    dunning.run(site.engine, on=today, now=now)
    return today


def _notify(site) -> None:
    """What cron runs every minute: the events into messages, sent (the console is the SMS here)."""
    take_events(site.engine, clock=system_clock)
    dispatch(site.engine, {"sms": ConsoleChannel(io.StringIO())}, clock=system_clock)


def test_a_cashier_records_a_plan_on_a_phone_and_finance_sees_it_at_a_desk(site, request):
    today = _overdue(site)
    cashier = browser.Page(browser.start(browser.PHONE), site.url, f"{request.node.name}-cashier")
    finance = browser.Page(browser.start(browser.DESK), site.url, f"{request.node.name}-finance")
    request.addfinalizer(cashier.chrome.quit), request.addfinalizer(finance.chrome.quit)
    staff_log_in(cashier, "cashier1")
    cashier.open("/staff/collections")
    cashier.wait_for_text("催费工作台")
    page = cashier.text()
    assert page.index(FACTORY) < page.index(RESIDENT) and "已发停电通知" in page
    cashier.shoot("collections")
    cashier.find(f"a[href$='/collections/{RESIDENT}/plan']").click()
    cashier.wait_for_text("登记还款计划")
    for line, (days, amount) in enumerate(((3, "200.00"), (17, "188.00")), start=1):
        cashier.chrome.execute_script("arguments[0].value = arguments[1]", cashier.find(f"[name='due_on-{line}']"),
                                      (today + timedelta(days=days)).isoformat())
        cashier.fill(f"[name='amount-{line}']", amount)
    cashier.fill("#note", "用户承诺分两期缴清")
    cashier.shoot("plan-form")
    cashier.press("登记计划")
    cashier.wait_for_text("的还款计划已登记")
    staff_log_in(finance, "finance1")
    finance.open("/staff/collections")
    finance.wait_for_text("还款计划中")
    finance.shoot("collections-desk")
    _notify(site)
    for page in (finance, cashier):
        page.open("/staff/messages")
        page.wait_for_text("短信发送记录")
        assert "停电通知" in page.text()
        page.shoot("delivery-log")
    with read_session(site.engine) as db:
        [plan] = db.exec(select(PaymentPlan)).all()
    assert plan.state == "active" and plan.note == "用户承诺分两期缴清"
    _bad_debt_written_off(site, cashier, finance)


def _bad_debt_written_off(site, cashier, finance) -> None:
    with unit_of_work(site.engine) as db:
        db.execute(update(Account).where(Account.account_no == FACTORY).values(status=CLOSED))
    cashier.open("/staff/collections/bad-debt")
    cashier.wait_for_text("可标记为坏账")
    cashier.shoot("bad-debt-candidates")
    cashier.fill(f"#candidate-{FACTORY} [name='reason']", "企业已注销，无可执行财产")
    cashier.click(f"#candidate-{FACTORY} button")
    cashier.wait_for_text("已标记为坏账")
    cashier.fill("tr[id^='bad-debt-'] [name='reason']", "经法务确认无法收回")
    cashier.press("申请核销")
    cashier.wait_for_text("等待另一位工作人员审批")
    cashier.shoot("bad-debt-asked")
    finance.open("/staff/collections/bad-debt")
    finance.wait_for_text("批准核销")
    finance.shoot("bad-debt-to-approve")
    assert not finance.narrow_cells()
    finance.press("批准核销")
    finance.wait_for_text("已批准核销")
    finance.shoot("bad-debt-written-off")
    with read_session(site.engine) as db:
        assert ledger.balance_fen(db, ledger.customer_code(FACTORY)) == 0
