"""The mini-program's resources as a resident uses them, on both databases: the bound 户号 with
balance and standing (the holder's name masked), bills list and detail, payments with receipts and
refunds, paging that is stable, a WeChat mini-program order whose answer carries wx.requestPayment's
parameters, and polling it until paid."""

from __future__ import annotations

import pytest
from sqlmodel import select

from billing import wechat_identities
from billing.db import read_session
from payments.orders import PaymentOrder
from tests.payment_helpers import Phone
from tests.web import api_world
from tests.web.api_client import api
from tests.web.api_world import HOME, MINE, MINI_OPENID, NEIGHBOUR, OWING, THEIRS
from tests.wechat_helpers import MINI_APPID, served_wechat, wechat_login  # noqa: F401  (the `wechat` fixture)


@pytest.fixture
def world(engine, clock, app, gateways, wechat_sandbox):
    return api_world.build(engine, clock, gateways, wechat_sandbox)


def test_the_accounts_say_balance_and_standing_with_the_holder_masked(engine, app, world):
    phone = api(app, MINE)
    listed = phone.get("/api/v1/accounts").get_json()
    assert [a["account_no"] for a in listed["items"]] == [HOME, OWING] and listed["next_cursor"] is None
    home, owing = listed["items"]
    assert home["balance_fen"] == 7_000  # 100.00 paid, 30.00 refunded
    assert (home["label"], home["holder_name_masked"], home["regime"]) == ("家", "王*明", "prepaid")
    assert home["standing_text"] == "余额 70.00 元"
    assert owing["balance_fen"] == -12_845 and owing["due_date"] == "2026-12-15"
    assert "王大明" not in str(listed)
    one = phone.get(f"/api/v1/accounts/{OWING}?lang=en").get_json()
    assert one["account_no"] == OWING and one["standing_text"] == "¥128.45 to pay by 2026-12-15"


def test_pages_follow_the_cursor_in_a_stable_order(engine, app, world):
    phone = api(app, MINE)
    first = phone.get("/api/v1/accounts?limit=1").get_json()
    second = phone.get(f"/api/v1/accounts?limit=1&cursor={first['next_cursor']}").get_json()
    assert [a["account_no"] for a in first["items"] + second["items"]] == [HOME, OWING]
    assert second["next_cursor"] is None
    assert phone.get("/api/v1/accounts?limit=101").status_code == 400


def test_a_bill_listed_and_explained(engine, app, world):
    phone = api(app, MINE)
    [bill] = phone.get(f"/api/v1/accounts/{OWING}/bills").get_json()["items"]
    assert bill["id"] == world.my_bills[0] and bill["total_fen"] == 12_345 and bill["owed_fen"] == 12_345
    assert bill["state"] == "unpaid" and bill["due_date"] == "2026-12-15"
    detail = phone.get(f"/api/v1/accounts/{OWING}/bills/{bill['id']}").get_json()
    assert detail["lines"][0] | {"kind": "energy", "amount_fen": 12_345, "wh": 123_450} == detail["lines"][0]
    assert detail["lines"][0]["name"] == "电度电费" and detail["holder_name_masked"] == "李*荣"
    english = phone.get(f"/api/v1/accounts/{OWING}/bills/{bill['id']}", headers={"Accept-Language": "en"})
    assert english.get_json()["lines"][0]["name"].isascii()


def test_payments_and_refunds_are_receipts_with_the_balance_after(engine, app, world):
    phone = api(app, MINE)
    refund, payment = phone.get(f"/api/v1/accounts/{HOME}/payments").get_json()["items"]
    assert (payment["kind"], payment["amount_fen"], payment["balance_after_fen"]) == ("payment", 10_000, 10_000)
    assert payment["reference"] == world.my_orders[0] and payment["channel"] == "wechat"
    assert (refund["kind"], refund["amount_fen"], refund["balance_after_fen"]) == ("refund", 3_000, 7_000)
    receipt = phone.get(f"/api/v1/accounts/{HOME}/payments/{payment['receipt_id']}").get_json()
    assert receipt == payment
    order = phone.get(f"/api/v1/orders/{world.my_orders[0]}").get_json()
    assert order["progress"] == "paid" and order["lines"] == [
        {"account_no": HOME, "amount_fen": 10_000, "balance_after_fen": 10_000}]
    assert phone.get(f"/api/v1/accounts/{OWING}/payments").get_json()["items"] == []


