"""Alipay (open platform, RSA2) through ``python-alipay-sdk``: the only module that imports it.

What the SDK leaves to us: business errors come back as ordinary answers (``code == "10000"`` is
checked on every call); amounts are exact two-decimal yuan strings made from fen (never floats);
the request timestamp must be Beijing time whatever the server's zone (``_BeijingAliPay``); every
refund carries ``out_request_no`` (without it a second partial refund counts as a retry).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from urllib.error import URLError
from urllib.parse import parse_qsl

import requests
from alipay import AliPay
from alipay.exceptions import AliPayException

from billing.clock import Clock, from_beijing, to_beijing
from billing.errors import InvalidAmount
from billing.money import format_yuan, parse_yuan
from payments.errors import AlreadyPaid, GatewayError, NotificationRejected
from payments.gateways.base import (
    CLOSED, PAID, PENDING, REFUND_PROCESSING, REFUND_SUCCEEDED, REFUND_UNKNOWN, Answer, Checkout, Merchant,
    Notification, OrderRequest, PaymentReport, RefundReport, StatementLine, read_key_file,
)
from payments.statements import parse_alipay_bill

CHANNEL = "alipay"
OK = "10000"
TRADE_STATES = {"TRADE_SUCCESS": PAID, "TRADE_FINISHED": PAID, "WAIT_BUYER_PAY": PENDING, "TRADE_CLOSED": CLOSED}
BROWSER_METHODS = {"wap": "api_alipay_trade_wap_pay", "page": "api_alipay_trade_page_pay"}


@dataclass(frozen=True)
class AlipayConfig:
    app_id: str
    seller_id: str
    app_private_key_file: Path
    alipay_public_key_file: Path
    notify_url: str
    gateway_url: str = "https://openapi.alipay.com/gateway.do"
    timeout_seconds: float = 10.0


class _BeijingAliPay(AliPay):
    """The SDK stamps requests with the server's local time; Alipay wants Beijing time."""

    def __init__(self, *args, clock: Clock, **kwargs) -> None:
        self._clock = clock
        super().__init__(*args, **kwargs)

    def build_body(self, *args, **kwargs):
        data = super().build_body(*args, **kwargs)
        data["timestamp"] = to_beijing(self._clock()).strftime("%Y-%m-%d %H:%M:%S")
        return data


