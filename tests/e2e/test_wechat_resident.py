"""A resident in WeChat's browser (Chromium saying it is WeChat): 微信一键登录 through the local WeChat's
consent page, links the phone once with the SMS code the demo shows, pays with WeChat Pay's JSAPI
sheet (the sandbox's stand-in for WeixinJSBridge), and sees the payment, the balance after it and
the new balance on the home page."""

import re

import pytest
from sqlmodel import select

from billing.db import read_session
from billing.residents import WeChatIdentity
from payments.sandbox.server import LoopbackServer
from portal.wechat.client import App, WeChatLogin
from portal.wechat.sandbox import WeChatLoginSandbox, openid
from tests.e2e import browser
from tests.e2e.test_resident import balance
from tests.payment_fixtures import APPID
from tests.web.test_wechat_login import WECHAT_UA

SECRET = "e2e-oa-secret-0123456789abcdef0123"


@pytest.fixture
def wechat_login():
    sandbox = WeChatLoginSandbox({APPID: SECRET})
    server = LoopbackServer(sandbox).start()
    sandbox.url = server.url
    yield sandbox
    server.stop()


@pytest.fixture
def site_overrides(wechat_login):
    return {"WECHAT": WeChatLogin({"oa": App(APPID, SECRET)}, api_root=wechat_login.url, oauth_root=wechat_login.url)}


@pytest.fixture
def wechat_phone(request, site):
    chrome = browser.start(browser.PHONE, WECHAT_UA)
    request.addfinalizer(chrome.quit)
    return browser.Page(chrome, site.url, request.node.name)


def test_wechat_login_links_the_phone_then_pays_with_the_jsapi_sheet(site_overrides, site, wechat_phone):
    phone = wechat_phone
    phone.open("/login")
    phone.shoot("login-in-wechat")
    phone.press("微信一键登录")
    phone.wait_for_text("允许")
    phone.shoot("wechat-consent")
    phone.press("允许")
    phone.wait_for_text("首次使用请验证手机号")
    phone.shoot("link-phone")
    phone.fill("#phone-send", "13800000001")
    phone.press("获取验证码")
    phone.fill("#code", re.search(r"验证码[：:]\s*(\d{6})", phone.text()).group(1))
    phone.press("登录")
    phone.wait_for_text("我的户号")
    with read_session(site.engine) as db:
        [identity] = db.exec(select(WeChatIdentity)).all()
    assert identity.openid == openid(APPID, "sandbox-wechat-user") and identity.resident_id is not None

    account_no = phone.find(".account-no").text
    before = balance(site, account_no)
    phone.press("充值" if "充值" in phone.text() else "去缴费")
    assert not phone.all("input[name=channel][value=alipay]")  # Alipay does not open inside WeChat
    for choice in phone.all("input[type=radio][name=what][value=prepay]"):
        choice.click()
    phone.fill("#amount", "50")
    phone.shoot("pay-form-in-wechat")
    phone.press("去支付")
    phone.wait_for_text("模拟在微信内调起支付")
    phone.shoot("jsapi-sheet")
    phone.press("确认支付")
    phone.wait_for_text("支付成功", timeout=30)
    phone.shoot("paid-receipt")
    assert balance(site, account_no) == before + 5000
    [txn] = site.wechat.transactions.values()
    assert (txn["trade_type"], txn["openid"]) == ("JSAPI", identity.openid)
    assert account_no in phone.text()
    phone.open("/")
    phone.shoot("home-after")
