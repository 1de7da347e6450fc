"""WeChat Pay API v3 through ``wechatpayv3``: the only module that imports it.

Both ways WeChat Pay signs are accepted at once, chosen by ``Wechatpay-Serial``: the WeChat Pay
public key (``PUB_KEY_ID_...``) and platform certificates (a folder of ``<SERIAL>.pem``), since
during a migration callbacks arrive signed with either.  Platform certificates rotate: in
certificate mode they are fetched again from ``/v3/certificates`` every 12 hours and early on an
unknown serial (rate-limited), so a rotation needs no restart.  The SDK leaves some checks to us, done
here before it sees anything: an unknown serial is refused (the SDK would go and download
certificates), ``WECHATPAY/SIGNTEST/`` probes are refused, and so is a timestamp more than five
minutes from our clock.  The statement's SHA1 is checked too (the SDK does not).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import requests
from cryptography import x509
from cryptography.exceptions import InvalidTag
from wechatpayv3 import WeChatPay, WeChatPayType
from wechatpayv3.utils import aes_decrypt

from billing.clock import Clock, to_beijing
from billing.errors import InvalidAmount
from billing.money import MAX_FEN, require_fen
from payments.errors import AlreadyPaid, GatewayConfigError, GatewayError, NotificationRejected
from payments.gateways.base import (
    CLOSED, FAILED, PAID, PENDING, REFUND_FAILED, REFUND_PROCESSING, REFUND_SUCCEEDED, REFUND_UNKNOWN, Answer,
    Checkout, Merchant, Notification, OrderRequest, PaymentReport, RefundReport, StatementLine, read_key_file,
)
from payments.statements import parse_wechat_tradebill

log = logging.getLogger(__name__)

CHANNEL = "wechat"
CERTIFICATE_REFRESH = timedelta(hours=12)  # certificate mode: fetch the platform certificates this often
UNKNOWN_SERIAL_REFRESH = timedelta(minutes=10)  # and at most this often because a serial is unknown
MAX_CLOCK_SKEW_SECONDS = 300
SIGNATURE_PROBE = "WECHATPAY/SIGNTEST/"
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # seconds; ASCII digits only (int() also takes "４００" and 4,000 digits)
TRADE_STATES = {"SUCCESS": PAID, "REFUND": PAID, "NOTPAY": PENDING, "USERPAYING": PENDING,
                "CLOSED": CLOSED, "REVOKED": CLOSED, "PAYERROR": FAILED}
REFUND_STATES = {"SUCCESS": REFUND_SUCCEEDED, "PROCESSING": REFUND_PROCESSING, "CLOSED": REFUND_FAILED,
                 "ABNORMAL": REFUND_FAILED}
SCENES = {"native": WeChatPayType.NATIVE, "h5": WeChatPayType.H5, "jsapi": WeChatPayType.JSAPI,
          "miniprogram": WeChatPayType.MINIPROG, "app": WeChatPayType.APP}


def _json_answer(status: int, code: str, message: str) -> Answer:
    body = json.dumps({"code": code, "message": message}, ensure_ascii=False).encode()
    return Answer(status, body, "application/json")


@dataclass(frozen=True)
class WeChatPayConfig:
    mchid: str
    appid: str
    apiv3_key: str
    merchant_key_file: Path
    merchant_serial: str
    notify_url: str
    gateway_url: str = "https://api.mch.weixin.qq.com"
    public_key_file: Path | None = None
    public_key_id: str | None = None
    cert_dir: Path | None = None
    timeout_seconds: float = 10.0


class WeChatPayGateway:
    channel = CHANNEL
    ack = Answer(204)
    reject = _json_answer(401, "FAIL", "签名验证失败")
    retry = _json_answer(500, "FAIL", "系统繁忙，请稍后重试")

    def __init__(self, config: WeChatPayConfig, *, clock: Clock) -> None:
        self.config, self.clock = config, clock
        self.merchant = Merchant(CHANNEL, config.appid, config.mchid)
        self._by_serial: dict[str, WeChatPay] = {}
        merchant_key = read_key_file(config.merchant_key_file, "WECHATPAY_MERCHANT_KEY_FILE", private=True)
        common = dict(
            wechatpay_type=WeChatPayType.NATIVE, mchid=config.mchid, private_key=merchant_key,
            cert_serial_no=config.merchant_serial, appid=config.appid, apiv3_key=config.apiv3_key,
            notify_url=config.notify_url, timeout=(5, config.timeout_seconds),
        )
        if config.public_key_file and config.public_key_id:
            public_key = read_key_file(config.public_key_file, "WECHATPAY_PUBLIC_KEY_FILE", private=False)
            client = WeChatPay(public_key=public_key, public_key_id=config.public_key_id, **common)
            self._by_serial[config.public_key_id] = client
        self._cert_client = None  # the certificate-mode client, whose platform certificates we refresh
        if config.cert_dir:
            serials = _certificate_serials(config.cert_dir)
            self._cert_client = WeChatPay(cert_dir=str(config.cert_dir), **common)
            self._by_serial.update(dict.fromkeys(serials, self._cert_client))
            self._loaded_at, self._fetched_at, self._refreshing = clock(), None, threading.Lock()
        if not self._by_serial:
            raise GatewayConfigError("WECHATPAY_PUBLIC_KEY_FILE", "set the WeChat Pay public key, a certificate folder, or both")
        # Requests go through the public-key client when there is one (new merchants); both verify.
        self._client = self._by_serial.get(config.public_key_id or "") or next(iter(self._by_serial.values()))
        for client in set(self._by_serial.values()):
            client._core._gate_way = config.gateway_url.rstrip("/")  # the SDK has no option for this

    # --- requests -------------------------------------------------------------------------

    def _call(self, method, *args, **kwargs) -> tuple[int, dict | bytes]:
        try:
            status, content = method(*args, **kwargs)
        except requests.RequestException as error:
            raise GatewayError(CHANNEL, "NETWORK", str(error)) from None
        except Exception as error:  # the SDK raises bare Exception for a bad response signature
            raise GatewayError(CHANNEL, "SDK", str(error)) from None
        if status >= 400:
            data = _json_or_empty(content)
            raise GatewayError(CHANNEL, data.get("code", str(status)), data.get("message", "") or str(content)[:200])
        if isinstance(content, bytes) or not content:
            return status, content
        return status, json.loads(content)

    def create(self, order: OrderRequest, scene: str, *, payer_id: str | None = None, client_ip: str | None = None,
               return_url: str | None = None) -> Checkout:
        kwargs = dict(
            description=order.description, out_trade_no=order.out_trade_no,
            amount={"total": order.amount_fen, "currency": "CNY"}, time_expire=_rfc3339(order.expires_at),
            pay_type=SCENES[scene],
        )
        if scene in ("jsapi", "miniprogram"):
            kwargs["payer"] = {"openid": payer_id}
        if scene == "h5":
            kwargs["scene_info"] = {"payer_client_ip": client_ip or "127.0.0.1", "h5_info": {"type": "Wap"}}
        _, data = self._call(self._client.pay, **kwargs)
        if scene == "native":
            return Checkout("qr", url=data["code_url"])
        if scene == "h5":
            url = data["h5_url"]
            if return_url:
                url += ("&" if "?" in url else "?") + "redirect_url=" + quote(return_url, safe="")
            return Checkout("redirect", url=url)
        return Checkout("jsapi", params=self._jsapi_params(data["prepay_id"]))

    def _jsapi_params(self, prepay_id: str) -> dict[str, str]:
        """What wx.requestPayment / WeixinJSBridge needs, signed with the merchant key."""
        timestamp, nonce, package = str(int(self.clock().timestamp())), secrets.token_hex(16), f"prepay_id={prepay_id}"
        signature = self._client.sign([self.config.appid, timestamp, nonce, package])
        return {"appId": self.config.appid, "timeStamp": timestamp, "nonceStr": nonce, "package": package,
                "signType": "RSA", "paySign": signature}

    def query(self, out_trade_no: str) -> PaymentReport:
        try:
            _, data = self._call(self._client.query, out_trade_no=out_trade_no)
        except GatewayError as error:
            if error.channel_code == "ORDER_NOT_EXIST":
                return PaymentReport(CHANNEL, out_trade_no, PENDING, 0, self.config.appid, self.config.mchid)
            raise
        return _from_answer(self._payment, data, "query")

    def close(self, out_trade_no: str) -> None:
        try:
            self._call(self._client.close, out_trade_no=out_trade_no)
        except GatewayError as error:
            if error.channel_code == "ORDERPAID":
                raise AlreadyPaid(CHANNEL, error.channel_code, str(error)) from None
            if error.channel_code != "ORDER_NOT_EXIST":
                raise

    def refund(self, refund_no: str, *, out_trade_no: str, channel_txn_id: str, amount_fen: int, total_fen: int,
               reason: str) -> RefundReport:
        _, data = self._call(
            self._client.refund, out_refund_no=refund_no, transaction_id=channel_txn_id, reason=reason[:80],
            amount={"refund": amount_fen, "total": total_fen, "currency": "CNY"},
        )
        return _from_answer(self._refund, data)

    def query_refund(self, refund_no: str, *, out_trade_no: str) -> RefundReport:
        try:
            _, data = self._call(self._client.query_refund, out_refund_no=refund_no)
        except GatewayError as error:
            if error.channel_code == "RESOURCE_NOT_EXISTS":
                return RefundReport(CHANNEL, refund_no, REFUND_UNKNOWN, out_trade_no=out_trade_no)
            raise
        return _from_answer(self._refund, data)

    def statement(self, day: date) -> list[StatementLine]:
        raw = self.statement_file(day)
        return [] if raw is None else parse_wechat_tradebill(raw)

    def statement_file(self, day: date) -> bytes | None:
        try:
            _, bill = self._call(self._client.trade_bill, bill_date=day.isoformat(), bill_type="ALL", tar_type="GZIP")
        except GatewayError as error:
            if error.channel_code == "NO_STATEMENT_EXIST":
                return None
            raise
        _, zipped = self._call(self._client.download_bill, bill["download_url"])
        try:
            raw = gzip.decompress(zipped)
        except (OSError, EOFError):
            raise GatewayError(CHANNEL, "BAD_DOWNLOAD", f"statement for {day} is not a gzip file") from None
        if hashlib.sha1(raw).hexdigest() != bill["hash_value"].lower():
            raise GatewayError(CHANNEL, "HASH_MISMATCH", f"statement for {day} does not match its SHA1")
        return raw

    # --- notifications --------------------------------------------------------------------

    def parse_notification(self, headers: dict[str, str], body: bytes, *, now: datetime) -> Notification:
        found = {key.lower(): value for key, value in headers.items()}
        signature, serial = found.get("wechatpay-signature", ""), found.get("wechatpay-serial", "")
        if signature.startswith(SIGNATURE_PROBE):
            raise NotificationRejected("WeChat Pay signature probe (WECHATPAY/SIGNTEST)")
        client = self._client_for(serial, now)
        if client is None:
            raise NotificationRejected(f"unknown Wechatpay-Serial {serial!r}")
        timestamp = found.get("wechatpay-timestamp", "")
        if not _TIMESTAMP.fullmatch(timestamp) or abs(now.timestamp() - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS:
            raise NotificationRejected(f"Wechatpay-Timestamp {timestamp[:40]!r} is more than 5 minutes from now")
        canonical = {name: found.get(name.lower(), "") for name in (
            "Wechatpay-Signature", "Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Serial", "Wechatpay-Signature-Type")}
        try:
            data = client.callback(canonical, body)
        except Exception as error:  # malformed JSON or an algorithm the SDK does not know
            raise NotificationRejected(f"malformed notification: {error}") from None
        if not data:
            raise NotificationRejected("signature does not verify or the resource does not decrypt")
        try:
            return self._notification(data)
        except Malformed as error:  # signed by WeChat Pay, yet not what the protocol says it sends
            raise NotificationRejected(f"malformed notification: {error}") from None

    def _client_for(self, serial: str, now: datetime) -> WeChatPay | None:
        """The client that verifies ``serial``.  In certificate mode the platform certificates are
        fetched again when due, and early for a serial we do not know, but not more than once per
        ``UNKNOWN_SERIAL_REFRESH``: forged serials must not make us call WeChat on every request."""
        client = self._by_serial.get(serial.upper()) or self._by_serial.get(serial)
        if self._cert_client is not None and self._refresh_due(now, unknown=client is None):
            self.refresh_certificates(now)
            client = self._by_serial.get(serial.upper()) or self._by_serial.get(serial)
        return client

    def _refresh_due(self, now: datetime, *, unknown: bool) -> bool:
        if now - (self._fetched_at or self._loaded_at) >= CERTIFICATE_REFRESH:
            return True
        return unknown and (self._fetched_at is None or now - self._fetched_at >= UNKNOWN_SERIAL_REFRESH)

    def refresh_certificates(self, now: datetime) -> list[str]:
        """Fetch ``/v3/certificates`` and trust the certificates we did not have (each written to the
        folder too, so a restart knows it).  A failure keeps what we had.  Returns the new serials."""
        if self._cert_client is None or not self._refreshing.acquire(blocking=False):
            return []  # not in certificate mode, or another thread is at it
        try:
            self._fetched_at = now
            _, answer = self._call(self._cert_client._core.request, "/v3/certificates", skip_verify=True)
            return [serial for serial in map(self._trust, answer.get("data", [])) if serial]
        except GatewayError as error:
            log.warning("WeChat Pay platform certificates not refreshed: %s", error)
            return []
        finally:
            self._refreshing.release()

    def _trust(self, entry: dict) -> str | None:
        """One published certificate: it must decrypt under our APIv3 key (only WeChat Pay knows it)."""
        sealed = entry.get("encrypt_certificate") or {}
        try:
            pem = aes_decrypt(nonce=sealed["nonce"], ciphertext=sealed["ciphertext"],
                              associated_data=sealed.get("associated_data", ""), apiv3_key=self.config.apiv3_key)
            certificate = x509.load_pem_x509_certificate(pem.encode())
        except (KeyError, TypeError, ValueError, InvalidTag):
            log.warning("WeChat Pay platform certificate %r does not decrypt: ignored", entry.get("serial_no"))
            return None
        serial = f"{certificate.serial_number:X}"
        if serial in self._by_serial:
            return None
        self._cert_client._core._certificates.append(certificate)  # the SDK verifies from this list
        self._by_serial[serial] = self._cert_client
        try:
            (Path(self.config.cert_dir) / f"{serial}.pem").write_text(pem)
        except OSError as error:
            log.warning("WeChat Pay platform certificate %s not saved: %s", serial, error)
        return serial

    def _notification(self, data: dict) -> Notification:
        event, resource = _text(data, "event_type", 64), data.get("resource")
        if event == "TRANSACTION.SUCCESS":
            return Notification(payment=self._payment(resource, "notify"))
        if event.startswith("REFUND."):
            return Notification(refund=self._refund(resource))
        raise Malformed(f"unexpected event_type {event!r}")

    def _payment(self, data: dict, source: str) -> PaymentReport:
        """A transaction as WeChat Pay describes it, every field checked against the protocol's types
        and lengths (our columns hold what the protocol allows, no more)."""
        _require_object(data)
        success_time = _text(data, "success_time", 40, required=False)
        status = TRADE_STATES.get(_text(data, "trade_state", 32, required=False), PENDING)
        return PaymentReport(
            channel=CHANNEL, out_trade_no=_text(data, "out_trade_no", 32), status=status,
            amount_fen=_fen(data, "amount", "total"), app_id=_text(data, "appid", 32, required=False),
            merchant_id=_text(data, "mchid", 32, required=False),
            channel_txn_id=_text(data, "transaction_id", 32, required=status == PAID) or None,
            payer=_text(_object(data, "payer"), "openid", 128, required=False),
            paid_at=_instant(success_time) if success_time else None, source=source,
        )

    def _refund(self, data: dict) -> RefundReport:
        _require_object(data)
        status = _text(data, "status", 32, required=False) or _text(data, "refund_status", 32, required=False)
        return RefundReport(
            channel=CHANNEL, refund_no=_text(data, "out_refund_no", 64),
            status=REFUND_STATES.get(status, REFUND_PROCESSING), amount_fen=_fen(data, "amount", "refund"),
            channel_refund_id=_text(data, "refund_id", 64, required=False),
            out_trade_no=_text(data, "out_trade_no", 32, required=False),
        )


class Malformed(ValueError):
    """A field of a signed WeChat Pay message is missing, of the wrong type, or out of range."""


def _from_answer(parse, *args):
    """An answer to our own request that does not parse is the channel's failure, like a 5xx."""
    try:
        return parse(*args)
    except Malformed as error:
        raise GatewayError(CHANNEL, "MALFORMED", str(error)) from None


