"""A property manager at a desk with ten 户号 in arrears: filters the list to them, ticks them all
with 全选欠费户, checks the preview and its total, pays once by WeChat Native QR (the demo's
simulated scan pays it), reads the consolidated receipt and downloads it and the month's statement.
The list is looked at on a phone too."""

import io
from datetime import UTC, datetime

import requests
from openpyxl import load_workbook
from sqlmodel import select

from billing import ledger
from billing.accounts import Account
from billing.clock import beijing_date
from billing.db import read_session, unit_of_work
from billing.ledger import Posting
from billing.managers import ManagerAccount
from tests.e2e.test_resident import balance, log_in

MEMBER = "13900000000"


def _managed(site, count: int) -> list[str]:
    with read_session(site.engine) as db:
        return list(db.exec(select(Account.account_no).join(ManagerAccount, ManagerAccount.account_id == Account.id)
                            .order_by(Account.account_no).limit(count)))


def _into_arrears(site, numbers: list[str]) -> dict[str, int]:
    """Each 户号 owes 100.00 more than its balance, 1 元 more per 户号 down the list."""
    owed = {}
    with unit_of_work(site.engine) as db:
        for i, number in enumerate(numbers):
            owed[number] = 10000 + 100 * i
            debit = ledger.balance_fen(db, ledger.customer_code(number)) + owed[number]
            ledger.post(db, Posting(f"e2e:arrears:{number}", ledger.customer_code(number), "equity:opening", debit,
                                    "opening"), at=site_now())
    return owed


def site_now() -> datetime:
    return datetime.now(UTC)


def _download(desk, site, path: str) -> requests.Response:
    """What the browser's download link gives, fetched with its session."""
    cookies = {cookie["name"]: cookie["value"] for cookie in desk.chrome.get_cookies()}
    answer = requests.get(site.url + path, cookies=cookies, timeout=30)
    assert answer.status_code == 200, path
    return answer


def test_manager_pays_ten_accounts_at_once_and_gets_one_receipt_and_the_statement(site, desk, phone):
    numbers = _managed(site, 10)
    owed = _into_arrears(site, numbers)
    log_in(desk, MEMBER, path="/manager/")
    desk.wait_for_text("代缴电费")
    desk.click("input[name=arrears]")
    desk.press("筛选")
    assert "共 10 户，其中欠费 10 户，合计欠费 ¥1045.00" in desk.text()
    desk.click("[data-pick-page]")  # 本页全选 off, then on: the side panel counts along
    assert desk.find("[data-selected-total]").text.startswith("已选 0 户")
    desk.click("[data-pick-page]")
    assert desk.find("[data-selected-total]").text.startswith("已选 10 户，合计 ¥1045.00")
    desk.shoot("list")
    phone.open("/")  # the same member on a phone: the desk's session (a second code would be rate limited)
    for cookie in desk.chrome.get_cookies():
        phone.chrome.add_cookie({key: cookie[key] for key in ("name", "value", "path")})
    phone.open("/manager/")
    phone.wait_for_text("代缴电费")
    phone.shoot("list-phone")
    desk.press("全选欠费户")
    desk.wait_for_text("核对代缴清单")
    assert "合计 10 户" in desk.text() and "¥1045.00" in desk.text()
    desk.shoot("preview")
    desk.find("input[name=channel][value=wechat]").click()
    desk.press("确认并支付")
    assert desk.find("img.qr-image").size["width"] >= 150
    desk.press("演示：模拟手机扫码")
    desk.press("确认支付")
    desk.wait_for_text("代缴成功", timeout=30)
    assert "合计 10 户" in desk.text() and all(number in desk.text() for number in numbers)
    desk.shoot("receipt")
    assert {number: balance(site, number) for number in numbers} == {number: 0 for number in numbers}
    receipt = _download(desk, site, desk.find("a[href$='.pdf']").get_attribute("href").removeprefix(site.url))
    assert receipt.headers["Content-Type"] == "application/pdf" and receipt.content.startswith(b"%PDF")
    desk.open("/manager/receipts")
    assert "10" in desk.text() and "1045.00" in desk.text()
    desk.open("/manager/statement")
    desk.wait_for_text("月度对账单")
    month = f"{beijing_date(site_now()):%Y-%m}"
    assert "1045.00" in desk.text()
    desk.shoot("statement")
    sheet = load_workbook(io.BytesIO(_download(desk, site, f"/manager/statement.xlsx?month={month}").content)).active
    rows = list(sheet.iter_rows(values_only=True))
    paid = {row[0]: row[5] for row in rows[1:-1]}
    assert all(paid[number] * 100 >= owed[number] for number in numbers)
    assert _download(desk, site, f"/manager/statement.pdf?month={month}").content.startswith(b"%PDF")
