"""Hostile or malformed notifications, signed or not: refused with the channel's failure answer,
never a 500 (a 400-digit Wechatpay-Timestamp once raised OverflowError), and nothing changes."""

import json
from urllib.parse import urlencode

import pytest
import requests
from sqlmodel import select

from billing.db import read_session
from billing.incidents import Incident
from billing.ledger import Transfer
from payments.errors import NotificationRejected
from payments.orders import ChannelPayment
from payments.sandbox.alipay_protocol import sign_params
from tests.payment_fixtures import ALIPAY_APP_ID, APPID, MCHID, SELLER_ID
from tests.payment_helpers import new_account, order, start_payment

TXN = "4200000000202611270000000001"
OUT_TRADE_NO = "DF20261127A1B2C3D4E5F60718"


def _resource(out_trade_no: str, **changes) -> dict:
    return {"appid": APPID, "mchid": MCHID, "out_trade_no": out_trade_no, "transaction_id": TXN,
            "trade_type": "MWEB", "trade_state": "SUCCESS", "success_time": "2026-11-27T10:00:00+08:00",
            "payer": {"openid": "oSandboxPayer"}, "amount": {"total": 12345, "payer_total": 12345, "currency": "CNY"},
            } | changes


def _signed(sandbox, clock, resource: object, event: str = "TRANSACTION.SUCCESS"):
    return sandbox._keyring.signed_notification("", event, "支付成功", "transaction", resource,
                                                sandbox.sign_notifications_with, clock, None)


@pytest.fixture
def placed(engine, clock, app, gateways):
    return start_payment(engine, gateways["wechat"], new_account(engine, clock), 12345, clock)


def _nothing_changed(engine, placed) -> None:
    assert order(engine, placed.out_trade_no).state == "paying"
    with read_session(engine) as db:
        assert db.exec(select(Transfer)).all() == [] and db.exec(select(ChannelPayment)).all() == []
        assert db.exec(select(Incident)).all() == []


def _reject(gateway, headers, body, clock) -> None:
    with pytest.raises(NotificationRejected):
        gateway.parse_notification(headers, body, now=clock())


BAD_HEADERS = {
    "400 digits": {"Wechatpay-Timestamp": "9" * 400},
    "5000 digits": {"Wechatpay-Timestamp": "1" * 5000},  # int() refuses more than 4,300 digits
    "full-width digits": {"Wechatpay-Timestamp": "STAMP"},  # filled in below: now, in full-width digits
    "superscript": {"Wechatpay-Timestamp": "²"},
    "negative": {"Wechatpay-Timestamp": "-1"},
    "empty": {"Wechatpay-Timestamp": ""},
    "non-ASCII signature": {"Wechatpay-Signature": "签名"},
    "non-ASCII serial": {"Wechatpay-Serial": "证书"},
    "huge nonce": {"Wechatpay-Nonce": "n" * 100_000},
    "unknown signature type": {"Wechatpay-Signature-Type": "WECHATPAY2-SM2-WITH-SM3"},
}


@pytest.mark.parametrize("change", BAD_HEADERS.values(), ids=BAD_HEADERS.keys())
def test_bad_wechat_headers_are_refused(clock, gateways, wechat_sandbox, change):
    delivery = _signed(wechat_sandbox, clock, _resource(OUT_TRADE_NO))
    full_width = str(int(clock().timestamp())).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    headers = delivery.headers | {key: full_width if value == "STAMP" else value for key, value in change.items()}
    _reject(gateways["wechat"], headers, delivery.body, clock)


@pytest.mark.parametrize("missing", ["Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature",
                                     "Wechatpay-Serial"])
def test_a_missing_wechat_header_is_refused(clock, gateways, wechat_sandbox, missing):
    delivery = _signed(wechat_sandbox, clock, _resource(OUT_TRADE_NO))
    _reject(gateways["wechat"], {k: v for k, v in delivery.headers.items() if k != missing}, delivery.body, clock)


@pytest.mark.parametrize("body", [b"", b"\xff\xfe", b"[]", b"{", b"null", json.dumps({"resource": 1e400}).encode()],
                         ids=["empty", "not UTF-8", "a list", "broken JSON", "null", "infinite"])
def test_bad_wechat_bodies_are_refused(clock, gateways, wechat_sandbox, body):
    signed_for = body if body.isascii() else b""
    headers = wechat_sandbox._keyring.signature_headers(signed_for, wechat_sandbox.sign_notifications_with, clock)
    _reject(gateways["wechat"], headers, body, clock)


