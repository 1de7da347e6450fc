"""Logging in to the mini-program API and what a token is good for: SMS code -> bearer token,
401 without one, logout ends it on the server, a browser's cookie session buys nothing here, the
same code limits as the web login, and errors as {code, message} in Chinese or English."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import select

from billing import logins, throttle
from billing.db import read_session, unit_of_work
from billing.logins import LoginSession
from payments.orders import PaymentOrder
from portal.api.calls import BY_ADDRESS, WRITES_BY_LOGIN
from portal.wechat.client import WeChatLogin
from tests import factories
from tests.conftest import csrf_token, make_app
from tests.wechat_helpers import MINI_APPID, served_wechat, wechat_login  # noqa: F401  (the `wechat` fixture)
from tests.web.api_client import api
from tests.web.test_login_sms import Phone

PHONE = "13800000001"


@pytest.fixture
def resident(engine, clock):
    with unit_of_work(engine) as db:
        account = factories.account(db, at=clock(), account_no="3301000001")
        factories.resident(db, PHONE, at=clock(), accounts=(account,))
    return account


def _sessions(engine) -> list[LoginSession]:
    with read_session(engine) as db:
        return list(db.exec(select(LoginSession)))


def test_a_code_buys_a_token_of_kind_api_for_thirty_days_and_logout_ends_it(engine, clock, app, resident):
    phone = api(app)
    token = phone.log_in(PHONE)
    [login] = _sessions(engine)
    assert login.kind == logins.API and login.expires_at - clock() == timedelta(days=30)
    assert phone.get("/api/v1/accounts").status_code == 200
    assert phone.post("/api/v1/logout").status_code == 204
    assert _sessions(engine) == []
    answer = phone.get("/api/v1/accounts", token=token)
    assert answer.status_code == 401 and answer.get_json()["code"] == "unauthenticated"


def test_without_a_token_or_with_a_bad_one_every_call_is_401(engine, app, resident):
    for token in (None, "x" * 43, "not a token", "A" * 500):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = api(app).get("/api/v1/accounts", headers=headers)
        assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer")
        assert answer.get_json() == {"code": "unauthenticated", "message": "请先登录，或登录已过期，请重新登录。"}


def test_the_token_expires_after_a_week_idle(engine, clock, app, resident):
    phone = api(app, PHONE)
    clock.advance(days=6)
    assert phone.get("/api/v1/accounts").status_code == 200
    clock.advance(days=7, seconds=1)
    assert phone.get("/api/v1/accounts").status_code == 401


def test_a_browser_session_cannot_call_the_api(engine, app, gateways, resident):
    """The cookie of a logged-in web session is no credential here (no ambient authority), nor is
    the token inside it sent as a bearer token: the API takes only tokens of its own kind."""
    browser = app.test_client()
    browser.post("/login/code", data={"phone": PHONE, "csrf_token": csrf_token(browser)})
    with browser.session_transaction() as session:
        pending = session.get("login_phone")
    assert pending == PHONE
    code = api(app).post("/api/v1/login/code", {"phone": PHONE})  # the per-phone minute: refused
    assert code.status_code == 429 and code.get_json()["field"] == "resend"
    _web_login(engine, browser)
    assert browser.get("/pay/3301000001").status_code == 200
    for method, path in (("GET", "/api/v1/accounts"), ("POST", "/api/v1/accounts/3301000001/orders"),
                         ("POST", "/api/v1/logout")):
        answer = browser.open(path, method=method, json={"what": "prepay", "amount_fen": 1000})
        assert answer.status_code == 401, (method, path)
    with browser.session_transaction() as session:
        web_token = session["login"]
    assert api(app).get("/api/v1/accounts", token=web_token).status_code == 401
    with read_session(engine) as db:
        assert db.exec(select(PaymentOrder)).all() == []
    assert browser.get("/pay/3301000001").status_code == 200  # the web session itself is untouched


def _web_login(engine, browser) -> None:
    """Log the browser in with a code issued for it (the demo shows it on the page)."""
    page = browser.get("/login").get_data(as_text=True)
    code = page.split("验证码：", 1)[1][:6]
    browser.post("/login", data={"phone": PHONE, "code": code, "csrf_token": csrf_token(browser, "/login")})


def test_wrong_codes_are_counted_and_named_in_the_callers_language(engine, app, resident):
    phone = api(app)
    assert phone.post("/api/v1/login/code", {"phone": PHONE}).status_code == 202
    wrong = phone.post("/api/v1/login", {"phone": PHONE, "code": "000000x"})
    assert wrong.status_code == 403
    assert wrong.get_json() == {"code": "login_code_wrong", "field": "code", "message": "验证码错误，还可尝试 4 次"}
    english = phone.post("/api/v1/login?lang=en", {"phone": PHONE, "code": "000000x"})
    assert english.get_json()["code"] == "login_code_wrong" and "3" in english.get_json()["message"]
    assert english.get_json()["message"].isascii() and "Set-Cookie" not in english.headers  # no session kept
    by_header = phone.post("/api/v1/login", {"phone": PHONE, "code": "1"}, headers={"Accept-Language": "en"})
    assert by_header.get_json()["message"].isascii()
    assert _sessions(engine) == []


def test_bad_input_is_a_4xx_naming_the_field(engine, app, resident):
    phone = api(app, PHONE)
    cases = [
        (dict(data="{not json", content_type="application/json"), 400, "invalid_input", "body"),
        (dict(json=[1, 2]), 400, "invalid_input", "body"),
        (dict(data="what=prepay", content_type="application/x-www-form-urlencoded"), 415, "unsupported_media_type",
         None),
        (dict(json={"what": "prepay", "amount_fen": "50.00"}), 400, "invalid_input", "amount_fen"),
        (dict(json={"what": "prepay", "amount_fen": 10**30}), 400, "amount_out_of_range", "amount_fen"),
        (dict(json={"what": 7}), 400, "invalid_input", "what"),
        (dict(data="x" * 20_000, content_type="application/json"), 413, "too_large", None),
    ]
    for kwargs, status, code, field in cases:
        answer = phone.call("POST", "/api/v1/accounts/3301000001/orders", **kwargs)
        assert answer.status_code == status, (kwargs, answer.get_json())
        assert answer.get_json()["code"] == code and answer.get_json().get("field") == field, answer.get_json()
    assert phone.post("/api/v1/login/code", {"phone": "12345"}).get_json()["field"] == "phone"
    assert phone.get("/api/v1/accounts?limit=0").get_json()["field"] == "limit"
    assert phone.get("/api/v1/accounts?cursor=%%%").get_json()["field"] == "cursor"
    assert phone.get("/api/v1/nowhere").status_code == 404
    assert phone.call("DELETE", "/api/v1/accounts").status_code == 405


def test_state_changing_calls_are_limited_per_token(engine, app, resident):
    phone = api(app, PHONE)
    answers = [phone.post("/api/v1/orders/DF0/check").status_code for _ in range(WRITES_BY_LOGIN.limit + 1)]
    assert answers[:-1] == [404] * WRITES_BY_LOGIN.limit and answers[-1] == 429
    assert api(app, "13800000002").post("/api/v1/orders/DF0/check").status_code == 404  # another token is free
    assert phone.get("/api/v1/accounts").status_code == 200  # reads have their own, wider limit


def test_calls_are_limited_per_client_address(engine, clock, app, resident):
    with unit_of_work(engine) as db:
        for _ in range(BY_ADDRESS.limit):
            throttle.hit(db, BY_ADDRESS, "127.0.0.1", now=clock())
    answer = api(app).post("/api/v1/login/code", {"phone": PHONE})
    assert answer.status_code == 429 and answer.get_json()["code"] == "rate_limited"
    assert api(app).get("/api/v1/accounts", environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 401


def test_without_a_mini_program_configured_the_wechat_login_is_closed(engine, app, resident):
    app.extensions["dianfei"].wechat = WeChatLogin({})  # no DIANFEI_WECHAT_MINI_APPID
    answer = api(app).post("/api/v1/login/wechat", {"code": "anything"})
    assert answer.status_code == 403 and answer.get_json()["field"] == "wechat"
    assert answer.get_json()["message"] == "暂未开通微信登录，请使用手机号登录"


def test_a_wechat_login_links_once_by_sms_code_then_logs_straight_in(engine, clock, app, resident, wechat):
    app.extensions["dianfei"].wechat = wechat_login(wechat)
    phone = api(app)
    first = phone.post("/api/v1/login/wechat", {"code": wechat.login_code(MINI_APPID, "lihua")})
    assert first.status_code == 200 and first.get_json()["needs_phone"] is True
    assert _sessions(engine) == []
    code = phone.post("/api/v1/login/code", {"phone": PHONE}).get_json()["demo_code"]
    linked = phone.post("/api/v1/login/wechat/link", {"link_ticket": first.get_json()["link_ticket"], "phone": PHONE,
                                                      "code": code})
    assert linked.status_code == 201
    assert api(app).get("/api/v1/accounts", token=linked.get_json()["token"]).get_json()["items"][0][
        "account_no"] == "3301000001"
    again = wechat.login_code(MINI_APPID, "lihua")
    straight = phone.post("/api/v1/login/wechat", {"code": again})
    assert straight.status_code == 201 and straight.get_json()["token_type"] == "Bearer"
    used = phone.post("/api/v1/login/wechat", {"code": again})
    assert used.status_code == 400 and used.get_json()["code"] == "wechat_code_used"
    forged = phone.post("/api/v1/login/wechat/link", {"link_ticket": "forged", "phone": PHONE, "code": code})
    assert forged.status_code == 403 and forged.get_json()["code"] == "wechat_link_refused"
    with read_session(engine) as db:
        assert {login.kind for login in db.exec(select(LoginSession))} == {logins.API}


def test_the_code_goes_by_sms_and_never_in_the_answer_without_the_demo(engine, clock, tmp_path, resident):
    """``demo_code`` is the demo's on-screen code: with a real SMS provider it is null and the code
    only reaches the phone (production refuses DIANFEI_DEMO_SMS: tests/web/test_cli.py)."""
    sms = Phone()
    app = make_app(engine, clock, {}, tmp_path / "instance", MESSENGERS={"sms": sms})
    app.config["DEMO_SMS"] = False  # as tests/web/test_login_sms.py: the provider is injected, not configured
    phone = api(app)
    sent = phone.post("/api/v1/login/code", {"phone": PHONE}).get_json()
    assert sent == {"phone_masked": "138****0001", "sent": True, "demo_code": None}
    [(address, text)] = sms.inbox
    code = re.search(r"验证码为(\d{6})", text).group(1)
    assert address == PHONE and phone.post("/api/v1/login", {"phone": PHONE, "code": code}).status_code == 201
