"""The WeChat Pay simulator driven by the real ``wechatpayv3`` SDK over real HTTP.

If the SDK accepts an answer, the simulator signed it the way WeChat Pay does; if it decrypts and
verifies a notification, so will the merchant's callback handler.
"""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import io
import json
import time
from urllib.parse import quote

import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from werkzeug.wrappers import Request, Response
from wechatpayv3 import WeChatPay, WeChatPayType
from wechatpayv3.utils import aes_decrypt

from payments.sandbox.keys import new_private_key, private_pem, wechat_keys
from payments.sandbox.server import LoopbackServer
from payments.sandbox.wechatpay import WeChatPaySandbox
from payments.sandbox.wechatpay_statement import HEADER, SUMMARY_HEADER
from tests.conftest import START  # the ``clock`` fixture starts there: 10:00 in Beijing

MCHID, APPID = "1900000109", "wx8888888888888888"
NOTIFY = "http://127.0.0.1:9/notify"  # nothing listens: only auto-notification tests deliver


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return wechat_keys(tmp_path_factory.mktemp("wechatpay-keys"))


class Switchboard:
    """One loopback server for the whole module, handing each request to the current test's
    sandbox: stopping a server takes half a second, too long to pay per test."""

    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def switchboard():
    board = Switchboard()
    server = LoopbackServer(board).start()
    board.url = server.url
    yield board
    server.stop()


def routed_sandbox(keys, switchboard, **options) -> WeChatPaySandbox:
    sandbox = WeChatPaySandbox(keys, mchid=MCHID, appid=APPID, **options)
    sandbox.url, switchboard.app = switchboard.url, sandbox
    return sandbox


@pytest.fixture
def sandbox(keys, switchboard, clock):
    return routed_sandbox(keys, switchboard, clock=clock, retry_scale=0.001, auto_notify=False)


def sdk_client(keys, sandbox, *, mode: str = "public_key", **overrides) -> WeChatPay:
    trust = ({"public_key": keys.platform_public_key.read_text(), "public_key_id": keys.public_key_id}
             if mode == "public_key" else {"cert_dir": str(keys.platform_cert_dir)})
    options = dict(wechatpay_type=WeChatPayType.NATIVE, mchid=MCHID, private_key=keys.merchant_private_key.read_text(),
                   cert_serial_no=keys.merchant_serial, appid=APPID, apiv3_key=keys.apiv3_key, notify_url=NOTIFY)
    client = WeChatPay(**(options | trust | overrides))
    client._core._gate_way = sandbox.url  # the SDK has no option for the gateway address
    return client


@pytest.fixture
def pk(keys, sandbox):
    return sdk_client(keys, sandbox)


@pytest.fixture
def cert(keys, sandbox):
    return sdk_client(keys, sandbox, mode="certificate")


def answer(result) -> dict:
    """The SDK's (status, text) as one dict; ``http`` is the status (a refund has its own ``status``)."""
    status, text = result
    return {"http": status, **(json.loads(text) if text else {})}


def native(client, out_trade_no: str, total: int = 1234) -> dict:
    return answer(client.pay(description="电费", out_trade_no=out_trade_no, amount={"total": total, "currency": "CNY"}))


# --- orders -------------------------------------------------------------------------------------

def test_native_h5_and_jsapi_orders_are_created(pk, sandbox):
    assert native(pk, "ORDER0001")["code_url"].startswith("weixin://wxpay/bizpayurl?pr=")
    h5 = answer(pk.pay(description="电费", out_trade_no="ORDER0002", amount={"total": 100}, pay_type=WeChatPayType.H5,
                       scene_info={"payer_client_ip": "1.2.3.4", "h5_info": {"type": "Wap"}}))
    assert h5["h5_url"].startswith(f"{sandbox.url}/sandbox/cashier/")
    jsapi = answer(pk.pay(description="电费", out_trade_no="ORDER0003", amount={"total": 100},
                          pay_type=WeChatPayType.JSAPI, payer={"openid": "oUser"}))
    assert jsapi["prepay_id"].startswith("wx")


def test_repeating_an_order_is_idempotent_but_changing_it_is_refused(pk):
    first = native(pk, "ORDER0001")
    assert native(pk, "ORDER0001") == first
    changed = native(pk, "ORDER0001", total=999)
    assert (changed["http"], changed["code"]) == (400, "INVALID_REQUEST")
    assert answer(pk.pay(description="电费", out_trade_no="ORDER0009", amount={"total": 1}, appid="wx1"))["code"] == \
        "APPID_MCHID_NOT_MATCH"
    assert native(pk, "ORDER0010", total=0)["code"] == "PARAM_ERROR"


