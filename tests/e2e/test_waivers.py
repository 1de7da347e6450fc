"""违约金减免 in the browser: a cashier on a phone finds a bill by its number and asks for a waiver of
part of its late fee; finance at a desk approves it and the fee bill left is the rest."""

from datetime import date, timedelta

from sqlmodel import select

from billing import bills, late_fee_posting
from billing.bill_records import ISSUED, Bill
from billing.clock import beijing_date, system_clock
from billing.db import read_session, unit_of_work
from billing.accounts import Account
from tests.e2e import browser
from tests.e2e.test_staff import staff_log_in


def _fined_bill(site) -> str:
    """A bill of the demo's first 户号 with a 12.34 元 fee bill posted for it; returns its number."""
    now = system_clock()
    with unit_of_work(site.engine) as db:
        account = db.exec(select(Account).where(Account.account_no == "3301000001")).one()
        today = beijing_date(now)
        bill = bills.create(db, bills.Draft(account.id, date(2026, 9, 1), date(2026, 9, 30), today + timedelta(days=1),
                                            (bills.Line("energy", "bill.line.energy", 45_600),)), now=now)
        late_fee_posting.post_fee_bill(db, bill.id, 1234, key=f"late-fee:{bill.id}:e2e", accrued_to=today,
                                       accrued_fen=1234, now=now)
        return bill.number


def test_cashier_asks_on_a_phone_and_finance_approves_at_a_desk(site, request):
    number = _fined_bill(site)
    cashier = browser.Page(browser.start(browser.PHONE), site.url, f"{request.node.name}-cashier")
    finance = browser.Page(browser.start(browser.DESK), site.url, f"{request.node.name}-finance")
    request.addfinalizer(cashier.chrome.quit), request.addfinalizer(finance.chrome.quit)
    staff_log_in(cashier, "cashier1")
    cashier.open("/staff/waivers/new")
    cashier.fill("#find-bill", number)
    cashier.press("查找账单")
    cashier.wait_for_text("已计收未减免的违约金")
    assert "¥12.34" in cashier.text()
    cashier.fill("#amount", "10.00")
    cashier.fill("#reason", "用户住院，核实后减免")
    cashier.shoot("waiver-form")
    cashier.press("提交申请")
    cashier.wait_for_text("等待另一位工作人员审批")
    cashier.shoot("waiver-asked")
    staff_log_in(finance, "finance1")
    finance.open("/staff/waivers")
    finance.shoot("waivers-to-decide")
    finance.press("批准减免")
    finance.wait_for_text("已批准减免")
    finance.shoot("waiver-approved")
    with read_session(site.engine) as db:
        bill_id = db.exec(select(Bill.id).where(Bill.number == number)).one()
        assert [fee.total_fen for fee in late_fee_posting.fee_bills(db, bill_id)] == [234]
        assert all(fee.state == ISSUED for fee in late_fee_posting.fee_bills(db, bill_id))
