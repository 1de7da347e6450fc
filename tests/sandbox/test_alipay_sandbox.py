"""The Alipay sandbox driven by the real python-alipay-sdk over real HTTP: if the SDK accepts what
the sandbox says and the sandbox refuses what Alipay refuses, merchant code tested against it
will meet no surprises at openapi.alipay.com."""

from __future__ import annotations

import io
import itertools
import re
import zipfile
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from alipay import AliPay
from alipay.exceptions import AliPayException
from werkzeug.wrappers import Request, Response

from billing.clock import FixedClock, system_clock, to_beijing
from payments.sandbox.alipay import AlipaySandbox
from payments.sandbox.delivery import Attempt
from payments.sandbox.keys import alipay_keys, new_private_key, private_pem
from payments.sandbox.server import LoopbackServer

APP_ID = "2021004100000001"
SELLER_ID = "2088641000000001"
DEAD_NOTIFY_URL = "http://127.0.0.1:9/alipay/notify"  # never called: auto_notify is off
RETURN_URL = "http://merchant.example/alipay/return"
_numbers = itertools.count(1)


class BeijingAliPay(AliPay):
    """The SDK stamps ``timestamp`` with the machine's local time; Alipay wants Beijing time."""

    clock = staticmethod(system_clock)

    def build_body(self, *args, **kwargs):
        data = super().build_body(*args, **kwargs)
        data["timestamp"] = to_beijing(self.clock()).strftime("%Y-%m-%d %H:%M:%S")
        return data


def make_client(keys, sandbox, *, clock=system_clock, app_private_key=None, app_id=APP_ID) -> BeijingAliPay:
    client = BeijingAliPay(
        appid=app_id, app_notify_url=None,
        app_private_key_string=app_private_key or keys.app_private_key.read_text(),
        alipay_public_key_string=keys.alipay_public_key.read_text(), sign_type="RSA2",
    )
    client.clock = clock
    client._gateway = sandbox.url + "/gateway.do"
    return client


def order_no() -> str:
    return f"DF{datetime.now(UTC):%Y%m%d}{next(_numbers):06d}"


def form(delivery) -> tuple[dict[str, str], str]:
    """A notification as the merchant's handler sees it: (data without sign, sign)."""
    data = dict(parse_qsl(delivery.body.decode()))
    return data, data.pop("sign")


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return alipay_keys(tmp_path_factory.mktemp("alipay_keys"))


@pytest.fixture(scope="module")
def sandbox(keys):
    gateway = AlipaySandbox(keys, app_id=APP_ID, seller_id=SELLER_ID, retry_scale=0.001, auto_notify=False)
    gateway.serve()
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def client(keys, sandbox):
    return make_client(keys, sandbox)


def precreate(client, out_trade_no: str, total_amount="12.34") -> dict:
    return client.api_alipay_trade_precreate(subject="电费", out_trade_no=out_trade_no, total_amount=total_amount,
                                             notify_url=DEAD_NOTIFY_URL)


def test_precreate_query_pay(client, sandbox):
    out_trade_no = order_no()
    created = precreate(client, out_trade_no)
    assert created["code"] == "10000" and created["out_trade_no"] == out_trade_no
    assert created["qr_code"].startswith(sandbox.url + "/sandbox/cashier/")
    assert "¥12.34" in requests.get(created["qr_code"], timeout=5).text  # scanning shows the cashier

    waiting = client.api_alipay_trade_query(out_trade_no=out_trade_no)
    assert (waiting["code"], waiting["trade_status"], waiting["total_amount"]) == ("10000", "WAIT_BUYER_PAY", "12.34")

    trade_no = sandbox.pay(out_trade_no, buyer="zhangsan@163.com")
    assert re.fullmatch(r"\d{8}22001\d{15}", trade_no)
    paid = client.api_alipay_trade_query(trade_no=trade_no)
    assert paid["trade_status"] == "TRADE_SUCCESS" and paid["out_trade_no"] == out_trade_no
    assert paid["buyer_logon_id"] == "zha***@163.com" and re.fullmatch(r"2088\d{12}", paid["buyer_user_id"])
    assert paid["receipt_amount"] == paid["buyer_pay_amount"] == "12.34" and paid["send_pay_date"]
    with pytest.raises(ValueError):
        sandbox.pay(out_trade_no)  # one out_trade_no is paid once