def test_query_shows_notpay_then_success(pk, sandbox):
    native(pk, "ORDER0001")
    assert answer(pk.query(out_trade_no="ORDER0001"))["trade_state"] == "NOTPAY"
    transaction_id = sandbox.pay("ORDER0001", payer="张三")
    paid = answer(pk.query(out_trade_no="ORDER0001"))
    assert paid["trade_state"] == "SUCCESS" and paid["transaction_id"] == transaction_id
    assert len(transaction_id) == 28 and transaction_id.startswith("42000020261127")
    assert paid["amount"] == {"total": 1234, "payer_total": 1234, "currency": "CNY", "payer_currency": "CNY"}
    assert paid["success_time"] == "2026-11-27T10:00:00+08:00" and paid["appid"] == APPID and paid["mchid"] == MCHID
    assert answer(pk.query(transaction_id=transaction_id)) == paid
    assert answer(pk.query(out_trade_no="NOSUCHORDER"))["code"] == "ORDER_NOT_EXIST"


def test_close_then_closed_and_a_paid_order_cannot_be_closed(pk, sandbox):
    native(pk, "ORDER0001")
    assert pk.close(out_trade_no="ORDER0001")[0] == 204
    assert answer(pk.query(out_trade_no="ORDER0001"))["trade_state"] == "CLOSED"
    with pytest.raises(ValueError):
        sandbox.pay("ORDER0001")
    native(pk, "ORDER0002")
    sandbox.pay("ORDER0002")
    assert answer(pk.close(out_trade_no="ORDER0002"))["code"] == "ORDERPAID"


def test_one_qr_code_paid_by_two_phones_gives_two_transactions(pk, sandbox):
    native(pk, "ORDER0001")
    first, second = sandbox.pay("ORDER0001", payer="phone-a"), sandbox.pay("ORDER0001", payer="phone-b")
    assert first != second
    assert answer(pk.query(out_trade_no="ORDER0001"))["transaction_id"] == first
    again = answer(pk.query(transaction_id=second))
    assert again["out_trade_no"] == "ORDER0001" and again["amount"]["total"] == 1234
    assert again["payer"]["openid"] != answer(pk.query(transaction_id=first))["payer"]["openid"]


# --- refunds ------------------------------------------------------------------------------------

def test_refund_is_processing_then_success_and_idempotent(pk, sandbox):
    native(pk, "ORDER0001", total=1000)
    transaction_id = sandbox.pay("ORDER0001")
    accepted = answer(pk.refund(out_refund_no="REFUND001", transaction_id=transaction_id,
                                amount={"refund": 600, "total": 1000, "currency": "CNY"}))
    assert (accepted["http"], accepted["status"]) == (200, "PROCESSING") and accepted["refund_id"].startswith("5030000")
    assert accepted["channel"] == "ORIGINAL" and accepted["user_received_account"] == "支付用户零钱"
    assert accepted["amount"] == {"total": 1000, "refund": 600, "payer_total": 1000, "payer_refund": 600,
                                  "currency": "CNY"}
    assert json.loads(pk.refund(out_refund_no="REFUND001", transaction_id=transaction_id,
                                amount={"refund": 600, "total": 1000})[1])["refund_id"] == accepted["refund_id"]
    assert sandbox.wait_idle(5)
    done = answer(pk.query_refund(out_refund_no="REFUND001"))
    assert done["status"] == "SUCCESS" and done["success_time"].endswith("+08:00")
    assert answer(pk.query(out_trade_no="ORDER0001"))["trade_state"] == "SUCCESS"  # only partly refunded
    over = answer(pk.refund(out_refund_no="REFUND002", out_trade_no="ORDER0001", amount={"refund": 401, "total": 1000}))
    assert (over["http"], over["code"]) == (400, "INVALID_REQUEST")
    rest = answer(pk.refund(out_refund_no="REFUND003", out_trade_no="ORDER0001", amount={"refund": 400, "total": 1000}))
    assert rest["http"] == 200 and sandbox.wait_idle(5)
    assert answer(pk.query(out_trade_no="ORDER0001"))["trade_state"] == "REFUND"
    assert answer(pk.query_refund(out_refund_no="NOSUCHREFUND"))["code"] == "RESOURCE_NOT_EXISTS"


def test_refund_of_an_unpaid_order_is_refused(pk):
    native(pk, "ORDER0001")
    refused = answer(pk.refund(out_refund_no="REFUND001", out_trade_no="ORDER0001",
                               amount={"refund": 1, "total": 1234}))
    assert refused["http"] == 400


# --- statements ---------------------------------------------------------------------------------