def test_a_mini_program_prepayment_from_order_to_paid(engine, clock, app, world, wechat_sandbox):
    phone = api(app, MINE)
    started = phone.post(f"/api/v1/accounts/{HOME}/orders", {"what": "prepay", "amount_fen": 5_000})
    assert started.status_code == 201, started.get_json()
    order, pay = started.get_json()["order"], started.get_json()["checkout"]
    assert pay["kind"] == "jsapi" and pay["params"]["package"].startswith("prepay_id=")
    assert set(pay["params"]) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert order["progress"] == "waiting" and order["amount_fen"] == 5_000
    with read_session(engine) as db:
        placed = db.exec(select(PaymentOrder).where(PaymentOrder.out_trade_no == order["out_trade_no"])).one()
    assert (placed.scene, placed.purpose) == ("miniprogram", "prepay")
    assert wechat_sandbox.orders[placed.out_trade_no]["openid"] == MINI_OPENID
    Phone("wechat", wechat_sandbox).pay(placed, "phone")  # paid in WeChat; the notification is late
    assert phone.get(f"/api/v1/orders/{placed.out_trade_no}").get_json()["progress"] == "waiting"
    checked = phone.post(f"/api/v1/orders/{placed.out_trade_no}/check").get_json()
    assert checked["progress"] == "paid" and checked["lines"][0]["balance_after_fen"] == 12_000
    assert phone.get(f"/api/v1/accounts/{HOME}").get_json()["balance_fen"] == 12_000


def test_paying_the_arrears_charges_the_figure_shown_or_asks(engine, app, world):
    phone = api(app, MINE)
    changed = phone.post(f"/api/v1/accounts/{OWING}/orders", {"what": "arrears", "shown_arrears_fen": 100})
    assert changed.status_code == 400 and changed.get_json()["field"] == "arrears"
    started = phone.post(f"/api/v1/accounts/{OWING}/orders", {"what": "arrears", "shown_arrears_fen": 12_845})
    assert started.status_code == 201 and started.get_json()["order"]["amount_fen"] == 12_845
    assert started.get_json()["order"]["purpose"] == "arrears"


def test_wechat_pay_needs_a_wechat_login_and_other_channels_are_refused(engine, app, world):
    phone = api(app, api_world.THEIRS)
    answer = phone.post(f"/api/v1/accounts/{api_world.NEIGHBOUR}/orders", {"what": "prepay", "amount_fen": 1_000})
    assert answer.status_code == 403 and answer.get_json()["code"] == "wechat_login_required"
    alipay = api(app, MINE).post(f"/api/v1/accounts/{HOME}/orders",
                                 {"what": "prepay", "amount_fen": 1_000, "channel": "alipay"})
    assert alipay.status_code == 400 and alipay.get_json()["field"] == "channel"
    with read_session(engine) as db:
        assert len(db.exec(select(PaymentOrder)).all()) == 3  # the world's two payments and the counter's


def test_after_a_wechat_login_the_order_pays_as_that_wechat_user(engine, app, world, wechat, wechat_sandbox):
    """wx.login() -> link by SMS code -> an order whose JSAPI payer is the openid code2session gave."""
    app.extensions["dianfei"].wechat = wechat_login(wechat)
    phone = api(app)
    signed = phone.post("/api/v1/login/wechat", {"code": wechat.login_code(MINI_APPID, "zhao")}).get_json()
    code = phone.post("/api/v1/login/code", {"phone": THEIRS}).get_json()["demo_code"]
    phone.token = phone.post("/api/v1/login/wechat/link", {"link_ticket": signed["link_ticket"], "phone": THEIRS,
                                                           "code": code}).get_json()["token"]
    started = phone.post(f"/api/v1/accounts/{NEIGHBOUR}/orders", {"what": "prepay", "amount_fen": 2_000})
    assert started.status_code == 201 and started.get_json()["checkout"]["kind"] == "jsapi"
    with read_session(engine) as db:
        openid = wechat_identities.openid_of(db, api_world.resident_id(engine, THEIRS), wechat_identities.MINI)
    assert openid and wechat_sandbox.orders[started.get_json()["order"]["out_trade_no"]]["openid"] == openid
