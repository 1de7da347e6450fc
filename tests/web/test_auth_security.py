"""Sessions, headers and body caps, probed as an attacker would: a cookie replayed after logout, a
session planted before a staff login, sessions left open, framing, oversized bodies."""

import io
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from billing.db import unit_of_work
from billing.staff import add_staff
from tests import factories
from tests.conftest import csrf_token

PHONE = "13800000001"
TEMPLATES = Path(__file__).resolve().parents[2] / "portal" / "templates"
MB = 1024 * 1024


@pytest.fixture
def people(engine, clock):
    with unit_of_work(engine) as db:
        factories.resident(db, PHONE, at=clock(), accounts=(factories.account(db, at=clock(), account_no="3301000001"),))
        add_staff(db, username="finance1", name="钱芳", password="demo1234", roles=["finance"])


def resident_log_in(client):
    token = csrf_token(client, "/login")
    page = client.post("/login/code", data={"phone": PHONE, "csrf_token": token}, follow_redirects=True)
    code = re.search(r"验证码：(\d{6})", page.get_data(as_text=True)).group(1)
    return client.post("/login", data={"phone": PHONE, "code": code, "csrf_token": token})


def staff_log_in(client, password="demo1234"):
    token = csrf_token(client, "/staff/login")
    return client.post("/staff/login", data={"username": "finance1", "password": password, "csrf_token": token})


def resident_home(client) -> bool:
    return "3301000001" in client.get("/").get_data(as_text=True)


def staff_in(client) -> bool:
    return client.get("/staff/").status_code == 200


# --- logout ends the session on the server ------------------------------------------------


def test_a_resident_cookie_replayed_after_logout_is_worth_nothing(client, people):
    resident_log_in(client)
    assert resident_home(client)
    stolen = client.get_cookie("session").value
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    client.set_cookie("session", stolen)
    assert not resident_home(client)


def test_a_staff_cookie_replayed_after_logout_is_worth_nothing(client, people):
    staff_log_in(client)
    assert staff_in(client)
    stolen = client.get_cookie("session").value
    client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/")})
    client.set_cookie("session", stolen)
    assert client.get("/staff/").status_code == 302


def test_a_staff_login_starts_from_an_empty_session(client, people):
    resident_log_in(client)
    with client.session_transaction() as planted:
        planted["planted"] = "by someone else"
        planted["lang"] = "en"
    old_csrf = csrf_token(client, "/staff/login")
    resident_cookie = client.get_cookie("session").value
    staff_log_in(client)
    with client.session_transaction() as fresh:
        assert "planted" not in fresh and fresh["lang"] == "en"
    assert not resident_home(client)
    refused = client.post("/staff/logout", data={"csrf_token": old_csrf})
    assert refused.status_code == 400  # the token of the old session is gone with it
    client.set_cookie("session", resident_cookie)
    assert not resident_home(client)  # the login it replaced was ended on the server, not just forgotten


# --- bounded lifetimes ----------------------------------------------------------------------


def test_staff_sessions_end_after_thirty_idle_minutes(client, clock, people):
    staff_log_in(client)
    clock.advance(minutes=29)
    assert staff_in(client)
    clock.advance(minutes=30, seconds=30)
    assert not staff_in(client)


def test_staff_sessions_end_after_ten_hours_however_busy(client, clock, people):
    staff_log_in(client)
    for _ in range(19):
        clock.advance(minutes=29)
        assert staff_in(client)
    clock.advance(minutes=29)  # 9 h 40 min: still in
    assert staff_in(client)
    clock.advance(minutes=21)
    assert not staff_in(client)


def test_resident_sessions_end_after_an_idle_hour_or_a_day(client, clock, people):
    resident_log_in(client)
    clock.advance(minutes=59)
    assert resident_home(client)
    clock.advance(minutes=61)
    assert not resident_home(client)
    resident_log_in(client)
    for _ in range(24):
        clock.advance(minutes=59)
        assert resident_home(client)
    clock.advance(minutes=59)  # 24 h 35 min after login
    assert not resident_home(client)


# --- production cookies and headers --------------------------------------------------------


@pytest.fixture
def production_app(engine, clock, tmp_path):
    from portal import create_app

    return create_app({
        "ENV": "production", "ENGINE": engine, "DATABASE_URL": "postgresql://db.internal/dianfei", "CLOCK": clock,
        "GATEWAYS": {}, "INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "s" * 64, "DEMO_SMS": False,
        "RESIDENT_LOGIN": False, "PAYMENTS_SANDBOX": False, "PUBLIC_URL": "https://portal.example",
    })


def test_production_cookies_are_secure_and_https_is_pinned(production_app):
    page = production_app.test_client().get("/staff/login", base_url="https://portal.example")
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith("__Host-dianfei=") and "Secure" in cookie and "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie and "Domain" not in cookie
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_development_cookies_work_over_plain_http(client):
    page = client.get("/staff/login")
    assert "Secure" not in page.headers["Set-Cookie"]
    assert "Strict-Transport-Security" not in page.headers


@pytest.mark.parametrize("method,path", [("get", "/"), ("get", "/login"), ("get", "/staff/login"), ("get", "/staff/"),
                                         ("get", "/static/css/app.css"), ("get", "/nowhere"),
                                         ("post", "/callbacks/wechatpay")])
def test_every_response_carries_the_security_headers(client, method, path):
    headers = getattr(client, method)(path).headers
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def _policy(response) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))