def ticked_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_trade_bill_matches_its_hash_and_lists_payments_refunds_and_summary(keys, switchboard, clock):
    sandbox = routed_sandbox(keys, switchboard, clock=clock, auto_notify=False, auto_refund=False)
    pk = sdk_client(keys, sandbox)
    native(pk, "ORDER0001", total=10000)
    native(pk, "ORDER0002", total=250)
    paid, _ = sandbox.pay("ORDER0001"), sandbox.pay("ORDER0002")
    clock.advance(minutes=5)
    pk.refund(out_refund_no="REFUND001", transaction_id=paid, amount={"refund": 3000, "total": 10000})
    assert answer(pk.trade_bill(bill_date="2026-11-27"))["code"] == "STATEMENT_CREATING"
    clock.advance(hours=22, minutes=55)  # 2026-11-28 09:00 in Beijing: not ready before 10:00
    assert answer(pk.trade_bill(bill_date="2026-11-27"))["code"] == "STATEMENT_CREATING"
    clock.advance(hours=1)
    assert answer(pk.trade_bill(bill_date="2026-11-26"))["code"] == "NO_STATEMENT_EXIST"
    bill = answer(pk.trade_bill(bill_date="2026-11-27"))
    assert bill["hash_type"] == "SHA1" and bill["download_url"].startswith(f"{sandbox.url}/v3/billdownload/file?token=")
    status, zipped = pk.download_bill(bill["download_url"])
    raw = gzip.decompress(zipped)
    assert status == 200 and hashlib.sha1(raw).hexdigest() == bill["hash_value"]
    rows = ticked_rows(raw.decode("utf-8"))
    assert rows[0] == HEADER and rows[4] == SUMMARY_HEADER and len(rows) == 6
    assert all(cell.startswith("`") for row in rows[1:4] + rows[5:] for cell in row)
    payment = dict(zip(HEADER, (cell[1:] for cell in rows[1])))
    assert payment["交易时间"] == "2026-11-27 10:00:00" and payment["微信订单号"] == paid
    assert (payment["交易状态"], payment["应结订单金额"], payment["手续费"], payment["费率"]) == ("SUCCESS", "100.00", "0.60000",
                                                                                          "0.60%")
    assert dict(zip(HEADER, (cell[1:] for cell in rows[2])))["手续费"] == "0.01500"  # 1.5 fen, exactly
    refund = dict(zip(HEADER, (cell[1:] for cell in rows[3])))
    assert (refund["交易状态"], refund["退款金额"], refund["退款状态"], refund["手续费"], refund["商户退款单号"]) == \
        ("REFUND", "30.00", "PROCESSING", "-0.18000", "REFUND001")
    assert [cell[1:] for cell in rows[5]] == ["3", "102.50", "30.00", "0.00", "0.43500", "102.50", "30.00"]
    only_refunds = answer(pk.trade_bill(bill_date="2026-11-27", bill_type="REFUND", tar_type=""))
    plain = pk.download_bill(only_refunds["download_url"])[1]
    assert [row[9] for row in ticked_rows(plain.decode())[1:-2]] == ["`REFUND"]
    only_payments = answer(pk.trade_bill(bill_date="2026-11-27", bill_type="SUCCESS"))
    sandbox.corrupt_next_download()
    corrupted = gzip.decompress(pk.download_bill(only_payments["download_url"])[1])
    assert hashlib.sha1(corrupted).hexdigest() != only_payments["hash_value"]


# --- request and response signatures ------------------------------------------------------------

def test_a_request_signed_with_another_key_gets_401_sign_error(keys, sandbox):
    impostor = sdk_client(keys, sandbox, private_key=private_pem(new_private_key()))
    assert answer(impostor.query(out_trade_no="ORDER0001")) == {"http": 401, "code": "SIGN_ERROR", "message": "签名错误"}


def test_a_stale_request_timestamp_gets_401(keys, sandbox):
    path = f"/v3/pay/transactions/out-trade-no/ORDER0001?mchid={MCHID}"
    stamp, nonce = str(int(time.time()) - 600), "N" * 32
    key = serialization.load_pem_private_key(keys.merchant_private_key.read_bytes(), password=None)
    message = f"GET\n{path}\n{stamp}\n{nonce}\n\n".encode()
    signature = base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256()))
    authorization = (f'WECHATPAY2-SHA256-RSA2048 mchid="{MCHID}",nonce_str="{nonce}",signature="{signature.decode()}",'
                     f'timestamp="{stamp}",serial_no="{keys.merchant_serial}"')
    response = requests.get(sandbox.url + path, headers={"Authorization": authorization}, timeout=5)
    assert response.status_code == 401 and response.json()["code"] == "SIGN_ERROR"


