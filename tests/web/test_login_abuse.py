"""Login abuse through the pages: SMS sprayed across phones, a victim locked out, codes guessed,
staff passwords guessed, open redirects, and a resident login that must stay closed."""

import re
from urllib.parse import urlsplit

import pytest
from sqlmodel import func, select

from billing.db import make_engine, read_session, unit_of_work
from billing.residents import LoginCode
from billing.staff import add_staff
from tests import factories
from tests.conftest import csrf_token

ATTACKER, VICTIM_HOME, OFFICE = "203.0.113.66", "198.51.100.20", "192.0.2.10"
VICTIM = "13800000001"


def ask_code(client, phone, address=ATTACKER, next_path=None):
    data = {"phone": phone, "csrf_token": csrf_token(client, "/login")}
    if next_path:
        data["next"] = next_path
    return client.post("/login/code", data=data, environ_base={"REMOTE_ADDR": address})


def code_on(page) -> str:
    return re.search(r"验证码：(\d{6})", page.get_data(as_text=True)).group(1)


def codes_issued(engine) -> int:
    with read_session(engine) as db:
        return db.exec(select(func.count()).select_from(LoginCode)).one()


# --- login codes: per client, per client and phone, per phone --------------------------------


def test_one_client_spraying_codes_over_25_phones_is_stopped_after_ten(engine, client):
    statuses = [ask_code(client, f"138000001{n:02d}").status_code for n in range(25)]
    assert statuses == [302] * 10 + [429] * 15
    assert "当前网络操作过于频繁" in ask_code(client, "13800000199").get_data(as_text=True)
    assert codes_issued(engine) == 10


def test_an_attacker_hammering_a_phone_does_not_lock_its_owner_out(engine, clock, client, app):
    statuses = []
    for _ in range(10):
        statuses.append(ask_code(client, VICTIM).status_code)
        clock.advance(minutes=1)
    assert statuses == [302] * 5 + [429] * 5
    victim = app.test_client()
    sent = ask_code(victim, VICTIM, VICTIM_HOME)
    assert sent.status_code == 302
    page = victim.get(sent.headers["Location"])
    token = csrf_token(victim, "/login")
    logged_in = victim.post("/login", data={"phone": VICTIM, "code": code_on(page), "csrf_token": token},
                            environ_base={"REMOTE_ADDR": VICTIM_HOME})
    assert logged_in.status_code == 302 and "我的户号" in victim.get("/").get_data(as_text=True)


def test_a_code_sent_a_moment_ago_can_still_be_typed_in(app):
    ask_code(app.test_client(), VICTIM)  # from anywhere: the code went to the phone
    again = ask_code(app.test_client(), VICTIM, VICTIM_HOME)
    assert again.status_code == 429
    page = again.get_data(as_text=True)
    assert "验证码刚刚已发送，请1分钟后再重新获取" in page and 'name="code"' in page


def test_the_limits_hold_across_two_app_instances_on_one_database(engine, app, tmp_path):
    from portal import create_app

    second_engine = make_engine(engine.url.render_as_string(hide_password=False))
    second = create_app({**app.config, "ENGINE": second_engine, "INSTANCE_PATH": str(tmp_path / "second")})
    clients = [app.test_client(), second.test_client()]
    try:
        statuses = [ask_code(clients[n % 2], f"138000002{n:02d}").status_code for n in range(25)]
    finally:
        second_engine.dispose()
    assert statuses == [302] * 10 + [429] * 15
    assert codes_issued(engine) == 10


def test_a_wrong_code_says_it_is_wrong_and_the_right_one_still_works(client):
    page = client.get(ask_code(client, VICTIM).headers["Location"])
    code, token = code_on(page), csrf_token(client, "/login")
    wrong = client.post("/login", data={"phone": VICTIM, "code": "000000" if code != "000000" else "111111",
                                        "csrf_token": token}, follow_redirects=True).get_data(as_text=True)
    assert "验证码错误，还可尝试 4 次" in wrong and "已失效" not in wrong
    client.post("/login", data={"phone": VICTIM, "code": code, "csrf_token": token})
    assert "我的户号" in client.get("/").get_data(as_text=True)
    again = client.post("/login", data={"phone": VICTIM, "code": code, "csrf_token": csrf_token(client, "/login")},
                        follow_redirects=True).get_data(as_text=True)
    assert "验证码已失效，请重新获取" in again


# --- resident login closed ------------------------------------------------------------------


