"""Staff at a desk: a cashier takes cash for two 户号 after checking the holders and balances, and
prints the receipt; the cashier asks for a refund and finance (another person) approves it."""

import re

from billing.db import read_session
from payments.refunds import Refund
from sqlmodel import select
from tests.e2e.test_resident import balance

ACCOUNTS = ("3301000001", "3302000002")


def staff_log_in(desk, username: str) -> None:
    desk.open("/staff/login")
    desk.fill("#username", username)
    desk.fill("#password", "demo1234")
    desk.press("登录")


def take_cash(site, desk, rows=((ACCOUNTS[0], "100"), (ACCOUNTS[1], "50.50"))) -> str:
    """Rows at the counter, the confirm step, the receipt; returns the receipt number."""
    desk.open("/staff/counter")
    for row, (account_no, amount) in enumerate(rows, start=1):
        desk.fill(f"input[name=account_no-{row}]", account_no)
        desk.fill(f"input[name=amount-{row}]", amount)
    desk.shoot("counter-rows")
    desk.press("下一步：核对")
    desk.wait_for_text("确认收费")
    assert f"{sum(float(amount) for _, amount in rows):.2f}" in desk.text()
    desk.shoot("counter-confirm")
    desk.press("已收款，确认收费并打印收据")
    desk.wait_for_text("电费收据")
    assert desk.find("[data-print]").is_displayed()
    desk.shoot("receipt")
    return re.search(r"GT\w+", desk.text()).group(0)


def test_cashier_takes_cash_and_prints_the_receipt(site, desk):
    before = {number: balance(site, number) for number in ACCOUNTS}
    staff_log_in(desk, "cashier1")
    desk.wait_for_text("工作台")
    desk.shoot("cashier-dashboard")
    take_cash(site, desk)
    assert "张丽" in desk.text()
    assert {n: balance(site, n) for n in ACCOUNTS} == {ACCOUNTS[0]: before[ACCOUNTS[0]] + 10000,
                                                      ACCOUNTS[1]: before[ACCOUNTS[1]] + 5050}


def test_finance_approves_a_refund_the_cashier_asked_for(site, request):
    from tests.e2e import browser

    cashier, finance = (browser.Page(browser.start(browser.DESK), site.url, f"{request.node.name}-{who}")
                        for who in ("cashier", "finance"))
    request.addfinalizer(cashier.chrome.quit), request.addfinalizer(finance.chrome.quit)
    staff_log_in(cashier, "cashier1")
    receipt_no = take_cash(site, cashier, rows=((ACCOUNTS[0], "30"),))
    before = balance(site, ACCOUNTS[0])
    cashier.open("/staff/refunds")
    assert "批准并退款" not in cashier.text()
    cashier.fill("#channel_txn_id", receipt_no)
    cashier.fill("#amount", "20.00")
    cashier.find("#reason option[value=overpayment]").click()
    cashier.fill("#note", "多交")
    cashier.press("提交申请")
    cashier.wait_for_text("等待财务审批")
    cashier.shoot("refund-asked")
    staff_log_in(finance, "finance1")
    finance.open("/staff/refunds")
    finance.shoot("refunds-to-approve")
    finance.press("批准并退款")
    finance.wait_for_text("已退款")
    finance.shoot("refund-approved")
    with read_session(site.engine) as db:
        assert db.exec(select(Refund.state)).all() == ["succeeded"]
    assert balance(site, ACCOUNTS[0]) == before - 2000
