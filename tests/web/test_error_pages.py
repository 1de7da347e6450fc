"""Error pages are the site's own: its layout, the reader's language, one sentence per status and
a way back to the home of whoever is logged in; /api and /callbacks answer JSON; a 500 shows
nothing of its insides."""

import re

import pytest
from flask import abort

from tests.conftest import csrf_token
from tests.staff_helpers import add_team, log_in
from tests.web.test_home import _log_in as resident_log_in, _seed as seed_residents

FULL_WIDTH = re.compile("[，：；（）！？。、【】“”]")


@pytest.fixture
def app(app):
    """The portal as it runs in production (exceptions become 500 pages), with two test routes."""
    app.testing = False
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.add_url_rule("/test/too-many", "too_many", lambda: abort(429))
    app.add_url_rule("/test/crash", "crash", _crash)
    app.add_url_rule("/api/v1/test/crash", "api_crash", _crash)
    return app


def _crash():
    raise RuntimeError("Traceback: secret=hunter2 in /srv/dianfei/portal/views.py")


def _back_link(page: str) -> str:
    return re.search(r'<a class="button" href="([^"]+)"', page).group(1)


def test_a_missing_page_is_a_chinese_page_in_the_site_layout_with_a_way_to_log_in(client):
    answer = client.get("/no/such/page")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 404 and answer.mimetype == "text/html"
    assert '<header class="bar">' in page and "页面不存在" in page and "没有找到这个页面" in page
    assert "Not Found" not in page and _back_link(page) == "/login"


def test_error_pages_switch_to_english_without_full_width_punctuation(client):
    page = client.get("/no/such/page?lang=en").get_data(as_text=True)
    body = page.split("<main>")[1]
    assert "Page not found" in body and "中文" in page and not FULL_WIDTH.search(body)


@pytest.mark.parametrize(("method", "path", "status", "sentence"), [
    ("post", "/staff/login", 400, "页面可能已过期"),  # no CSRF token
    ("get", "/staff/logout", 405, "请从页面上的按钮或链接进入"),
    ("get", "/test/too-many", 429, "请稍等片刻再试"),
    ("get", "/test/crash", 500, "问题已记录"),
])
def test_every_status_has_its_own_sentence(client, method, path, status, sentence):
    answer = getattr(client, method)(path)
    page = answer.get_data(as_text=True)
    assert answer.status_code == status and sentence in page and '<header class="bar">' in page
    assert "Traceback" not in page and "hunter2" not in page and "RuntimeError" not in page


def test_a_405_still_says_which_methods_are_allowed(client):
    assert "POST" in client.get("/staff/logout").headers["Allow"]


def test_a_body_over_the_cap_gets_a_413_page(client):
    answer = client.post("/login/code", data={"phone": "1" * (2 * 1024 * 1024)})
    assert answer.status_code == 413 and "提交的内容或文件太大" in answer.get_data(as_text=True)


def test_staff_get_the_staff_layout_and_a_way_back_to_their_dashboard(engine, client):
    add_team(engine)
    assert _back_link(client.get("/staff/no-such-page").get_data(as_text=True)) == "/staff/login"
    log_in(client, "cashier1")
    forbidden = client.get("/staff/incidents")
    page = forbidden.get_data(as_text=True)
    assert forbidden.status_code == 403 and "没有权限" in page
    assert "柜台收费" in page and "退出" in page  # their own menu
    assert _back_link(page) == "/staff/" and "返回工作台" in page
    assert _back_link(client.get("/staff/no-such-page").get_data(as_text=True)) == "/staff/"


def test_residents_are_led_back_to_their_accounts(engine, clock, client):
    seed_residents(engine, clock)
    resident_log_in(client)
    page = client.get("/no/such/page").get_data(as_text=True)
    assert _back_link(page) == "/" and "返回我的户号" in page


@pytest.mark.parametrize(("path", "status", "code"), [
    ("/api/v1/no-such-thing", 404, "not_found"),
    ("/callbacks/wechat", 405, "method_not_allowed"),
    ("/api/v1/test/crash", 500, "internal_error"),
])
def test_api_and_callbacks_keep_answering_json(client, path, status, code):
    answer = client.get(path)
    assert answer.status_code == status and answer.is_json
    found = answer.json["code"] if path.startswith("/api/") else answer.json["error"]["code"]  # the API's flat shape
    assert found == code and "hunter2" not in answer.get_data(as_text=True)


def test_a_form_error_of_our_own_keeps_its_message(client):
    token = csrf_token(client, "/login")
    page = client.post("/login/code", data={"phone": "123", "csrf_token": token}, follow_redirects=True)
    assert "请输入正确的11位手机号" in page.get_data(as_text=True)