MALFORMED_RESOURCES = {
    "amount beyond BIGINT": {"amount": {"total": 10**30}},
    "amount as text": {"amount": {"total": "12345"}},
    "amount with decimals": {"amount": {"total": 123.45}},
    "amount true": {"amount": {"total": True}},
    "amount zero": {"amount": {"total": 0}},
    "amount negative": {"amount": {"total": -12345}},
    "amount missing": {"amount": None},
    "order number too long": {"out_trade_no": "D" * 33},
    "order number a number": {"out_trade_no": 12345},
    "transaction id missing": {"transaction_id": None},
    "transaction id too long": {"transaction_id": "4" * 65},
    "state a list": {"trade_state": ["SUCCESS"]},
    "payer a string": {"payer": "oSandboxPayer"},
    "openid too long": {"payer": {"openid": "o" * 129}},
    "time without offset": {"success_time": "2026-11-27T10:00:00"},
    "time nonsense": {"success_time": "昨天"},
}


@pytest.mark.parametrize("change", MALFORMED_RESOURCES.values(), ids=MALFORMED_RESOURCES.keys())
def test_signed_but_malformed_wechat_resources_are_refused(engine, clock, gateways, wechat_sandbox, placed, change):
    resource = {key: value for key, value in (_resource(placed.out_trade_no) | change).items() if value is not None}
    delivery = _signed(wechat_sandbox, clock, resource)
    _reject(gateways["wechat"], delivery.headers, delivery.body, clock)
    attempt = requests.post(gateways["wechat"].config.notify_url, data=delivery.body, headers=delivery.headers,
                            timeout=10)
    assert attempt.status_code == 401
    _nothing_changed(engine, placed)


@pytest.mark.parametrize("resource", [[1], "text", None], ids=["list", "string", "null"])
def test_a_resource_that_is_not_an_object_is_refused(clock, gateways, wechat_sandbox, resource):
    _reject(gateways["wechat"], *_parts(_signed(wechat_sandbox, clock, resource)), clock)
    _reject(gateways["wechat"], *_parts(_signed(wechat_sandbox, clock, resource, "REFUND.SUCCESS")), clock)


def _parts(delivery):
    return delivery.headers, delivery.body


def test_a_400_digit_timestamp_is_a_401_over_http(engine, clock, gateways, wechat_sandbox, placed):
    delivery = _signed(wechat_sandbox, clock, _resource(placed.out_trade_no))
    attempt = requests.post(gateways["wechat"].config.notify_url, data=delivery.body,
                            headers=delivery.headers | {"Wechatpay-Timestamp": "9" * 400}, timeout=10)
    assert attempt.status_code == 401 and attempt.json()["code"] == "FAIL"
    _nothing_changed(engine, placed)


def _alipay_form(out_trade_no: str) -> dict[str, str]:
    return {"notify_time": "2026-11-27 10:00:00", "notify_type": "trade_status_sync", "notify_id": "n1",
            "app_id": ALIPAY_APP_ID, "charset": "utf-8", "version": "1.0", "sign_type": "RSA2",
            "seller_id": SELLER_ID, "out_trade_no": out_trade_no, "trade_no": "2026112722001400000000000001",
            "trade_status": "TRADE_SUCCESS", "total_amount": "123.45", "buyer_id": "2088000000000099",
            "gmt_payment": "2026-11-27 10:00:00"}


MALFORMED_FORMS = {
    "amount of 400 digits": {"total_amount": "9" * 400},
    "amount negative": {"total_amount": "-123.45"},
    "amount zero": {"total_amount": "0.00"},
    "amount full-width": {"total_amount": "１２３.４５"},
    "order number too long": {"out_trade_no": "D" * 65},
    "trade number too long": {"trade_no": "2" * 65},
    "trade number missing": {"trade_no": None},
    "status missing": {"trade_status": None},
    "payment time nonsense": {"gmt_payment": "2026-13-45 99:99:99"},
    "refund number too long": {"refund_fee": "1.00", "out_biz_no": "R" * 65},
}


@pytest.fixture
def placed_alipay(engine, clock, app, gateways):
    return start_payment(engine, gateways["alipay"], new_account(engine, clock), 12345, clock)


@pytest.mark.parametrize("change", MALFORMED_FORMS.values(), ids=MALFORMED_FORMS.keys())
def test_signed_but_malformed_alipay_forms_are_refused(engine, clock, gateways, alipay_sandbox, placed_alipay, change):
    form = {key: value for key, value in (_alipay_form(placed_alipay.out_trade_no) | change).items() if value is not None}
    body = urlencode(sign_params(form, alipay_sandbox._private)).encode()
    _reject(gateways["alipay"], {}, body, clock)
    answer = requests.post(gateways["alipay"].config.notify_url, data=body, timeout=10,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert (answer.status_code, answer.text) == (200, "fail")
    _nothing_changed(engine, placed_alipay)


@pytest.mark.parametrize("body", [b"", b"\xff\xfe=1", b"a=1&a", b"sign=%E7%AD%BE&total_amount=1",
                                  b"sign=" + b"A" * 100_001, b"=&=&"],
                         ids=["empty", "not UTF-8", "not a form", "non-ASCII signature", "huge signature", "no names"])
def test_bad_alipay_bodies_are_refused(clock, gateways, body):
    _reject(gateways["alipay"], {}, body, clock)