class AlipayGateway:
    channel = CHANNEL
    ack = Answer(200, b"success")  # exactly these 7 bytes, nothing else
    reject = Answer(200, b"fail")
    retry = Answer(500, b"fail")

    def __init__(self, config: AlipayConfig, *, clock: Clock) -> None:
        self.config, self.clock = config, clock
        self.merchant = Merchant(CHANNEL, config.app_id, config.seller_id)
        app_key = read_key_file(config.app_private_key_file, "ALIPAY_APP_KEY_FILE", private=True)
        alipay_key = read_key_file(config.alipay_public_key_file, "ALIPAY_PUBLIC_KEY_FILE", private=False)
        self._client = _BeijingAliPay(
            appid=config.app_id, app_notify_url=config.notify_url, sign_type="RSA2", clock=clock,
            app_private_key_string=app_key, alipay_public_key_string=alipay_key,
        )
        self._client._gateway = config.gateway_url  # the SDK has no option for this
        self._client._config.timeout = config.timeout_seconds

    def _call(self, method_name: str, *args, **kwargs) -> dict:
        """Call the SDK; a business failure raises GatewayError with Alipay's sub_code."""
        try:
            answer = getattr(self._client, method_name)(*args, **kwargs)
        except (URLError, OSError) as error:
            raise GatewayError(CHANNEL, "NETWORK", str(error)) from None
        except AliPayException as error:
            raise GatewayError(CHANNEL, "SIGN", str(error)) from None
        if answer.get("code") != OK:
            raise GatewayError(CHANNEL, answer.get("sub_code") or answer.get("code", "?"), answer.get("sub_msg", ""))
        return answer

    def create(self, order: OrderRequest, scene: str, *, payer_id: str | None = None, client_ip: str | None = None,
               return_url: str | None = None) -> Checkout:
        fields = dict(subject=order.description, out_trade_no=order.out_trade_no,
                      total_amount=format_yuan(order.amount_fen), time_expire=_beijing(order.expires_at))
        if scene == "precreate":
            return Checkout("qr", url=self._call("api_alipay_trade_precreate", **fields)["qr_code"])
        query = getattr(self._client, BROWSER_METHODS[scene])(return_url=return_url, **fields)
        return Checkout("redirect", url=f"{self.config.gateway_url}?{query}")

    def query(self, out_trade_no: str) -> PaymentReport:
        try:
            answer = self._call("api_alipay_trade_query", out_trade_no=out_trade_no)
        except GatewayError as error:
            if error.channel_code == "ACQ.TRADE_NOT_EXIST":  # the payer never opened the cashier
                return PaymentReport(CHANNEL, out_trade_no, PENDING, 0, self.config.app_id, self.config.seller_id)
            raise
        # The answer to our own signed query does not repeat app id and seller: they are ours.
        return PaymentReport(
            channel=CHANNEL, out_trade_no=answer["out_trade_no"], status=TRADE_STATES.get(answer["trade_status"], PENDING),
            amount_fen=parse_yuan(answer["total_amount"]), app_id=self.config.app_id, merchant_id=self.config.seller_id,
            channel_txn_id=answer.get("trade_no"), payer=answer.get("buyer_user_id", ""),
            paid_at=_from_beijing(answer.get("send_pay_date")), source="query",
        )

    def close(self, out_trade_no: str) -> None:
        try:
            self._call("api_alipay_trade_close", out_trade_no=out_trade_no)
        except GatewayError as error:
            if error.channel_code == "ACQ.TRADE_STATUS_ERROR":
                raise AlreadyPaid(CHANNEL, error.channel_code, str(error)) from None
            if error.channel_code != "ACQ.TRADE_NOT_EXIST":
                raise

    def refund(self, refund_no: str, *, out_trade_no: str, channel_txn_id: str, amount_fen: int, total_fen: int,
               reason: str) -> RefundReport:
        self._call("api_alipay_trade_refund", refund_amount=format_yuan(amount_fen), trade_no=channel_txn_id,
                   out_request_no=refund_no, refund_reason=reason[:80])
        # Acceptance is not success: the refund query confirms it.
        return RefundReport(CHANNEL, refund_no, REFUND_PROCESSING, amount_fen, out_trade_no=out_trade_no)

    def query_refund(self, refund_no: str, *, out_trade_no: str) -> RefundReport:
        answer = self._call("api_alipay_trade_fastpay_refund_query", out_request_no=refund_no, out_trade_no=out_trade_no)
        if "refund_amount" not in answer:
            return RefundReport(CHANNEL, refund_no, REFUND_UNKNOWN, out_trade_no=out_trade_no)
        status = REFUND_SUCCEEDED if answer.get("refund_status", "REFUND_SUCCESS") == "REFUND_SUCCESS" else REFUND_PROCESSING
        return RefundReport(CHANNEL, refund_no, status, parse_yuan(answer["refund_amount"]), out_trade_no=out_trade_no)

    def statement(self, day: date) -> list[StatementLine]:
        zipped = self.statement_file(day)
        return [] if zipped is None else parse_alipay_bill(zipped)

    def statement_file(self, day: date) -> bytes | None:
        try:
            answer = self._call("server_api", "alipay.data.dataservice.bill.downloadurl.query",
                                {"bill_type": "trade", "bill_date": day.isoformat()})
        except GatewayError as error:
            if error.channel_code == "isp.bill_not_exist":
                return None
            raise
        try:  # the URL is valid for 30 seconds: fetch it at once
            response = requests.get(answer["bill_download_url"], timeout=self.config.timeout_seconds)
            response.raise_for_status()
        except requests.RequestException as error:
            raise GatewayError(CHANNEL, "NETWORK", str(error)) from None
        return response.content

    def parse_notification(self, headers: dict[str, str], body: bytes, *, now: datetime) -> Notification:
        try:
            form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError):
            raise NotificationRejected("not a form-encoded UTF-8 notification") from None
        signature = form.pop("sign", "")
        try:
            verified = bool(signature) and self._client.verify(dict(form), signature)
        except (AliPayException, ValueError, TypeError):
            verified = False
        if not verified:
            raise NotificationRejected("signature does not verify")
        try:
            return self._notification(form)
        except (KeyError, InvalidAmount, ValueError) as error:
            raise NotificationRejected(f"malformed notification: {error}") from None

    def _notification(self, form: dict[str, str]) -> Notification:
        """Fields as the protocol sends them: ids of at most 64 characters (our columns hold no
        more), a positive amount."""
        if form.get("refund_fee") and form.get("out_biz_no"):
            return Notification(refund=RefundReport(CHANNEL, _id(form, "out_biz_no"), REFUND_SUCCEEDED,
                                                    out_trade_no=_id(form, "out_trade_no")))
        amount = parse_yuan(form["total_amount"], "total_amount")
        if amount <= 0:
            raise ValueError(f"total_amount must be positive, got {form['total_amount']!r}")
        return Notification(payment=PaymentReport(
            channel=CHANNEL, out_trade_no=_id(form, "out_trade_no"), status=TRADE_STATES.get(form["trade_status"], PENDING),
            amount_fen=amount, app_id=form.get("app_id", ""), merchant_id=form.get("seller_id", ""),
            channel_txn_id=_id(form, "trade_no"), payer=form.get("buyer_id", ""),
            paid_at=_from_beijing(form.get("gmt_payment")), source="notify",
        ))


def _id(form: dict[str, str], key: str) -> str:
    value = form[key]
    if not 0 < len(value) <= 64:
        raise ValueError(f"{key} must be 1 to 64 characters")
    return value


def _beijing(instant: datetime) -> str:
    return to_beijing(instant).strftime("%Y-%m-%d %H:%M:%S")


def _from_beijing(text: str | None) -> datetime | None:
    return from_beijing(datetime.strptime(text, "%Y-%m-%d %H:%M:%S")) if text else None
