"""WeChat recipients: an event reaches each bound resident's WeChat logins (a template message for the
official account's openid, a subscribe message for the mini-program's), as they chose, through the
real wechatpy channels against the local WeChat; its refusals end in the delivery log, on both databases."""

from __future__ import annotations

from sqlmodel import select

from billing import events, wechat_identities
from billing.db import read_session, unit_of_work
from billing.residents import Resident
from notifications.dispatch import dispatch
from notifications.intake import take_events
from notifications.records import Cursor, Message, Preference
from portal.wechat.sandbox import openid
from tests import factories
from tests.wechat_helpers import MINI_APPID, OA_APPID, served_wechat, sms_code, wechat_channels  # noqa: F401

LIHUA, WANG, ZHAO = "13912345678", "13612345678", "13512345678"


def _link(engine, clock, phone: str, app: str, user: str) -> None:
    """``user`` logged in with WeChat in ``app`` and proved ``phone`` by its SMS code."""
    appid = OA_APPID if app == "oa" else MINI_APPID
    code = sms_code(engine, clock, phone)
    with unit_of_work(engine) as db:
        identity = wechat_identities.identity_for(db, app, openid(appid, user), now=clock())
        wechat_identities.link(db, identity.id, phone, code, now=clock())
    clock.advance(minutes=2)  # the next code to the same phone may go out a minute later


def _family(engine, clock):
    """One 户号 bound to three residents: 李华 on both apps, 王 (WeChat messages off), 赵 (refusing)."""
    with unit_of_work(engine) as db:
        account = factories.account(db, at=clock(), account_no="3301000001")
        for phone in (LIHUA, WANG, ZHAO):
            factories.resident(db, phone, at=clock(), accounts=(account,))
    _link(engine, clock, LIHUA, "oa", "lihua")
    _link(engine, clock, LIHUA, "mini", "lihua")
    _link(engine, clock, WANG, "oa", "wang")
    _link(engine, clock, ZHAO, "oa", "zhao")
    _link(engine, clock, ZHAO, "mini", "zhao")
    with unit_of_work(engine) as db:
        wang = db.exec(select(Resident).where(Resident.phone == WANG)).one()
        db.add(Preference(resident_id=wang.id, wechat=False))
        events.emit(db, events.PAYMENT_POSTED, at=clock(), account_id=account.id, amount_fen=10000, balance_fen=8800)
    return account


def test_a_payment_reaches_each_linked_wechat_as_chosen_and_refusals_are_logged(engine, clock, wechat):
    _family(engine, clock)
    wechat.refusing.add(openid(MINI_APPID, "zhao"))
    wechat.invalid.add(openid(OA_APPID, "zhao"))
    take_events(engine, clock=clock)
    done = dispatch(engine, wechat_channels(wechat), clock=clock)
    assert (done.sent, done.delivered, done.failed, done.retrying) == (1, 1, 2, 0)

    with read_session(engine) as db:
        log = {(m.channel, m.address): m for m in db.exec(select(Message)).all()}
    wechat_log = {key: (m.status, m.error[:5]) for key, m in log.items() if key[0] != "sms"}
    assert wechat_log == {
        ("wechat_oa", openid(OA_APPID, "lihua")): ("sent", ""),
        ("wechat_mp", openid(MINI_APPID, "lihua")): ("delivered", ""),
        ("wechat_oa", openid(OA_APPID, "zhao")): ("failed", "40003"),
        ("wechat_mp", openid(MINI_APPID, "zhao")): ("failed", "43101"),
    }
    sent = log["wechat_oa", openid(OA_APPID, "lihua")]
    assert sent.kind == "payment_received" and sent.provider_ref == str(wechat.received[0]["msgid"])
    assert [m.status for key, m in log.items() if key[0] == "sms"] == ["queued"] * 3  # SMS is another channel
    assert {r["touser"] for r in wechat.received} == {openid(OA_APPID, "lihua"), openid(MINI_APPID, "lihua"),
                                                      openid(OA_APPID, "zhao"), openid(MINI_APPID, "zhao")}


def test_reading_the_event_again_queues_no_wechat_message_twice(engine, clock, wechat):
    _family(engine, clock)
    take_events(engine, clock=clock)
    with unit_of_work(engine) as db:
        db.get(Cursor, "notifications").event_id = 0  # as if a second consumer read from the start
    take_events(engine, clock=clock)
    with read_session(engine) as db:
        channels = sorted(m.channel for m in db.exec(select(Message)).all())
    assert channels == ["sms"] * 3 + ["wechat_mp"] * 2 + ["wechat_oa"] * 2