def test_a_form_post_is_answered_like_a_get(client, sandbox):
    out_trade_no = order_no()
    sandbox.register_order(out_trade_no, 500, DEAD_NOTIFY_URL)
    body = client.sign_data(client.build_body("alipay.trade.query", {"out_trade_no": out_trade_no}))
    answer = requests.post(sandbox.url + "/gateway.do", data=body, timeout=5,
                           headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"})
    assert answer.headers["Content-Type"] == "text/html;charset=utf-8"
    parsed = client._verify_and_return_sync_response(answer.text, "alipay_trade_query_response")
    assert parsed["trade_status"] == "WAIT_BUYER_PAY" and parsed["total_amount"] == "5.00"


def test_unknown_trade(client):
    answer = client.api_alipay_trade_query(out_trade_no="NEVER-ISSUED")
    assert (answer["code"], answer["sub_code"]) == ("40004", "ACQ.TRADE_NOT_EXIST")


def test_a_timestamp_in_utc_wall_time_is_refused(keys, sandbox):
    """What an unpatched SDK sends from a server whose local zone is UTC: eight hours behind."""
    utc_client = make_client(keys, sandbox, clock=lambda: system_clock() - timedelta(hours=8))
    with pytest.raises(AliPayException, match="isv.invalid-timestamp"):
        utc_client.api_alipay_trade_query(out_trade_no="ANY")


def test_a_request_signed_with_another_key_is_refused(keys, sandbox):
    impostor = make_client(keys, sandbox, app_private_key=private_pem(new_private_key()))
    with pytest.raises(AliPayException, match="isv.invalid-signature"):
        impostor.api_alipay_trade_query(out_trade_no="ANY")
    stranger = make_client(keys, sandbox, app_id="2021009999999999")
    with pytest.raises(AliPayException, match="isv.invalid-app-id"):
        stranger.api_alipay_trade_query(out_trade_no="ANY")


@pytest.mark.parametrize("amount", ["0.30000000000000004", "1.234", "0", "0.00", "-1.00", "100000000.01", "1e3",
                                    "一元", 0.1 + 0.2])
def test_amounts_that_are_not_two_decimal_yuan_are_refused(client, amount):
    """A float goes out as the JSON number 0.30000000000000004 and is refused like its string."""
    answer = precreate(client, order_no(), total_amount=amount)
    assert (answer["code"], answer["sub_code"]) == ("40004", "ACQ.INVALID_PARAMETER")


def test_the_largest_amount_is_accepted(client):
    assert precreate(client, order_no(), total_amount="100000000.00")["code"] == "10000"


def test_wap_pay_cashier_returns_signed_parameters(client, sandbox):
    out_trade_no = order_no()
    query = client.api_alipay_trade_wap_pay(subject="电费", out_trade_no=out_trade_no, total_amount="88.80",
                                            return_url=RETURN_URL, notify_url=DEAD_NOTIFY_URL)
    page = requests.get(f"{sandbox.url}/gateway.do?{query}", timeout=5)
    assert "¥88.80" in page.text and "县供电公司" in page.text
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)[1]

    paid = requests.post(action, data={"payer": "lisi@126.com", "action": "pay"}, allow_redirects=False, timeout=5)
    assert paid.status_code == 303 and paid.headers["Location"].startswith(RETURN_URL + "?")
    data = dict(parse_qsl(urlsplit(paid.headers["Location"]).query))
    sign = data.pop("sign")
    assert client.verify(dict(data), sign)
    assert data["method"] == "alipay.trade.wap.pay.return" and data["total_amount"] == "88.80"
    assert (data["out_trade_no"], data["seller_id"], data["app_id"]) == (out_trade_no, SELLER_ID, APP_ID)
    assert not client.verify({**data, "total_amount": "0.01"}, sign)
    assert sandbox.trades[out_trade_no]["status"] == "TRADE_SUCCESS"

    again = requests.post(action, data={"payer": "other@126.com", "action": "pay"}, allow_redirects=False, timeout=5)
    assert again.status_code == 200 and "无法支付" in again.text


