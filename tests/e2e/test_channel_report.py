"""渠道日报 in the browser: finance reads yesterday's channels on a phone and at a desk, a statement
that differs from the ledger showing its difference."""

from datetime import timedelta

import pytest
from sqlmodel import select

from billing import ledger
from billing.accounts import Account
from billing.clock import beijing_date, system_clock
from billing.db import unit_of_work
from billing.ledger import Posting
from payments import fees
from tests.e2e import browser
from tests.e2e.test_staff import staff_log_in


def _wechat_day(site):
    """Yesterday on WeChat Pay: a payment of 88.00 and a statement saying 88.01 with 0.52800 元 fees."""
    now = system_clock()
    day = beijing_date(now) - timedelta(days=1)
    with unit_of_work(site.engine) as db:
        account_no = db.exec(select(Account.account_no).order_by(Account.account_no)).first()
        ledger.post(db, Posting("pay:wechat:E2E-CHANNEL-DAY", "clearing:wechat", ledger.customer_code(account_no), 8800,
                                "payment", business_date=day), at=now)
        fees.book_fees(db, "wechat", day, 52800, now=now,
                       statement={"statement_lines": 1, "statement_paid_fen": 8801, "statement_refunded_fen": 0})
    return day


@pytest.mark.parametrize("size", ["PHONE", "DESK"])
def test_finance_reads_the_daily_channel_report(site, request, size):
    day = _wechat_day(site)
    page = browser.Page(browser.start(getattr(browser, size)), site.url, request.node.name)
    request.addfinalizer(page.chrome.quit)
    staff_log_in(page, "finance1")
    page.open("/staff/channel-report")
    page.wait_for_text("渠道日报")
    text = page.text()
    assert day.isoformat() in text and "0.52800" in text and "柜台现金，无对账单" in text
    assert page.find(".difference").text.startswith("¥")  # the statement said 0.01 more than the ledger
    page.shoot("channel-report")