def test_the_content_security_policy(client):
    policy = _policy(client.get("/"))
    assert policy == {
        "default-src": "'self'", "script-src": "'self'", "style-src": "'self'", "img-src": "'self' data:",
        "form-action": "'self'", "frame-ancestors": "'none'", "base-uri": "'none'", "object-src": "'none'",
    }


def test_no_template_carries_inline_script_or_style():
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+=|\sstyle=|<style", re.IGNORECASE)
    offenders = [f"{path.relative_to(TEMPLATES)}: {match.group(0)}" for path in TEMPLATES.rglob("*.html")
                 for match in inline.finditer(path.read_text(encoding="utf-8"))]
    assert offenders == []


def test_the_print_buttons_work_through_a_script_file(client):
    assert "window.print()" in client.get("/static/js/print.js").get_data(as_text=True)
    assert 'src="/static/js/print.js"' in client.get("/").get_data(as_text=True)


def _allowed(policy: dict[str, str], url: str) -> bool:
    """Whether form-action lets a form's navigation reach ``url`` (its origin, or a *.host source)."""
    parts = urlsplit(url)
    for source in policy["form-action"].split():
        scheme, _, host = source.partition("://")
        if scheme == parts.scheme and (host == parts.netloc or host.startswith("*.") and parts.netloc.endswith(host[1:])):
            return True
    return False


@pytest.mark.parametrize("channel", ["wechat", "alipay"])
def test_the_payment_form_may_send_the_payer_to_the_cashier(engine, client, gateways, people, channel):
    resident_log_in(client)
    form = client.get("/pay/3301000001")
    sent = client.post("/pay/3301000001", data={"channel": channel, "what": "prepay", "amount": "50.00",
                                                "csrf_token": csrf_token(client, "/pay/3301000001")})
    assert sent.status_code == 302 and urlsplit(sent.headers["Location"]).netloc != "localhost"
    assert _allowed(_policy(form), sent.headers["Location"])
    assert _allowed(_policy(form), "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb")
    assert _allowed(_policy(form), "https://mclient.alipay.com/cashier/mobilepay.htm")
    assert not _allowed(_policy(form), "https://evil.example/")


# --- request bodies are capped --------------------------------------------------------------


class CountingStream:
    """A request body that records how much of it was read."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def read(self, size=-1):
        chunk = b"x" * (64 * 1024 if size is None or size < 0 else min(size, 64 * 1024))
        self.read_bytes += len(chunk)
        return chunk



def test_a_20_mb_post_is_refused_in_chinese_without_being_read(client):
    body = CountingStream()
    page = client.post("/login/code", content_type="application/x-www-form-urlencoded",
                       environ_overrides={"wsgi.input": body, "CONTENT_LENGTH": str(20 * MB)})
    assert page.status_code == 413
    assert "提交的内容或文件太大" in page.get_data(as_text=True)
    assert body.read_bytes == 0


@pytest.mark.parametrize("size,status", [(900 * 1024, 400), (MB + 1, 413)])
def test_pages_take_up_to_one_megabyte(client, size, status):
    page = client.post("/login/code", data={"phone": "1" * size})  # no CSRF token: 400 when read at all
    assert page.status_code == status


@pytest.mark.parametrize("size,status", [(60 * 1024, 404), (65 * 1024, 413)])
def test_channel_notifications_take_up_to_64_kb(client, size, status):
    answer = client.post("/callbacks/wechatpay", data=b"{" + b" " * size + b"}", content_type="application/json")
    assert answer.status_code == status
    if status == 413:
        assert answer.get_json()["error"]["code"] == "too_large"


@pytest.fixture
def manager_desk(engine, clock, client):
    with unit_of_work(engine) as db:
        factories.manager(db, at=clock(), account_nos=["3301000011"], member_phone="13900000000")
    token = csrf_token(client, "/login")
    page = client.post("/login/code", data={"phone": "13900000000", "csrf_token": token}, follow_redirects=True)
    code = re.search(r"验证码：(\d{6})", page.get_data(as_text=True)).group(1)
    client.post("/login", data={"phone": "13900000000", "code": code, "csrf_token": token})
    return client


@pytest.mark.parametrize("size,status", [(3 * MB, 400), (5 * MB, 413)])
def test_the_manager_upload_takes_a_few_megabytes(manager_desk, size, status):
    upload = b"3301000011,1.00\n" * (size // 16)
    page = manager_desk.post("/manager/upload", data={
        "csrf_token": csrf_token(manager_desk, "/manager/"), "channel": "wechat", "file": (io.BytesIO(upload), "bulk.csv"),
    }, content_type="multipart/form-data")
    assert page.status_code == status


def test_every_body_limit_names_a_real_endpoint_or_blueprint(app):
    from portal.security import BODY_LIMITS

    known = set(app.view_functions) | set(app.blueprints)
    assert sorted(set(BODY_LIMITS) - known) == []


def test_behind_a_trusted_proxy_the_rate_limits_count_the_real_client(engine, clock, tmp_path):
    from portal import create_app

    app = create_app({"ENV": "test", "ENGINE": engine, "DATABASE_URL": "sqlite://", "CLOCK": clock, "GATEWAYS": {},
                      "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "test-secret", "PROXIES": 1})
    client = app.test_client()
    token = csrf_token(client, "/login")

    def ask(phone: str, address: str) -> int:
        return client.post("/login/code", data={"phone": phone, "csrf_token": token},
                           headers={"X-Forwarded-For": address}).status_code

    sprayed = [ask(f"1390000{n:04d}", "203.0.113.9") for n in range(11)]
    assert sprayed[-1] == 429 and 429 not in sprayed[:10]
    assert ask("13911112222", "198.51.100.7") != 429  # another client behind the same proxy