@pytest.mark.parametrize("closed", [{"RESIDENT_LOGIN": False}, {"DEMO_SMS": False}])
def test_a_closed_resident_login_says_so_and_issues_nothing(engine, app, closed):
    app.config.update(closed)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert "居民登录暂未开放，请到营业厅办理" in page and 'name="phone"' not in page
    token = csrf_token(client, "/staff/login")
    refused = client.post("/login/code", data={"phone": VICTIM, "csrf_token": token})
    assert refused.status_code == 403 and "验证码" not in refused.get_data(as_text=True).split("<main>")[1]
    assert codes_issued(engine) == 0


# --- staff passwords ------------------------------------------------------------------------


@pytest.fixture
def staff(engine):
    with unit_of_work(engine) as db:
        add_staff(db, username="finance1", name="钱芳", password="demo1234", roles=["finance"])


def staff_log_in(client, username="finance1", password="demo1234", address=OFFICE, next_path=None):
    token = csrf_token(client, "/staff/login")
    return client.post("/staff/login", query_string={"next": next_path} if next_path else None,
                       data={"username": username, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address})


def test_guessing_a_staff_password_is_held_after_five_failures(client, clock, staff):
    assert [staff_log_in(client, password=f"guess{n}").status_code for n in range(5)] == [401] * 5
    held = staff_log_in(client)
    assert held.status_code == 429 and "登录失败次数过多，请15分钟后再试" in held.get_data(as_text=True)
    clock.advance(minutes=15)
    assert staff_log_in(client).status_code == 302


def test_one_address_guessing_many_names_is_held_after_twenty(client, staff):
    assert {staff_log_in(client, username=f"user{n}").status_code for n in range(20)} == {401}
    assert staff_log_in(client).status_code == 429
    assert staff_log_in(client, address="192.0.2.99").status_code == 302


# --- redirects after login ------------------------------------------------------------------

HOSTILE = ["//evil.example", "/\t/evil.example", "/%09/evil.example", "/\\evil.example", "\\\\evil.example",
           "https://evil.example/", "http:evil.example", "javascript:alert(1)", "/%5Cevil.example",
           "/%2F%2Fevil.example", " //evil.example", "/\n/evil.example", "/\u3000/evil.example", "/../../evil.example",
           "evil.example", "///evil.example", "/%0d%0aSet-Cookie:x=1"]


@pytest.mark.parametrize("target", HOSTILE)
def test_a_resident_login_never_leaves_the_site(client, target):
    page = client.get("/login", query_string={"next": target})
    assert "evil" not in page.get_data(as_text=True)
    sent = ask_code(client, VICTIM, next_path=target)
    assert urlsplit(sent.headers["Location"]).query == ""
    code = code_on(client.get(sent.headers["Location"]))
    done = client.post("/login", query_string={"next": target},
                       data={"phone": VICTIM, "code": code, "csrf_token": csrf_token(client, "/login"), "next": target})
    assert done.headers["Location"] == "/"


@pytest.mark.parametrize("target", HOSTILE)
def test_a_staff_login_never_leaves_the_site(client, staff, target):
    done = staff_log_in(client, next_path=target)
    assert done.headers["Location"] == "/staff/"


def test_a_manager_deep_link_survives_the_whole_login(engine, clock, client):
    with unit_of_work(engine) as db:
        factories.manager(db, at=clock(), account_nos=["3301000011"], member_phone="13900000000")
    to_login = client.get("/manager/")
    assert to_login.status_code == 302
    form = client.get(to_login.headers["Location"]).get_data(as_text=True)
    target = re.search(r'name="next" value="([^"]+)"', form).group(1)
    assert target == "/manager/"
    sent = ask_code(client, "13900000000", next_path=target)
    page = client.get(sent.headers["Location"])
    code_form = page.get_data(as_text=True).split('action="/login"')[1]
    assert 'name="next" value="/manager/"' in code_form
    done = client.post("/login", data={"phone": "13900000000", "code": code_on(page), "next": "/manager/",
                                       "csrf_token": csrf_token(client, "/login")})
    assert done.headers["Location"] == "/manager/"
    assert client.get("/manager/").status_code == 200


def test_a_staff_deep_link_with_a_query_survives_the_login(client, staff):
    to_login = client.get("/staff/refunds?page=2")
    assert to_login.status_code == 302
    form = client.get(to_login.headers["Location"]).get_data(as_text=True)
    target = re.search(r'name="next" value="([^"]+)"', form).group(1).replace("&amp;", "&")
    token = csrf_token(client, "/staff/login")
    done = client.post("/staff/login", data={"username": "finance1", "password": "demo1234", "next": target,
                                             "csrf_token": token})
    assert done.headers["Location"] == "/staff/refunds?page=2"
