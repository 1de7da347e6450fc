"""Paying inside WeChat: the WeChat browser gets WeChat Pay's JSAPI sheet for a resident whose WeChat
login gave us the official account's openid; the order names that payer; the sandbox's stand-in for
the sheet checks the signed parameters as WeChat does, and its signed notification credits the balance.
Over real HTTP with the real wechatpayv3 adapter, on both databases."""

from __future__ import annotations

import html
import re

import pytest
import requests

from billing import wechat_identities
from billing.db import unit_of_work
from tests import factories
from tests.payment_helpers import balance
from tests.web.test_payment_pages import Browser
from tests.web.test_wechat_login import WECHAT_UA

OPENID = "oWeChatPayer00000000000000001"


@pytest.fixture
def household(engine, clock):
    with unit_of_work(engine) as db:
        account = factories.account(db, at=clock(), account_no="3301000001", regime="prepaid")
        resident = factories.resident(db, "13800000001", at=clock(), accounts=(account,))
        factories.resident(db, "13800000002", at=clock(), accounts=(account,))
        identity = wechat_identities.identity_for(db, "oa", OPENID, now=clock())
        wechat_identities.attach(db, identity.id, resident.id)
    return account


@pytest.fixture
def in_wechat(app, live, wechat_sandbox):
    app.config.update(PAYMENTS_SANDBOX=True, SANDBOX_WECHATPAY_PORT=int(wechat_sandbox.url.rsplit(":", 1)[1]))
    wechat_sandbox.auto_notify = True
    browser = Browser(live.url)
    browser.http.headers["User-Agent"] = WECHAT_UA
    return browser


def test_a_wechat_resident_pays_with_the_jsapi_sheet_and_the_notification_credits(in_wechat, household, engine,
                                                                                   wechat_sandbox, gateways):
    in_wechat.log_in("13800000001")
    form = in_wechat.get("/pay/3301000001").text
    assert 'value="wechat"' in form and 'value="alipay"' not in form  # Alipay's pages do not open in WeChat
    sheet = in_wechat.post("/pay/3301000001", {"what": "prepay", "amount": "66.00", "channel": "wechat"})
    assert sheet.status_code == 200 and "data-wechat-pay" in sheet.text and 'data-signtype="RSA"' in sheet.text
    [order] = wechat_sandbox.orders.values()
    assert (order["trade_type"], order["openid"], order["total"]) == ("JSAPI", OPENID, 6600)

    stand_in = html.unescape(re.search(r'<a class="button" href="([^"]+)"', sheet.text).group(1))
    cashier = in_wechat.get(stand_in)
    assert cashier.status_code == 200 and "¥66.00" in cashier.text and 'name="payer"' not in cashier.text
    action = re.search(r'<form method="post" action="([^"]+)"', cashier.text).group(1).replace("&amp;", "&")
    back = in_wechat.http.post(requests.compat.urljoin(cashier.url, action), data={"action": "pay"}, timeout=10)
    assert back.url.startswith(f"{in_wechat.base}/pay/orders/")
    assert wechat_sandbox.wait_idle(10)
    assert balance(engine, household) == 6600
    [txn] = wechat_sandbox.transactions.values()
    assert txn["openid"] == OPENID and txn["trade_type"] == "JSAPI"
    assert "支付成功" in in_wechat.get(back.url).text


def test_a_tampered_pay_sheet_is_refused_by_the_stand_in(in_wechat, household, wechat_sandbox, gateways):
    in_wechat.log_in("13800000001")
    sheet = in_wechat.post("/pay/3301000001", {"what": "prepay", "amount": "10.00", "channel": "wechat"})
    stand_in = html.unescape(re.search(r'<a class="button" href="([^"]+)"', sheet.text).group(1))
    tampered = re.sub(r"paySign=[^&]+", "paySign=AAAA", stand_in)
    refused = in_wechat.get(tampered)
    assert refused.status_code == 400 and "签名" in refused.text
    assert wechat_sandbox.transactions == {}


def test_without_a_wechat_login_the_wechat_browser_is_asked_to_link_first(in_wechat, household, engine, gateways):
    in_wechat.log_in("13800000002")  # bound to the same 户号, but never logged in with WeChat
    form = in_wechat.get("/pay/3301000001").text
    assert 'value="wechat"' not in form and "在微信中支付需先绑定微信" in form
    refused = in_wechat.post("/pay/3301000001", {"what": "prepay", "amount": "10.00", "channel": "wechat"})
    assert refused.status_code == 400 and "请选择微信支付或支付宝" in refused.text
    assert balance(engine, household) == 0


def test_other_phones_keep_wechat_h5_and_alipay(app, live, household, gateways):
    phone = Browser(live.url)
    phone.log_in("13800000001")
    form = phone.get("/pay/3301000001").text
    assert 'value="wechat"' in form and 'value="alipay"' in form and "data-wechat-pay" not in form


DESKTOP_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def test_a_desktop_pays_by_scanning_a_wechat_qr_code(in_wechat, household, engine, wechat_sandbox, gateways):
    desktop = in_wechat
    desktop.http.headers["User-Agent"] = DESKTOP_UA
    desktop.log_in("13800000002")
    form = desktop.get("/pay/3301000001").text
    assert 'value="wechat"' in form and 'value="alipay"' in form
    started = desktop.post("/pay/3301000001", {"what": "prepay", "amount": "20.00", "channel": "wechat"},
                           allow_redirects=False)
    assert started.headers["Location"].startswith("/pay/orders/")
    page = desktop.get(started.headers["Location"])
    assert "请用微信扫码支付" in page.text and 'src="data:image/svg+xml' in page.text
    [order] = wechat_sandbox.orders.values()
    assert order["trade_type"] == "NATIVE"
    scan = html.unescape(re.search(r'href="(http://127\.0\.0\.1:\d+/sandbox/scan[^"]+)"', page.text).group(1))
    back = desktop.pay_at_cashier(scan)
    assert back.url == page.url
    assert wechat_sandbox.wait_idle(10)
    assert balance(engine, household) == 2000
