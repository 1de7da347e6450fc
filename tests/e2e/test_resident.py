"""A resident on a phone: logs in with the code the demo shows, prepays through the WeChat Pay
sandbox cashier, comes back to the result page and sees the new balance."""

import re

from billing.accounts import Account
from billing.db import read_session
from billing.ledger import customer_balances
from sqlmodel import select


def balance(site, account_no: str) -> int:
    with read_session(site.engine) as db:
        account = db.exec(select(Account).where(Account.account_no == account_no)).one()
        return customer_balances(db, [account.id])[account.id]


def log_in(phone, number: str = "13800000001", path: str = "/") -> None:
    phone.open(path)
    phone.fill("#phone-send", number)
    phone.press("获取验证码")
    code = re.search(r"验证码[：:]\s*(\d{6})", phone.text()).group(1)
    phone.fill("#code", code)
    phone.press("登录")


def test_resident_logs_in_and_prepays_through_the_wechat_cashier(site, phone):
    phone.open("/")
    phone.shoot("login")
    log_in(phone)
    phone.wait_for_text("我的户号")
    phone.shoot("home")
    account_no = phone.find(".account-no").text
    before = balance(site, account_no)
    phone.press("充值" if "充值" in phone.text() else "去缴费")
    phone.shoot("pay-form")
    for choice in phone.all("input[type=radio][name=what][value=prepay]"):
        choice.click()
    phone.fill("#amount", "50")
    phone.find("input[name=channel][value=wechat]").click()
    phone.press("去支付")
    phone.shoot("sandbox-cashier")
    phone.press("确认支付")
    phone.wait_for_text("支付成功", timeout=30)
    phone.shoot("paid")
    assert balance(site, account_no) == before + 5000
