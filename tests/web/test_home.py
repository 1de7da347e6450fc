"""The first page: a demo resident logs in by phone and code and sees their 户号 with balances."""

import re

from billing import ledger
from billing.db import unit_of_work
from billing.ledger import Posting
from tests import factories
from tests.conftest import csrf_token

PHONE = "13800000001"


def _seed(engine, clock):
    with unit_of_work(engine) as db:
        prepaid = factories.account(db, at=clock(), account_no="3301000001", holder_name="李小荣", regime="prepaid")
        owing = factories.account(db, at=clock(), account_no="3301000002", holder_name="王芳")
        stranger = factories.account(db, at=clock(), account_no="3301000003", holder_name="赵强")
        factories.resident(db, PHONE, at=clock(), accounts=(prepaid, owing))
        factories.resident(db, "13800000002", at=clock(), accounts=(stranger,))
        ledger.post(db, Posting("opening:1", "equity:opening", ledger.customer_code("3301000001"), 12345, "opening"), at=clock())
        ledger.post(db, Posting("opening:2", ledger.customer_code("3301000002"), "equity:opening", 8800, "opening"), at=clock())


def _log_in(client, phone=PHONE):
    token = csrf_token(client)
    page = client.post("/login/code", data={"phone": phone, "csrf_token": token}, follow_redirects=True)
    code = re.search(r"验证码：(\d{6})", page.get_data(as_text=True)).group(1)
    return client.post("/login", data={"phone": phone, "code": code, "csrf_token": token}, follow_redirects=True)


def test_anonymous_home_is_the_login_form(client):
    page = client.get("/").get_data(as_text=True)
    assert "手机号登录" in page and 'name="phone"' in page


def test_resident_sees_bound_accounts_with_balances(engine, clock, client):
    _seed(engine, clock)
    page = _log_in(client).get_data(as_text=True)
    assert "我的户号" in page
    assert "3301000001" in page and "123.45" in page and "余额" in page
    assert "3301000002" in page and "88.00" in page and "欠费" in page
    assert "李*荣" in page and "李小荣" not in page and "138****0001" in page
    assert "3301000003" not in page  # someone else's 户号


def test_another_resident_sees_only_their_own(engine, clock, client):
    _seed(engine, clock)
    page = _log_in(client, "13800000002").get_data(as_text=True)
    assert "3301000003" in page and "3301000001" not in page and "3301000002" not in page


def test_wrong_code_is_refused_in_chinese_then_english(engine, clock, client):
    _seed(engine, clock)
    token = csrf_token(client)
    client.post("/login/code", data={"phone": PHONE, "csrf_token": token})
    page = client.post("/login", data={"phone": PHONE, "code": "xxxxxx", "csrf_token": token}, follow_redirects=True)
    assert "验证码错误，还可尝试 4 次" in page.get_data(as_text=True)
    assert "我的户号" not in page.get_data(as_text=True)
    english = client.get("/login?lang=en").get_data(as_text=True)
    assert "Log in with your phone" in english


def test_bad_phone_is_named_on_the_page(client):
    page = client.post("/login/code", data={"phone": "123", "csrf_token": csrf_token(client)}, follow_redirects=True)
    assert "请输入正确的11位手机号" in page.get_data(as_text=True)


def test_forms_need_the_csrf_token(client):
    assert client.post("/login/code", data={"phone": PHONE}).status_code == 400


def test_logout(engine, clock, client):
    _seed(engine, clock)
    _log_in(client)
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert "手机号登录" in client.get("/").get_data(as_text=True)


def test_static_css_is_served(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200 and b"--green" in response.data
