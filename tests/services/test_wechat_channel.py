"""WeChat reminders: the real wechatpy client against the local WeChat API over HTTP.

Template and subscribe messages go out with our parameters in WeChat's fields; the access token is
fetched once and reused, fetched again (and the call made once more) when WeChat calls it expired;
refusals about the user fail for good, throttling and outages are retried by dispatch, on both
databases; the template message's delivery report turns it delivered."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from billing.db import read_session, unit_of_work
from notifications.channels.base import DELIVERED, FAILED, SENT, Outgoing
from notifications.channels.wechat import FIELDS, MiniProgramChannel, OfficialAccountChannel, template_report
from notifications.dispatch import dispatch, record_receipt
from notifications.records import Message
from notifications.templates import TEMPLATES
from notifications.wechat_sandbox import WeChatApiSandbox
from payments.sandbox.server import LoopbackServer, free_port

OA_APPID, OA_SECRET = "wx1111111111111111", "oa-secret-0123456789abcdef012345"
MP_APPID, MP_SECRET = "wx2222222222222222", "mp-secret-0123456789abcdef012345"
TEMPLATE_IDS = {kind: f"tmpl-{kind}" for kind in FIELDS}
OPENID = "oAbCdEfGhIjKlMnOpQrStUvWxYz0"
BILL = {"account_no": "3201000001", "period": "2026-11", "amount": "128.40", "due_date": "2026-12-20"}


@pytest.fixture
def wechat():
    sandbox = WeChatApiSandbox({OA_APPID: OA_SECRET, MP_APPID: MP_SECRET}, template_ids=TEMPLATE_IDS.values())
    server = LoopbackServer(sandbox).start()
    sandbox.url = server.url
    yield sandbox
    server.stop()


def _official_account(wechat) -> OfficialAccountChannel:
    return OfficialAccountChannel(OA_APPID, OA_SECRET, TEMPLATE_IDS, api_root=wechat.url, timeout=2)


def _mini_program(wechat) -> MiniProgramChannel:
    return MiniProgramChannel(MP_APPID, MP_SECRET, TEMPLATE_IDS, api_root=wechat.url, timeout=2, opens="pages/bills")


def _bill(message_id: int = 1, openid: str = OPENID) -> Outgoing:
    return Outgoing(message_id, openid, "bill_issued", "zh", BILL, TEMPLATES["bill_issued"].render("zh", BILL))


def _queue(engine, clock, channel: str, *openids: str) -> None:
    with unit_of_work(engine) as db:
        for openid in openids:
            db.add(Message(dedupe_key=f"test:{channel}:{openid}", kind="bill_issued", channel=channel, address=openid,
                           lang="zh", params=json.dumps(BILL), due_at=clock(), created_at=clock()))


def _messages(engine) -> list[Message]:
    with read_session(engine) as db:
        return list(db.exec(select(Message).order_by(Message.id)).all())


def test_every_kind_but_the_login_code_has_wechat_fields_for_exactly_its_parameters():
    assert set(TEMPLATES) - set(FIELDS) == {"login_code"}
    for kind, fields in FIELDS.items():
        assert sorted(fields) == sorted(TEMPLATES[kind].params()), kind


def test_a_template_message_carries_the_text_and_the_parameters_as_keywords(wechat):
    [outcome] = _official_account(wechat).send([_bill()])
    [received] = wechat.received
    assert (outcome.status, outcome.provider_ref) == (SENT, str(received["msgid"]))
    assert (received["api"], received["appid"], received["touser"]) == ("template", OA_APPID, OPENID)
    assert received["template_id"] == "tmpl-bill_issued"
    assert received["data"] == {"first": {"value": _bill().text}, "keyword1": {"value": "3201000001"},
                                "keyword2": {"value": "2026-11"}, "keyword3": {"value": "128.40元"},
                                "keyword4": {"value": "2026-12-20"}}


def test_a_subscribe_message_is_delivered_with_typed_fields(wechat):
    [outcome] = _mini_program(wechat).send([_bill()])
    [received] = wechat.received
    assert (outcome.status, outcome.provider_ref) == (DELIVERED, str(received["msgid"]))
    assert (received["api"], received["appid"], received["page"]) == ("subscribe", MP_APPID, "pages/bills")
    assert received["data"] == {"character_string1": {"value": "3201000001"},
                                "character_string2": {"value": "2026-11"}, "amount3": {"value": "128.40元"},
                                "date4": {"value": "2026-12-20"}}


def test_the_token_is_fetched_once_and_reused(wechat):
    channel = _official_account(wechat)
    channel.send([_bill(1), _bill(2)])
    channel.send([_bill(3)])
    assert [r["errcode"] for r in wechat.received] == [0, 0, 0]
    assert wechat.token_fetches == {OA_APPID: 1}


def test_an_expired_token_is_fetched_again_and_the_call_made_once_more(wechat):
    channel = _mini_program(wechat)
    channel.send([_bill(1)])
    wechat.expire_tokens()
    [outcome] = channel.send([_bill(2)])
    assert outcome.status == DELIVERED
    assert [r["errcode"] for r in wechat.received] == [0, 42001, 0]
    assert wechat.token_fetches == {MP_APPID: 2}


def test_a_token_refused_again_after_the_refresh_is_not_tried_a_third_time(wechat):
    wechat.expires_in = 0  # every token is born expired
    [outcome] = _mini_program(wechat).send([_bill()])
    assert (outcome.status, outcome.retry) == (FAILED, True)
    assert outcome.error.startswith("42001 access_token expired")
    assert [r["errcode"] for r in wechat.received] == [42001, 42001]


def test_a_wrong_secret_fails_to_be_retried_once_it_is_fixed(wechat):
    channel = OfficialAccountChannel(OA_APPID, "not-the-secret", TEMPLATE_IDS, api_root=wechat.url)
    [outcome] = channel.send([_bill()])
    assert (outcome.status, outcome.retry) == (FAILED, True) and outcome.error.startswith("40125 invalid appsecret")
    assert wechat.received == []


def test_a_kind_without_a_wechat_template_fails_for_good_without_a_call(wechat):
    code = {"code": "123456"}
    login = Outgoing(1, OPENID, "login_code", "zh", code, TEMPLATES["login_code"].render("zh", code))
    [outcome] = _official_account(wechat).send([login])
    assert (outcome.status, outcome.retry, outcome.error) == (FAILED, False, "no WeChat template for login_code")
    assert wechat.token_fetches == {}


def test_a_refusing_user_and_a_foreign_openid_fail_for_good_and_the_batch_goes_on(engine, clock, wechat):
    wechat.refusing.add("oRefused")
    wechat.invalid.add("oNotOurs")
    _queue(engine, clock, "wechat_oa", "oRefused", "oNotOurs", OPENID)
    done = dispatch(engine, {"wechat_oa": _official_account(wechat)}, clock=clock)
    assert (done.failed, done.sent, done.retrying) == (2, 1, 0)
    refused, foreign, fine = _messages(engine)
    assert (refused.status, refused.attempts) == ("failed", 1) and refused.error.startswith("43101 ")
    assert (foreign.status, foreign.attempts) == ("failed", 1) and foreign.error.startswith("40003 invalid openid")
    assert (fine.status, fine.provider_ref) == ("sent", str(wechat.received[-1]["msgid"]))


FAULTS = {
    "rate_limited": (lambda wechat: setattr(wechat, "rate_limited", True), "45009 reach max api daily quota limit"),
    "http_500": (lambda wechat: setattr(wechat, "outage", "http_500"), "WeChat HTTP 500"),
    "not_json": (lambda wechat: setattr(wechat, "outage", "not_json"), "WeChat answer is not JSON"),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_throttling_and_outages_are_recorded_and_retried_by_dispatch(engine, clock, wechat, fault):
    channels = {"wechat_mp": _mini_program(wechat)}
    _mini_program(wechat).send([_bill()])  # a token is held, so the fault meets the send, not the token fetch
    switch_on, error = FAULTS[fault]
    switch_on(wechat)
    _queue(engine, clock, "wechat_mp", OPENID)
    assert dispatch(engine, channels, clock=clock).retrying == 1
    [message] = _messages(engine)
    assert (message.status, message.attempts) == ("queued", 1) and message.error.startswith(error)
    wechat.rate_limited, wechat.outage = False, None
    clock.advance(minutes=1)
    assert dispatch(engine, channels, clock=clock).delivered == 1
    [message] = _messages(engine)
    assert (message.status, message.attempts, message.error) == ("delivered", 2, "")


def test_a_token_answer_that_is_not_json_is_retried(wechat):
    wechat.outage = "not_json"
    [outcome] = _official_account(wechat).send([_bill()])
    assert (outcome.status, outcome.retry, outcome.error) == (FAILED, True, "WeChat answer is not JSON")


def test_no_connection_is_retried():
    nobody = f"http://127.0.0.1:{free_port()}"
    [outcome] = MiniProgramChannel(MP_APPID, MP_SECRET, TEMPLATE_IDS, api_root=nobody).send([_bill()])
    assert (outcome.status, outcome.retry, outcome.error) == (FAILED, True, "WeChat unreachable: ConnectionError")


def test_the_delivery_report_turns_a_template_message_delivered_or_failed(engine, clock, wechat):
    _queue(engine, clock, "wechat_oa", OPENID, "oBlocked")
    dispatch(engine, {"wechat_oa": _official_account(wechat)}, clock=clock)
    reached, blocked = _messages(engine)
    for message, status in ((reached, "success"), (blocked, "failed:user block")):
        report = template_report(wechat.job_finish_event(message.provider_ref, message.address, status))
        assert record_receipt(engine, "wechat_oa", report.msgid, delivered=report.delivered, receipt=report.status,
                              at=clock())
    reached, blocked = _messages(engine)
    assert (reached.status, reached.receipt, reached.delivered_at) == ("delivered", "success", clock())
    assert (blocked.status, blocked.receipt, blocked.error) == ("failed", "failed:user block", "failed:user block")


def test_other_pushed_messages_are_not_delivery_reports():
    text = ("<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName>"
            "<CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content>"
            "<MsgId>5</MsgId></xml>")
    assert template_report(text) is None
    assert template_report("<xml><unclosed>") is None
    assert template_report(b"") is None
