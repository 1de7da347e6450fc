"""The WeChat Pay API v3 wire protocol, the gateway's side of it, with real keys.

Requests carry a ``WECHATPAY2-SHA256-RSA2048`` Authorization that is verified against the merchant
certificate; answers and notifications are signed (with the WeChat Pay public key or the platform
certificate); notification resources, and the platform certificate itself, travel sealed with
AES-256-GCM under the APIv3 key. Request bodies are read, and records rendered into the JSON that
answers and notifications carry, here too. It works with ``cryptography`` directly and never
imports the SDK. The forgeries that break the signature or the sealed amount are made here; those a correct
signature still covers need the gateway's records and are made in ``wechatpay``.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
import uuid
from functools import cache

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from werkzeug.wrappers import Request, Response

from billing.clock import to_beijing
from payments.sandbox.delivery import Delivery
from payments.sandbox.keys import WeChatKeys, certificate_pem, new_private_key

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
PROBE_PREFIX = "WECHATPAY/SIGNTEST/"
REQUEST_SKEW_SECONDS = 300
AUTH_FIELD = re.compile(r'(\w+)="([^"]*)"')
JSON = "application/json; charset=utf-8"
STATE_DESC = {"SUCCESS": "支付成功", "REFUND": "转入退款", "NOTPAY": "订单未支付", "CLOSED": "订单已关闭", "PAYERROR": "支付失败"}


class Refusal(Exception):
    """An error answer: HTTP status plus WeChat's ``{"code", "message"}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message = status, code, message


def rfc3339(instant) -> str:
    return to_beijing(instant).isoformat(timespec="seconds")