def test_the_sdk_verifies_answers_in_public_key_and_certificate_mode(pk, cert):
    # request() raises 'failed to verify the signature' for a 2xx it cannot verify.
    native(pk, "ORDER0001")
    native(cert, "ORDER0002")
    assert answer(cert.query(out_trade_no="ORDER0001"))["trade_state"] == "NOTPAY"
    assert cert.close(out_trade_no="ORDER0002")[0] == 204


def test_certificates_download_and_decrypt_into_the_sdk(keys, cert, tmp_path):
    cert._core._cert_dir = f"{tmp_path}/"
    cert._core._update_certificates()
    assert [f"{c.serial_number:X}" for c in cert._core._certificates] == [keys.platform_serial]
    assert (tmp_path / f"{keys.platform_serial}.pem").read_text() == \
        (keys.platform_cert_dir / f"{keys.platform_serial}.pem").read_text()


# --- notifications ------------------------------------------------------------------------------

def paid_order(client, sandbox) -> str:
    native(client, "ORDER0001")
    return sandbox.pay("ORDER0001")


@pytest.mark.parametrize("sign_with", ["public_key", "certificate"])
def test_a_notification_verifies_and_decrypts_in_the_sdk(request, sandbox, sign_with):
    client = request.getfixturevalue("pk" if sign_with == "public_key" else "cert")
    transaction_id = paid_order(client, sandbox)
    delivery = sandbox.notification(transaction_id, sign_with=sign_with)
    data = client.callback(delivery.headers, delivery.body)
    assert data["event_type"] == "TRANSACTION.SUCCESS" and data["resource_type"] == "encrypt-resource"
    resource = data["resource"]
    assert (resource["transaction_id"], resource["out_trade_no"], resource["trade_state"]) == \
        (transaction_id, "ORDER0001", "SUCCESS")
    assert (resource["amount"]["total"], resource["appid"], resource["mchid"]) == (1234, APPID, MCHID)
    assert delivery.url == NOTIFY and data["create_time"] == "2026-11-27T10:00:00+08:00"


@pytest.mark.parametrize("forge", ["bad_signature", "wrong_key", "tampered_amount", "signtest"])
def test_forged_signatures_fail_in_the_sdk(pk, sandbox, forge):
    delivery = sandbox.notification(paid_order(pk, sandbox), forge=forge)
    assert pk.callback(delivery.headers, delivery.body) is None
    assert delivery.headers["Wechatpay-Signature"].startswith("WECHATPAY/SIGNTEST/") == (forge == "signtest")


def test_an_unknown_serial_is_one_nobody_knows(keys, pk, sandbox):
    headers = sandbox.notification(paid_order(pk, sandbox), forge="unknown_serial").headers
    # Not handed to the SDK: an unknown serial makes it download certificates.
    assert headers["Wechatpay-Serial"] not in (keys.public_key_id, keys.platform_serial)


def test_a_tampered_amount_is_what_the_body_says(keys, pk, sandbox):
    delivery = sandbox.notification(paid_order(pk, sandbox), forge="tampered_amount")
    resource = json.loads(delivery.body)["resource"]
    plain = aes_decrypt(resource["nonce"], resource["ciphertext"], resource["associated_data"], keys.apiv3_key)
    assert json.loads(plain)["amount"]["total"] == 1334


@pytest.mark.parametrize("forge, check", [
    ("stale_timestamp", lambda data, headers: int(headers["Wechatpay-Timestamp"]) == int(START.timestamp()) - 600),
    ("unknown_order", lambda data, headers: data["resource"]["out_trade_no"] != "ORDER0001"),
    ("wrong_appid", lambda data, headers: data["resource"]["appid"] == "wx0000000000000000"),
    ("wrong_mchid", lambda data, headers: data["resource"]["mchid"] not in ("", MCHID)),
])
def test_correctly_signed_forgeries_verify_but_carry_the_difference(pk, sandbox, forge, check):
    transaction_id = paid_order(pk, sandbox)
    delivery = sandbox.notification(transaction_id, forge=forge)
    data = pk.callback(delivery.headers, delivery.body)
    assert data is not None and check(data, delivery.headers)
    if forge == "unknown_order":
        assert data["resource"]["transaction_id"] not in sandbox.transactions
        assert data["resource"]["out_trade_no"] not in sandbox.orders