def test_wap_pay_same_order_with_another_amount_is_an_error_page(client, sandbox):
    out_trade_no = order_no()
    sandbox.register_order(out_trade_no, 1000, DEAD_NOTIFY_URL)
    query = client.api_alipay_trade_wap_pay(subject="电费", out_trade_no=out_trade_no, total_amount="10.01",
                                            return_url=RETURN_URL)
    page = requests.get(f"{sandbox.url}/gateway.do?{query}", timeout=5)
    assert "ACQ.CONTEXT_INCONSISTENT" in page.text and "<form" not in page.text


def test_cancel_at_the_cashier_goes_back_without_payment(client, sandbox):
    out_trade_no = order_no()
    query = client.api_alipay_trade_page_pay(subject="电费", out_trade_no=out_trade_no, total_amount="5.00",
                                             return_url=RETURN_URL)
    action = re.search(r'action="([^"]+)"', requests.get(f"{sandbox.url}/gateway.do?{query}", timeout=5).text)[1]
    left = requests.post(action, data={"action": "cancel"}, allow_redirects=False, timeout=5)
    assert (left.status_code, left.headers["Location"]) == (303, RETURN_URL)
    assert client.api_alipay_trade_query(out_trade_no=out_trade_no)["trade_status"] == "WAIT_BUYER_PAY"


def test_close(client, sandbox):
    waiting, paid = order_no(), order_no()
    precreate(client, waiting)
    precreate(client, paid)
    sandbox.pay(paid)
    assert client.api_alipay_trade_close(out_trade_no=waiting)["code"] == "10000"
    assert client.api_alipay_trade_query(out_trade_no=waiting)["trade_status"] == "TRADE_CLOSED"
    assert client.api_alipay_trade_close(out_trade_no=paid)["sub_code"] == "ACQ.TRADE_STATUS_ERROR"
    assert client.api_alipay_trade_close(out_trade_no="NEVER-ISSUED")["sub_code"] == "ACQ.TRADE_NOT_EXIST"
    with pytest.raises(ValueError):
        sandbox.pay(waiting)


def refund(client, out_trade_no, amount, out_request_no=None) -> dict:
    extra = {"out_request_no": out_request_no} if out_request_no else {}
    return client.api_alipay_trade_refund(amount, out_trade_no=out_trade_no, refund_reason="退费", **extra)


def test_refunds(client, sandbox):
    out_trade_no = order_no()
    sandbox.register_order(out_trade_no, 10000, DEAD_NOTIFY_URL)
    assert refund(client, out_trade_no, "1.00", "R0")["sub_code"] == "ACQ.TRADE_STATUS_ERROR"  # not paid yet
    sandbox.pay(out_trade_no)

    first = refund(client, out_trade_no, "30.00", "R1")
    assert (first["code"], first["fund_change"], first["refund_fee"]) == ("10000", "Y", "30.00")
    assert refund(client, out_trade_no, "20.00", "R2")["refund_fee"] == "50.00"
    retry = refund(client, out_trade_no, "30.00", "R1")
    assert (retry["fund_change"], retry["refund_fee"]) == ("N", "50.00")

    # Without out_request_no the request is numbered out_trade_no: the second is a retry of the first.
    assert refund(client, out_trade_no, "10.00")["refund_fee"] == "60.00"
    unnumbered = refund(client, out_trade_no, "15.00")
    assert (unnumbered["fund_change"], unnumbered["refund_fee"]) == ("N", "60.00")

    assert refund(client, out_trade_no, "40.01", "R3")["sub_code"] == "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"
    assert refund(client, out_trade_no, "1.234", "R3")["sub_code"] == "ACQ.INVALID_PARAMETER"
    assert refund(client, out_trade_no, "40.00", "R3")["refund_fee"] == "100.00"
    assert client.api_alipay_trade_query(out_trade_no=out_trade_no)["trade_status"] == "TRADE_CLOSED"
    assert refund(client, out_trade_no, "0.01", "R4")["sub_code"] == "ACQ.TRADE_STATUS_ERROR"
    assert {no for (trade, no) in sandbox.refunds if trade == out_trade_no} == {"R1", "R2", "R3", out_trade_no}

    data, sign = form(sandbox.notification(out_trade_no))
    assert client.verify(data, sign)
    assert (data["trade_status"], data["refund_fee"], data["out_biz_no"]) == ("TRADE_CLOSED", "100.00", "R3")
    assert data["gmt_refund"]