def rsa_sign(private_key, text: str) -> str:
    return base64.b64encode(private_key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


@cache
def _throwaway_key():
    """A key nobody registered: forged notifications are signed with it."""
    return new_private_key()


def _load_private(path):
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def _amount_raised(resource: dict) -> dict:
    """The amount that matters (the refund, on a refund) raised by one yuan."""
    amount = resource["amount"]
    changed = "refund" if "refund" in amount else "total"
    amount[changed] += 100
    amount[f"payer_{changed}"] += 100
    return resource


# --- reading requests ------------------------------------------------------------------------

def require(condition, message: str) -> None:
    if not condition:
        raise Refusal(400, "PARAM_ERROR", message)


def field_at(data, *path):
    for name in path:
        data = data.get(name) if isinstance(data, dict) else None
    return data


def is_positive_fen(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def json_body(request: Request) -> dict:
    try:
        body = json.loads(request.get_data())
    except ValueError:
        body = None
    require(isinstance(body, dict), "请求体不是合法的JSON对象")
    return body


# --- what answers and notifications say about the records ------------------------------------

def trade_view(order: dict, txn: dict | None) -> dict:
    """The transaction as the query answers it and the notification carries it."""
    state = txn["trade_state"] if txn else order["trade_state"]
    view = {"appid": order["appid"], "mchid": order["mchid"], "out_trade_no": order["out_trade_no"],
            "trade_type": order["trade_type"], "trade_state": state, "trade_state_desc": STATE_DESC[state],
            "attach": order["attach"],
            "amount": {"total": order["total"], "currency": "CNY", "payer_currency": "CNY"}}
    if txn:
        view |= {"transaction_id": txn["transaction_id"], "bank_type": "OTHERS",
                 "success_time": rfc3339(txn["success_time"]), "payer": {"openid": txn["openid"]}}
        view["amount"]["payer_total"] = order["total"]
    return view


def refund_view(refund: dict) -> dict:
    view = {k: refund[k] for k in ("refund_id", "out_refund_no", "transaction_id", "out_trade_no", "status")}
    view |= {"channel": "ORIGINAL", "user_received_account": "支付用户零钱", "funds_account": "AVAILABLE",
             "create_time": rfc3339(refund["create_time"]),
             "amount": {"total": refund["total"], "refund": refund["refund"], "payer_total": refund["total"],
                        "payer_refund": refund["refund"], "currency": "CNY"}}
    if refund["success_time"]:
        view["success_time"] = rfc3339(refund["success_time"])
    return view


def refund_resource(refund: dict) -> dict:
    """What a refund notification carries: less than the query answers, and no currency."""
    resource = {k: refund[k] for k in ("mchid", "out_trade_no", "transaction_id", "out_refund_no", "refund_id")}
    resource |= {"refund_status": refund["status"], "user_received_account": "支付用户零钱",
                 "amount": {k: v for k, v in refund_view(refund)["amount"].items() if k != "currency"}}
    if refund["success_time"]:
        resource["success_time"] = rfc3339(refund["success_time"])
    return resource


# --- the keys and what is done with them -----------------------------------------------------

class Keyring:
    """The gateway's keys, loaded once: it verifies merchant requests, signs answers and
    notifications, and seals what travels encrypted."""

    def __init__(self, keys: WeChatKeys) -> None:
        self.keys = keys
        self._apiv3_key = keys.apiv3_key.encode()
        self._merchant_key = x509.load_pem_x509_certificate(keys.merchant_certificate.read_bytes()).public_key()
        self._signers = {"public_key": (_load_private(keys.platform_private_key), keys.public_key_id),
                         "certificate": (_load_private(keys.platform_cert_private_key), keys.platform_serial)}
        # Published platform certificates, oldest first; rotation adds one in memory only.
        self._certificates = [(keys.platform_serial, (keys.platform_cert_dir / f"{keys.platform_serial}.pem").read_text())]

    def rotate_certificate(self) -> str:
        """A new platform certificate signs from now on; the old one stays published (both are valid,
        as during WeChat's own rotation).  Returns the new serial."""
        key = new_private_key()
        pem, serial = certificate_pem(key, "Tenpay.com Root CA (sandbox)")
        self._certificates.append((serial, pem))
        self._signers["certificate"] = (key, serial)
        return serial

    def verify_request(self, request: Request, mchid: str) -> None:
        scheme, _, rest = request.headers.get("Authorization", "").partition(" ")
        auth = dict(AUTH_FIELD.findall(rest))
        known = (SIGNATURE_TYPE, mchid, self.keys.merchant_serial)
        if (scheme, auth.get("mchid"), auth.get("serial_no")) != known:
            raise Refusal(401, "SIGN_ERROR", "Authorization缺失或商户号、证书序列号不正确")
        stamp = auth.get("timestamp", "")
        # The SDK stamps real time whatever clock the sandbox runs on, so check against real time.
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > REQUEST_SKEW_SECONDS:
            raise Refusal(401, "SIGN_ERROR", "请求时间戳与当前时间相差超过5分钟")
        target = request.environ.get("RAW_URI") or request.full_path.rstrip("?")
        nonce, body = auth.get("nonce_str", ""), request.get_data(as_text=True)
        message = f"{request.method}\n{target}\n{stamp}\n{nonce}\n{body}\n"
        try:
            self._merchant_key.verify(base64.b64decode(auth.get("signature", "")), message.encode(),
                                      padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            raise Refusal(401, "SIGN_ERROR", "签名错误") from None

    def verify_pay_sign(self, fields: list[str], signature: str) -> bool:
        """A JSAPI ``paySign``: the merchant's SHA256withRSA over each field and a newline."""
        try:
            self._merchant_key.verify(base64.b64decode(signature), "".join(f"{f}\n" for f in fields).encode(),
                                      padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return False
        return True

    def signed_answer(self, request: Request, status: int, payload: dict | None, clock) -> Response:
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        # The SDK in public-key mode always names the key it trusts; certificate mode sends nothing.
        mode = "public_key" if request.headers.get("Wechatpay-Serial") == self.keys.public_key_id else "certificate"
        headers = self.signature_headers(body, mode, clock)
        return Response(body, status, headers, content_type=JSON if payload is not None else None)

    def signed_notification(self, url: str, event_type: str, summary: str, original_type: str, resource: dict,
                            sign_with: str, clock, forge: str | None) -> Delivery:
        envelope = {"id": str(uuid.uuid4()), "create_time": rfc3339(clock()), "resource_type": "encrypt-resource",
                    "event_type": event_type, "summary": summary,
                    "resource": self.encrypted_resource(original_type, resource)}
        body = signed = json.dumps(envelope, ensure_ascii=False).encode()
        if forge == "tampered_amount":  # re-encrypted after signing: the signature covers the original
            envelope["resource"] = self.encrypted_resource(original_type, _amount_raised(resource))
            body = json.dumps(envelope, ensure_ascii=False).encode()

        def signed_now() -> Delivery:  # the same envelope, signed when it is sent (each retry anew)
            headers = {"Content-Type": "application/json", **self.signature_headers(signed, sign_with, clock, forge)}
            return Delivery(url, headers, body, resign=signed_now)

        return signed_now()

    def signature_headers(self, signed_body: bytes, sign_with: str, clock, forge: str | None = None) -> dict[str, str]:
        key, serial = self._signers[sign_with]
        if forge in ("wrong_key", "unknown_serial"):
            key = _throwaway_key()
        if forge == "unknown_serial":
            serial = secrets.token_hex(20).upper()
        stamp = int(clock().timestamp()) - (600 if forge == "stale_timestamp" else 0)
        nonce = secrets.token_hex(16).upper()
        signature = rsa_sign(key, f"{stamp}\n{nonce}\n{signed_body.decode()}\n")
        if forge == "bad_signature":
            raw = bytearray(base64.b64decode(signature))
            raw[-1] ^= 0x01
            signature = base64.b64encode(bytes(raw)).decode()
        if forge == "signtest":
            signature = PROBE_PREFIX + signature
        return {"Wechatpay-Timestamp": str(stamp), "Wechatpay-Nonce": nonce, "Wechatpay-Signature": signature,
                "Wechatpay-Serial": serial, "Wechatpay-Signature-Type": SIGNATURE_TYPE}

    def platform_certificates(self) -> dict:
        """The ``/v3/certificates`` answer: each platform certificate sealed under the APIv3 key."""
        return {"data": [self._published(serial, pem) for serial, pem in self._certificates]}

    def _published(self, serial: str, pem: str) -> dict:
        cert = x509.load_pem_x509_certificate(pem.encode())
        return {"serial_no": serial, "effective_time": rfc3339(cert.not_valid_before_utc),
                "expire_time": rfc3339(cert.not_valid_after_utc), "encrypt_certificate": self.seal("certificate", pem)}

    def encrypted_resource(self, original_type: str, resource: dict) -> dict[str, str]:
        return {"original_type": original_type, **self.seal(original_type, json.dumps(resource, ensure_ascii=False))}

    def seal(self, associated_data: str, plaintext: str) -> dict[str, str]:
        nonce = secrets.token_hex(6)  # 12 ASCII characters: the SDK uses the text itself as the GCM nonce
        ciphertext = AESGCM(self._apiv3_key).encrypt(nonce.encode(), plaintext.encode(), associated_data.encode())
        return {"algorithm": "AEAD_AES_256_GCM", "ciphertext": base64.b64encode(ciphertext).decode(),
                "associated_data": associated_data, "nonce": nonce}