def _require_object(data: object) -> None:
    if not isinstance(data, dict):
        raise Malformed(f"expected an object, got {type(data).__name__}")


def _object(data: dict, key: str) -> dict:
    """An optional nested object."""
    value = data.get(key, {})
    _require_object(value)
    return value


def _text(data: object, key: str, limit: int, *, required: bool = True) -> str:
    value = data.get(key) if isinstance(data, dict) else None
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value or len(value) > limit:
        raise Malformed(f"{key} must be a string of 1 to {limit} characters")
    return value


def _fen(data: object, *path: str) -> int:
    value = data
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    try:
        fen = require_fen(value, ".".join(path))
    except InvalidAmount as error:
        raise Malformed(str(error)) from None
    if not 0 < fen <= MAX_FEN:
        raise Malformed(f"{'.'.join(path)} must be a positive number of fen, got {fen}")
    return fen


def _instant(text: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise Malformed(f"{text!r} is not an RFC 3339 time") from None
    if instant.tzinfo is None:
        raise Malformed(f"{text!r} has no UTC offset")
    return instant


def _json_or_empty(content: str | bytes) -> dict:
    try:
        data = json.loads(content)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _rfc3339(instant: datetime) -> str:
    return to_beijing(instant).isoformat(timespec="seconds")


def _certificate_serials(folder: Path) -> list[str]:
    pems = sorted(Path(folder).glob("*.pem"))
    if not pems:
        # The SDK would otherwise fetch certificates from the real gateway while being constructed.
        raise GatewayConfigError("WECHATPAY_CERT_DIR", f"{folder} holds no platform certificate (<SERIAL>.pem)")
    return [f"{_certificate(pem).serial_number:X}" for pem in pems]


def _certificate(pem: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem.read_bytes())
    except (OSError, ValueError):
        raise GatewayConfigError("WECHATPAY_CERT_DIR", f"{pem} is not a readable PEM certificate") from None
