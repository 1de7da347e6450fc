"""微信一键登录 in the WeChat browser: the portal, the real wechatpy OAuth client and the local WeChat's
authorize page over HTTP.  A first login links a phone once; the next goes straight in; a forged
state, a reused or bad code and WeChat's outage end on a clear page, never a 500; outside WeChat
there is no button."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlmodel import select

from billing.db import read_session
from billing.residents import Resident, WeChatIdentity
from portal.wechat.sandbox import openid
from tests.conftest import csrf_token, make_app
from tests.wechat_helpers import OA_APPID, served_wechat, wechat_login  # noqa: F401

WECHAT_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN")
PHONE = "13912345678"


@pytest.fixture
def client(engine, clock, tmp_path, wechat):
    app = make_app(engine, clock, {}, tmp_path / "instance", WECHAT=wechat_login(wechat))
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = WECHAT_UA
    return client


def _to_wechat(client, next_path: str | None = None) -> str:
    """Tap 微信一键登录: the authorize URL the browser is sent to."""
    started = client.get("/login/wechat", query_string={"next": next_path} if next_path else {})
    assert started.status_code == 302
    return started.headers["Location"]


def _consent(authorize_url: str, user: str = "lihua", action: str = "allow") -> str:
    """WeChat's page: the person taps 允许; the path and query WeChat sends the browser back to."""
    page = requests.get(authorize_url.split("#")[0], timeout=5)
    assert page.status_code == 200 and "允许" in page.text
    back = requests.post(authorize_url.split("#")[0], data={"user": user, "action": action}, timeout=5,
                         allow_redirects=False)
    parts = urlsplit(back.headers["Location"])
    return f"{parts.path}?{parts.query}"


def _log_in_by_phone(client, phone: str = PHONE, **next_path):
    """The login page's two forms, with the ``next`` they carry."""
    page = client.post("/login/code", data={"phone": phone, "csrf_token": csrf_token(client, "/login"), **next_path},
                       follow_redirects=True)
    code = re.search(r"验证码：(\d{6})", page.get_data(as_text=True)).group(1)
    return client.post("/login", data={"phone": phone, "code": code, "csrf_token": csrf_token(client, "/login"),
                                       **next_path})


def _identities(engine) -> list[WeChatIdentity]:
    with read_session(engine) as db:
        return list(db.exec(select(WeChatIdentity)).all())


def test_first_wechat_login_links_a_phone_once_and_the_next_goes_straight_in(client, wechat, engine):
    assert "微信一键登录" in client.get("/login").get_data(as_text=True)
    authorize = _to_wechat(client, "/pay/3301000001")
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(f"{wechat.url}/connect/oauth2/authorize?appid={OA_APPID}&redirect_uri=")
    assert query["scope"] == ["snsapi_base"] and query["state"][0] and authorize.endswith("#wechat_redirect")

    back = client.get(_consent(authorize))
    assert back.status_code == 302 and back.headers["Location"].startswith("/login?next=/pay/3301000001")
    page = client.get(back.headers["Location"]).get_data(as_text=True)
    assert "首次使用请验证手机号" in page and "微信一键登录" not in page
    assert [(i.openid, i.resident_id) for i in _identities(engine)] == [(openid(OA_APPID, "lihua"), None)]

    logged_in = _log_in_by_phone(client, next="/pay/3301000001")
    assert logged_in.headers["Location"] == "/pay/3301000001"
    [identity] = _identities(engine)
    assert identity.resident_id is not None

    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    again = client.get(_consent(_to_wechat(client)))
    assert again.status_code == 302 and again.headers["Location"] == "/"
    assert "退出" in client.get("/").get_data(as_text=True)


def test_outside_wechat_there_is_no_button_and_the_phone_login_stays(client, engine):
    client.environ_base["HTTP_USER_AGENT"] = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile Safari/604.1"
    assert "微信一键登录" not in client.get("/login").get_data(as_text=True)
    assert client.get("/login/wechat?next=/pay/1").headers["Location"] == "/login?next=/pay/1"
    assert _log_in_by_phone(client).headers["Location"] == "/"


def test_a_state_that_is_not_ours_is_refused_before_wechat_is_asked(client, wechat):
    path = _consent(_to_wechat(client))
    forged = re.sub(r"state=[^&]+", "state=forged", path)
    refused = client.get(forged)
    assert refused.status_code == 400 and "不是从本页发起的" in refused.get_data(as_text=True)
    assert client.get(path).status_code == 400  # the state is spent with the try
    assert wechat.exchanged == []
    stranger = client.application.test_client()  # a link opened in a session that never started a login
    stranger.environ_base["HTTP_USER_AGENT"] = WECHAT_UA
    assert stranger.get(path).status_code == 400


def test_a_reused_or_bad_code_and_an_outage_end_on_a_clear_page(client, wechat, engine):
    path = _consent(_to_wechat(client))
    assert client.get(path).status_code == 302
    code = parse_qs(urlsplit(path).query)["code"][0]
    cases = [(code, 400, "已使用过"), ("not-a-code", 400, "无效或已过期")]
    for bad_code, status, words in cases:
        state = parse_qs(urlsplit(_to_wechat(client)).query)["state"][0]
        page = client.get("/login/wechat/callback", query_string={"state": state, "code": bad_code})
        assert page.status_code == status and words in page.get_data(as_text=True)
    wechat.outage = "http_500"
    state = parse_qs(urlsplit(_to_wechat(client)).query)["state"][0]
    page = client.get("/login/wechat/callback", query_string={"state": state, "code": "x"})
    assert page.status_code == 503 and "暂时无法连接微信" in page.get_data(as_text=True)
    assert len(_identities(engine)) == 1


def test_declining_on_wechats_page_leads_back_to_the_phone_login(client, wechat, engine):
    declined = client.get(_consent(_to_wechat(client), action="deny"))
    assert declined.headers["Location"] == "/login"
    assert "取消微信授权" in client.get("/login").get_data(as_text=True)
    assert _identities(engine) == [] and wechat.exchanged == []


def test_a_resident_logged_in_by_phone_links_their_wechat_without_a_second_code(client, wechat, engine):
    assert _log_in_by_phone(client).headers["Location"] == "/"
    linked = client.get(_consent(_to_wechat(client, "/pay/3301000001")))
    assert linked.headers["Location"] == "/pay/3301000001"
    [identity] = _identities(engine)
    with read_session(engine) as db:
        assert db.get(Resident, identity.resident_id).phone == PHONE
