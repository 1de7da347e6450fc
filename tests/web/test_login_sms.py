"""Login codes go out by SMS: with an SMS channel and no demo, the code reaches the phone and never
the page; a provider that fails leaves it queued for the dispatcher and the page says so; with no
way to deliver a code, resident login stays closed."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from billing.db import read_session
from notifications.channels.base import SENT, Outcome
from notifications.records import Message
from tests.conftest import csrf_token, make_app

PHONE = "13800000009"


class Phone:
    """The provider as the resident's phone sees it: what arrived, or a refusal."""

    name, batch_size = "phone", 10

    def __init__(self, *, works: bool = True) -> None:
        self.works, self.inbox = works, []

    def send(self, batch):
        if not self.works:
            return [Outcome.failed("InternalError", retry=True) for _ in batch]
        self.inbox += [(m.address, m.text) for m in batch]
        return [Outcome(SENT, provider_ref=f"serial-{m.message_id}") for m in batch]


def _client(engine, clock, tmp_path, **messengers):
    """The portal without the demo's on-screen codes, with the given SMS channel (or none)."""
    app = make_app(engine, clock, {}, tmp_path / "instance", MESSENGERS=messengers)
    app.config["DEMO_SMS"] = False
    return app.test_client()


def _ask_code(client):
    token = csrf_token(client, "/login")
    return client.post("/login/code", data={"phone": PHONE, "csrf_token": token}, follow_redirects=True), token


def test_the_code_reaches_the_phone_not_the_page_and_logs_in(engine, clock, tmp_path):
    phone = Phone()
    client = _client(engine, clock, tmp_path, sms=phone)
    page, token = _ask_code(client)
    text = page.get_data(as_text=True)
    assert "验证码已通过短信发送至 138****0009" in text and "演示环境验证码" not in text
    [(address, sms)] = phone.inbox
    code = re.search(r"验证码为(\d{6})", sms).group(1)
    assert address == PHONE and code not in text
    client.post("/login", data={"phone": PHONE, "code": code, "csrf_token": token})
    assert "退出" in client.get("/").get_data(as_text=True)
    with read_session(engine) as db:
        [message] = db.exec(select(Message)).all()
    assert (message.kind, message.status, message.provider_ref) == ("login_code", "sent", f"serial-{message.id}")


def test_a_failing_provider_leaves_the_code_queued_and_says_so(engine, clock, tmp_path):
    client = _client(engine, clock, tmp_path, sms=Phone(works=False))
    page, _ = _ask_code(client)
    assert "短信暂时未能发出" in page.get_data(as_text=True)
    with read_session(engine) as db:
        [message] = db.exec(select(Message)).all()
    assert (message.status, message.attempts, message.error) == ("queued", 1, "InternalError")


@pytest.mark.parametrize("path", ["/login/code", "/login"])
def test_without_a_channel_resident_login_is_closed(engine, clock, tmp_path, path):
    client = _client(engine, clock, tmp_path)
    token = csrf_token(client, "/staff/login")
    answer = client.post(path, data={"phone": PHONE, "code": "123456", "csrf_token": token})
    assert answer.status_code == 403
    with read_session(engine) as db:
        assert db.exec(select(Message)).all() == []
