"""The local WeChat (login and messages) served on loopback, and the portal wired to it."""

from __future__ import annotations

import pytest

from billing import residents
from billing.db import unit_of_work
from notifications.channels.wechat import FIELDS, MiniProgramChannel, OfficialAccountChannel
from payments.sandbox.server import LoopbackServer
from portal.wechat.client import App, WeChatLogin
from portal.wechat.sandbox import WeChatLoginSandbox
from portal.wechat.wiring import CHANNELS

OA_APPID, OA_SECRET = "wx8888888888888888", "oa-secret-0123456789abcdef0123456"
MINI_APPID, MINI_SECRET = "wx9999999999999999", "mini-secret-0123456789abcdef01234"
TEMPLATE_IDS = {kind: f"tmpl-{kind}" for kind in FIELDS}


@pytest.fixture(name="wechat")
def served_wechat():
    sandbox = WeChatLoginSandbox({OA_APPID: OA_SECRET, MINI_APPID: MINI_SECRET})
    server = LoopbackServer(sandbox).start()
    sandbox.url = server.url
    yield sandbox
    server.stop()


def wechat_login(wechat) -> WeChatLogin:
    return WeChatLogin({"oa": App(OA_APPID, OA_SECRET), "mini": App(MINI_APPID, MINI_SECRET)},
                       api_root=wechat.url, oauth_root=wechat.url, timeout=2)


def wechat_channels(wechat) -> dict:
    return {CHANNELS["oa"]: OfficialAccountChannel(OA_APPID, OA_SECRET, TEMPLATE_IDS, api_root=wechat.url, timeout=2),
            CHANNELS["mini"]: MiniProgramChannel(MINI_APPID, MINI_SECRET, TEMPLATE_IDS, api_root=wechat.url,
                                                 timeout=2)}


def sms_code(engine, clock, phone: str) -> str:
    """A login code for ``phone``, as the resident reads it from the SMS."""
    with unit_of_work(engine) as db:
        return residents.issue_login_code(db, phone, client="203.0.113.9", now=clock())