def test_refund_query(client, sandbox):
    out_trade_no = order_no()
    sandbox.register_order(out_trade_no, 2500, DEAD_NOTIFY_URL)
    sandbox.pay(out_trade_no)
    refund(client, out_trade_no, "5.00", "R1")
    found = client.api_alipay_trade_fastpay_refund_query("R1", out_trade_no=out_trade_no)
    assert (found["refund_amount"], found["total_amount"]) == ("5.00", "25.00")
    assert found["refund_status"] == "REFUND_SUCCESS"
    missing = client.api_alipay_trade_fastpay_refund_query("R9", out_trade_no=out_trade_no)
    assert missing["code"] == "10000" and "refund_amount" not in missing and "refund_status" not in missing


def test_genuine_notification_verifies(client, sandbox):
    out_trade_no = order_no()
    sandbox.register_order(out_trade_no, 4321, DEAD_NOTIFY_URL)
    sandbox.pay(out_trade_no, buyer="wangwu@qq.com")
    delivery = sandbox.notification(out_trade_no)
    assert delivery.url == DEAD_NOTIFY_URL
    assert delivery.headers["Content-Type"] == "application/x-www-form-urlencoded; charset=utf-8"
    data, sign = form(delivery)
    assert data["sign_type"] == "RSA2" and client.verify(data, sign)
    assert (data["notify_type"], data["trade_status"]) == ("trade_status_sync", "TRADE_SUCCESS")
    assert data["total_amount"] == data["receipt_amount"] == "43.21"
    assert (data["app_id"], data["seller_id"], data["buyer_logon_id"]) == (APP_ID, SELLER_ID, "wan***@qq.com")
    assert data["subject"] == "电费" and '"fundChannel":"ALIPAYACCOUNT"' in data["fund_bill_list"]


@pytest.mark.parametrize("forge, verifies, difference", [
    ("bad_signature", False, None),
    ("wrong_key", False, None),
    ("tampered_amount", False, ("total_amount", "44.21")),
    ("unknown_order", True, None),
    ("wrong_appid", True, ("app_id", "2021000000000000")),
    ("wrong_seller", True, ("seller_id", "2088000000000000")),
])
def test_forged_notifications(client, sandbox, forge, verifies, difference):
    out_trade_no = order_no()
    sandbox.register_order(out_trade_no, 4321, DEAD_NOTIFY_URL)
    sandbox.pay(out_trade_no)
    data, sign = form(sandbox.notification(out_trade_no, forge=forge))
    assert client.verify(data, sign) is verifies
    if difference:
        assert data[difference[0]] == difference[1]
    if forge == "unknown_order":
        assert data["out_trade_no"] not in sandbox.trades
        assert all(t["trade_no"] != data["trade_no"] for t in sandbox.trades.values())


