"""WeChat login through the real wechatpy client against the local WeChat over HTTP: the mini-program's
code2session and the official account's OAuth code, linking a WeChat to a phone once, on both databases."""

from __future__ import annotations

import pytest
from sqlmodel import select

from billing import wechat_identities
from billing.db import read_session
from billing.errors import InvalidInput
from billing.residents import LoginCodeExpired, Resident, WeChatIdentity, WrongLoginCode
from billing.wechat_identities import (WeChatCodeRejected, WeChatCodeUsed, WeChatLinkRefused, WeChatUnavailable,
                                       WeChatUserRefused)
from portal.wechat.sandbox import openid, unionid
from portal.wechat.sign_in import link_with_phone, mini_program_sign_in, web_sign_in
from tests.conftest import make_app
from tests.threads import Threads
from tests.wechat_helpers import MINI_APPID, OA_APPID, served_wechat, sms_code, wechat_login  # noqa: F401

PHONE, OTHER_PHONE = "13912345678", "13612345678"


@pytest.fixture
def services(engine, clock, tmp_path, wechat):
    return make_app(engine, clock, {}, tmp_path / "instance", WECHAT=wechat_login(wechat)).extensions["dianfei"]


def _identities(engine) -> list[WeChatIdentity]:
    with read_session(engine) as db:
        return list(db.exec(select(WeChatIdentity).order_by(WeChatIdentity.id)).all())


def test_a_first_mini_program_login_asks_for_a_phone_once_then_signs_straight_in(services, wechat, engine, clock):
    first = mini_program_sign_in(services, wechat.login_code(MINI_APPID, "lihua"))
    assert first.needs_phone and first.link_ticket and first.openid == openid(MINI_APPID, "lihua")
    [identity] = _identities(engine)
    assert (identity.app, identity.resident_id, identity.unionid) == ("mini", None, unionid("lihua"))

    resident_id = link_with_phone(services, first.link_ticket, PHONE, sms_code(engine, clock, PHONE))
    with read_session(engine) as db:
        assert db.get(Resident, resident_id).phone == PHONE
    again = mini_program_sign_in(services, wechat.login_code(MINI_APPID, "lihua"))
    assert (again.resident_id, again.link_ticket) == (resident_id, "")
    assert [(i.app, i.resident_id) for i in _identities(engine)] == [("mini", resident_id)]
    assert [call["api"] for call in wechat.exchanged] == ["jscode2session", "jscode2session"]


def test_the_official_account_login_of_the_same_person_is_linked_by_the_unionid(services, wechat, engine, clock):
    web = web_sign_in(services, wechat.login_code(OA_APPID, "lihua"))
    resident_id = link_with_phone(services, web.link_ticket, PHONE, sms_code(engine, clock, PHONE))
    mini = mini_program_sign_in(services, wechat.login_code(MINI_APPID, "lihua"))
    assert mini.resident_id == resident_id and not mini.needs_phone
    with read_session(engine) as db:
        assert wechat_identities.openids(db, {resident_id}) == {resident_id: [("oa", openid(OA_APPID, "lihua")),
                                                                             ("mini", openid(MINI_APPID, "lihua"))]}
        assert wechat_identities.openid_of(db, resident_id, "oa") == openid(OA_APPID, "lihua")
    someone_else = mini_program_sign_in(services, wechat.login_code(MINI_APPID, "zhangwei"))
    assert someone_else.needs_phone


def test_codes_wechat_refuses_end_in_their_own_errors_and_record_nothing(services, wechat, engine):
    code = wechat.login_code(MINI_APPID)
    mini_program_sign_in(services, code)
    with pytest.raises(WeChatCodeUsed) as used:
        mini_program_sign_in(services, code)
    assert (used.value.code, used.value.params["errcode"]) == ("wechat_code_used", 40163)
    for bad in ("made-up-code", wechat.login_code(OA_APPID)):  # unknown, or another app's
        with pytest.raises(WeChatCodeRejected) as rejected:
            mini_program_sign_in(services, bad)
        assert (rejected.value.code, rejected.value.params["errcode"]) == ("wechat_code_invalid", 40029)
    wechat.risky.add("scammer")
    with pytest.raises(WeChatUserRefused):
        mini_program_sign_in(services, wechat.login_code(MINI_APPID, "scammer"))
    with pytest.raises(InvalidInput) as missing:
        mini_program_sign_in(services, "")
    assert missing.value.field == "code"
    assert len(_identities(engine)) == 1


@pytest.mark.parametrize("outage", ["http_500", "not_json"])
def test_wechat_out_of_reach_is_unavailable_for_both_apps(services, wechat, outage):
    codes = wechat.login_code(MINI_APPID), wechat.login_code(OA_APPID)
    wechat.outage = outage
    for sign_in, code in zip((mini_program_sign_in, web_sign_in), codes, strict=True):
        with pytest.raises(WeChatUnavailable) as unavailable:
            sign_in(services, code)
        assert unavailable.value.code == "wechat_unavailable"


def test_a_wrong_secret_is_unavailable_not_the_residents_fault(engine, clock, tmp_path, wechat):
    from portal.wechat.client import App, WeChatLogin

    login = WeChatLogin({"mini": App(MINI_APPID, "wrong-secret")}, api_root=wechat.url, timeout=2)
    services = make_app(engine, clock, {}, tmp_path / "instance", WECHAT=login).extensions["dianfei"]
    with pytest.raises(WeChatUnavailable):
        mini_program_sign_in(services, wechat.login_code(MINI_APPID))
    with pytest.raises(WeChatUnavailable):  # no official account configured
        web_sign_in(services, "any")


def test_linking_needs_the_right_sms_code_and_a_ticket_we_signed(services, wechat, engine, clock):
    first = mini_program_sign_in(services, wechat.login_code(MINI_APPID))
    sms_code(engine, clock, PHONE)
    with pytest.raises(WrongLoginCode):
        link_with_phone(services, first.link_ticket, PHONE, "000000x")
    for forged in ("", first.link_ticket[:-2] + "xx", "1.abc.def"):
        with pytest.raises(WeChatLinkRefused):
            link_with_phone(services, forged, PHONE, "123456")
    assert [i.resident_id for i in _identities(engine)] == [None]
    with pytest.raises(LoginCodeExpired):
        link_with_phone(services, first.link_ticket, "13700000000", "123456")


def test_a_wechat_linked_to_one_phone_is_not_moved_to_another(services, wechat, engine, clock):
    first = mini_program_sign_in(services, wechat.login_code(MINI_APPID))
    resident_id = link_with_phone(services, first.link_ticket, PHONE, sms_code(engine, clock, PHONE))
    with pytest.raises(WeChatLinkRefused):
        link_with_phone(services, first.link_ticket, OTHER_PHONE, sms_code(engine, clock, OTHER_PHONE))
    assert [i.resident_id for i in _identities(engine)] == [resident_id]


def test_the_same_first_login_twice_at_once_records_one_identity(services, wechat, engine):
    codes = [wechat.login_code(MINI_APPID, "lihua") for _ in range(4)]  # four taps in the mini-program at once
    threads, tickets = Threads(), []
    for code in codes:
        threads.start(lambda c: tickets.append(mini_program_sign_in(services, c).link_ticket), code)
    threads.join()
    assert len(tickets) == 4 and all(tickets)
    assert [(i.openid, i.resident_id) for i in _identities(engine)] == [(openid(MINI_APPID, "lihua"), None)]