def test_a_refund_notification_verifies_and_decrypts(keys, pk, sandbox):
    transaction_id = paid_order(pk, sandbox)
    pk.refund(out_refund_no="REFUND001", transaction_id=transaction_id, amount={"refund": 234, "total": 1234})
    assert sandbox.wait_idle(5)
    data = pk.callback(*_parts(sandbox.refund_notification("REFUND001")))
    resource = data["resource"]
    assert data["event_type"] == "REFUND.SUCCESS" and resource["refund_status"] == "SUCCESS"
    assert (resource["out_refund_no"], resource["transaction_id"], resource["amount"]["refund"]) == \
        ("REFUND001", transaction_id, 234)
    assert pk.callback(*_parts(sandbox.refund_notification("REFUND001", forge="tampered_amount"))) is None


def test_a_refund_completed_by_hand_can_end_abnormal(keys, switchboard, clock):
    sandbox = routed_sandbox(keys, switchboard, clock=clock, auto_notify=False, auto_refund=False)
    pk = sdk_client(keys, sandbox)
    transaction_id = paid_order(pk, sandbox)
    pk.refund(out_refund_no="REFUND001", transaction_id=transaction_id, amount={"refund": 1234, "total": 1234})
    assert answer(pk.query_refund(out_refund_no="REFUND001"))["status"] == "PROCESSING"
    with pytest.raises(ValueError):
        sandbox.refund_notification("REFUND001")  # nothing to tell while PROCESSING
    sandbox.complete_refund("REFUND001", status="ABNORMAL")
    data = pk.callback(*_parts(sandbox.refund_notification("REFUND001")))
    assert (data["event_type"], data["resource"]["refund_status"]) == ("REFUND.ABNORMAL", "ABNORMAL")
    assert answer(pk.query(out_trade_no="ORDER0001"))["trade_state"] == "SUCCESS"  # the money did not go back


def _parts(delivery):
    return delivery.headers, delivery.body


class Receiver:
    """A merchant notify endpoint that fails twice, then acknowledges."""

    def __init__(self, answers=(500, 500, 204)) -> None:
        self.answers, self.received = list(answers), []

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.received.append((dict(request.headers), request.get_data()))
        return Response(status=self.answers.pop(0) if self.answers else 204)(environ, start_response)


def test_auto_notifications_are_retried_until_acknowledged(keys, clock):
    receiver = Receiver()
    server = LoopbackServer(receiver).start()
    sandbox = WeChatPaySandbox(keys, mchid=MCHID, appid=APPID, clock=clock, retry_scale=0.001)
    sandbox.serve()
    try:
        client = sdk_client(keys, sandbox, notify_url=f"{server.url}/notify")
        native(client, "ORDER0001")
        transaction_id = sandbox.pay("ORDER0001")
        assert sandbox.wait_idle(5)
        assert [attempt.status for _, attempt in sandbox.notifier.log] == [500, 500, 204]
        headers, body = receiver.received[-1]
        assert client.callback(headers, body)["resource"]["transaction_id"] == transaction_id
        assert sandbox.deliver(sandbox.notification(transaction_id)).status == 204  # one POST, logged too
        assert len(sandbox.notifier.log) == 4
    finally:
        sandbox.stop()
        server.stop()


# --- the cashier --------------------------------------------------------------------------------

def test_the_cashier_shows_the_amount_and_pay_redirects_to_redirect_url(pk, sandbox):
    h5 = answer(pk.pay(description="三月电费", out_trade_no="ORDER0001", amount={"total": 1234}, pay_type=WeChatPayType.H5,
                       scene_info={"payer_client_ip": "1.2.3.4", "h5_info": {"type": "Wap"}}))
    url = h5["h5_url"] + "?redirect_url=" + quote("http://merchant.example/paid?order=1", safe="")
    page = requests.get(url, timeout=5)
    assert page.status_code == 200 and "¥12.34" in page.text and "三月电费" in page.text
    paid = requests.post(url, data={"action": "pay", "payer": "李四"}, allow_redirects=False, timeout=5)
    assert paid.status_code == 303 and paid.headers["Location"] == "http://merchant.example/paid?order=1"
    assert answer(pk.query(out_trade_no="ORDER0001"))["trade_state"] == "SUCCESS"


def test_scanning_a_native_code_opens_the_cashier_and_cancel_leaves_it_unpaid(pk, sandbox):
    code_url = native(pk, "ORDER0001")["code_url"]
    scanned = requests.get(f"{sandbox.url}/sandbox/scan", params={"code_url": code_url}, timeout=5)
    assert scanned.status_code == 200 and "¥12.34" in scanned.text
    cancelled = requests.post(scanned.url, data={"action": "cancel"}, timeout=5)
    assert "已取消" in cancelled.text
    assert answer(pk.query(out_trade_no="ORDER0001"))["trade_state"] == "NOTPAY"