class Receiver:
    """A merchant notify endpoint that answers ``fail`` twice, then ``success``."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, str]] = []

    def __call__(self, environ, start_response):
        self.bodies.append(Request(environ).form.to_dict())
        answer = "success" if len(self.bodies) > 2 else "fail"
        return Response(answer, content_type="text/plain")(environ, start_response)


def test_notifications_are_retried_until_success(client, sandbox):
    receiver = Receiver()
    server = LoopbackServer(receiver).start()
    try:
        out_trade_no = order_no()
        notify_url = server.url + "/alipay/notify"
        sandbox.register_order(out_trade_no, 990, notify_url)
        sandbox.pay(out_trade_no, notify=True)
        assert sandbox.wait_idle(10)
    finally:
        server.stop()
    attempts = [(dict(parse_qsl(d.body.decode())), a) for d, a in sandbox.notifier.log if d.url == notify_url]
    assert [a.body for _, a in attempts] == ["fail", "fail", "success"]
    assert len({data["notify_id"] for data, _ in attempts}) == 1
    assert len(receiver.bodies) == 3
    for body in receiver.bodies:
        sign = body.pop("sign")
        assert client.verify(body, sign)


def test_only_the_exact_word_success_acknowledges(sandbox):
    accepted = sandbox.notifier.accepted
    assert accepted(Attempt(200, "success")) and accepted(Attempt(500, "success"))
    assert not any(accepted(Attempt(200, body)) for body in ("SUCCESS", "success\n", '{"code":"SUCCESS"}', "ok", ""))


def bill_query(client, day: str) -> dict:
    return client.server_api("alipay.data.dataservice.bill.downloadurl.query", {"bill_type": "trade", "bill_date": day})


def fields(line: str) -> list[str]:
    return [field.removesuffix("\t") for field in line.split(",")]


def test_daily_bill(keys):
    clock = FixedClock(datetime(2026, 11, 26, 1, 0, tzinfo=UTC))  # 09:00 on the 26th in Beijing
    sandbox = AlipaySandbox(keys, app_id=APP_ID, seller_id=SELLER_ID, clock=clock, auto_notify=False)
    sandbox.serve()
    try:
        client = make_client(keys, sandbox, clock=clock)
        for out_trade_no, fen in (("BILL-A", 10000), ("BILL-B", 750), ("BILL-C", 2000)):
            sandbox.register_order(out_trade_no, fen, DEAD_NOTIFY_URL)
        sandbox.pay("BILL-A", buyer="zhaoliu@163.com")
        clock.advance(minutes=5)
        sandbox.pay("BILL-B")
        refund(client, "BILL-A", "10.00", "RA1")
        clock.advance(hours=15)  # 00:05 on the 27th: the next day's trades are not in the 26th's file
        sandbox.pay("BILL-C")
        refund(client, "BILL-B", "7.50", "RB1")

        assert bill_query(client, "2026-11-27")["sub_code"] == "isp.bill_not_exist"
        answer = bill_query(client, "2026-11-26")
        assert answer["code"] == "10000"
        clock.advance(seconds=29)
        download = requests.get(answer["bill_download_url"], timeout=5)
        assert download.status_code == 200
        check_bill(download)
        clock.advance(seconds=2)
        assert requests.get(answer["bill_download_url"], timeout=5).status_code == 404
    finally:
        sandbox.stop()


def check_bill(download) -> None:
    stem = f"{SELLER_ID}0156_20261126"
    assert f"filename={stem}.csv.zip" in download.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    assert archive.namelist() == [f"{stem}_业务明细.csv", f"{stem}_业务明细(汇总).csv"]
    detail = archive.read(f"{stem}_业务明细.csv").decode("gbk").splitlines()
    assert detail[:3] == ["#支付宝业务明细查询", f"#账号：[{SELLER_ID}0156]",
                          "#起始日期：[2026年11月26日 00:00:00]   终止日期：[2026年11月27日 00:00:00]"]
    assert detail[4].startswith("支付宝交易号,商户订单号,业务类型") and detail[4].endswith("分润（元）,备注")
    rows = [fields(line) for line in detail[5:8]]
    assert all(line.count("\t,") == 24 for line in detail[5:8])
    assert [(r[1], r[2], r[11], r[12], r[21], r[22]) for r in rows] == [
        ("BILL-A", "交易", "100.00", "100.00", "", "-0.60"),
        ("BILL-B", "交易", "7.50", "7.50", "", "-0.05"),  # 4.5 fen of fee rounds half-up to 5
        ("BILL-A", "退款", "-10.00", "-10.00", "RA1", "0.06"),
    ]
    assert rows[0][10] == "zha***@163.com" and rows[0][4].startswith("2026-11-26 09:00")
    assert detail[8].startswith("#-----") and detail[8].count("业务明细列表结束") == 1
    assert detail[9:11] == ["#交易合计：2笔，商家实收共107.50元，服务费共-0.65元",
                            "#退款合计：1笔，商家实收共-10.00元，服务费共0.06元"]
    assert detail[11] == "#导出时间：[2026年11月27日 00:05:29]"
    summary = archive.read(f"{stem}_业务明细(汇总).csv").decode("gbk").splitlines()
    total = next(fields(line) for line in summary if line.startswith("合计"))
    assert total == ["合计", "", "2", "1", "97.50", "97.50", "0.00", "0.00", "0.00", "-0.59", "0.00", "96.91"]
