"""A resident on a phone opens their bills from the home page, then one bill: its lines, its reads,
where the tier year stands, and the PDF link."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from billing import bills
from billing.db import unit_of_work
from billing.residents import Resident, bound_accounts
from tests.e2e.test_resident import log_in

PHONE_NUMBER = "13800000001"
LINES = (bills.Line("tier_1", "bill.line.tier_1", 10760, 200_000, 53_800),
         bills.Line("tier_2", "bill.line.tier_2", 5880, 100_000, 58_800))  # 200 kWh x 0.538, 100 kWh x 0.588


def _issue_a_bill(site) -> tuple[str, int, str]:
    """An issued bill for last month on the demo resident's first 户号: (户号, bill id, bill number)."""
    now = datetime.now(UTC)
    first = (now.date().replace(day=1) - timedelta(days=1)).replace(day=1)
    with unit_of_work(site.engine) as db:
        resident = db.exec(select(Resident).where(Resident.phone == PHONE_NUMBER)).one()
        account = bound_accounts(db, resident.id)[0]
        last = date(first.year + first.month // 12, first.month % 12 + 1, 1) - timedelta(days=1)
        bill = bills.create(db, bills.Draft(account.id, first, last, now.date() + timedelta(days=15), LINES), now=now)
        return account.account_no, bill.id, bill.number


def test_a_resident_opens_a_bill_on_the_phone(site, phone):
    account_no, bill_id, number = _issue_a_bill(site)
    log_in(phone, PHONE_NUMBER)
    phone.wait_for_text("我的户号")
    phone.shoot("home-with-standing")
    phone.find(f'a[href="/bills/{account_no}"]').click()  # 查看账单 of this 户号
    phone.wait_for_text("我的账单")
    phone.shoot("bills")
    phone.find(f'.bill-list a[href="/bills/{account_no}/{bill_id}"]').click()
    phone.wait_for_text("电费明细")
    phone.shoot("bill")
    text = phone.text()
    assert number in text and "第一档电费" in text and "第二档电费" in text and "166.40" in text
    assert "抄表示数" in text and "下载 PDF 账单" in text
    width = phone.chrome.execute_script("return document.documentElement.scrollWidth")
    assert width <= 390, f"the bill page is {width} px wide on a 390 px phone"
