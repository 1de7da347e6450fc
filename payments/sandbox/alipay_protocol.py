"""The Alipay open-platform wire protocol, the gateway's side of it, with real RSA2 keys.

Requests, answers, notifications and return parameters are all signed over Alipay's signing
string with RSA2 (SHA256withRSA). Before dispatching a request the gateway checks what the real one
checks (method, app id, charset, sign type, signature, a Beijing-time timestamp), and the request's
biz_content is read as the real one reads it (two-decimal yuan amounts), so merchant mistakes fail
here before they fail in production. It signs and verifies with ``cryptography`` and never imports
the SDK. The forgeries that break the signature or the signed amount are made here; those a correct
signature still covers need the gateway's records and are made in ``alipay``.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from werkzeug.wrappers import Response

from billing.clock import from_beijing, to_beijing
from billing.errors import InvalidAmount
from billing.money import format_yuan, parse_yuan
from payments.sandbox.keys import new_private_key

TIMESTAMP_TOLERANCE = timedelta(minutes=15)
MAX_AMOUNT_FEN = 100_000_000 * 100
# Notifications and return parameters are signed without these; requests are signed with sign_type.
UNSIGNED = ("sign", "sign_type")


class Refusal(ValueError):
    """A signed failure answer: a business failure (40004) or, with ``gateway``, a request the
    gateway would not even dispatch (answered as ``error_response``)."""

    def __init__(self, sub_code: str, sub_msg: str, *, code: str = "40004", msg: str = "Business Failed",
                 gateway: bool = False) -> None:
        super().__init__(f"{sub_code}: {sub_msg}")
        self.answer = {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg}
        self.gateway = gateway


def beijing_text(instant: datetime) -> str:
    return to_beijing(instant).strftime("%Y-%m-%d %H:%M:%S")


# --- signatures ------------------------------------------------------------------------------

def content_to_sign(params: dict[str, str], skip: tuple[str, ...]) -> str:
    """Alipay's signing string: sorted ``k=v`` joined by ``&``, empty values left out."""
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in skip and v != "")


def rsa2_sign(private_key, text: str) -> str:
    return base64.b64encode(private_key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa2_verify(public_key, text: str, signature: str) -> bool:
    try:
        public_key.verify(base64.b64decode(signature), text.encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def sign_params(params: dict[str, str], private_key) -> dict[str, str]:
    """Add ``sign`` over everything but itself and ``sign_type``, as notifications and returns are signed."""
    params["sign"] = rsa2_sign(private_key, content_to_sign(params, UNSIGNED))
    return params


def sign_notification(params: dict[str, str], private_key, forge: str | None, amount_fen: int) -> dict[str, str]:
    """Sign the notification, then spoil it as ``forge`` asks: the merchant must refuse these."""
    sign_params(params, new_private_key() if forge == "wrong_key" else private_key)
    if forge == "bad_signature":
        raw = bytearray(base64.b64decode(params["sign"]))
        raw[-1] ^= 0x01
        params["sign"] = base64.b64encode(bytes(raw)).decode()
    if forge == "tampered_amount":
        params["total_amount"] = format_yuan(amount_fen + 100)
    return params


def signed_json(key: str, inner: dict, private_key) -> Response:
    """The answer object is serialised once and signed as that exact text, which is what the
    SDK cuts back out (by brace matching) to verify."""
    if key != "error_response":
        key = key.replace(".", "_") + "_response"
    text = json.dumps(inner, ensure_ascii=False, separators=(",", ":"))
    body = f'{{{json.dumps(key)}:{text},"sign":"{rsa2_sign(private_key, text)}"}}'
    return Response(body, content_type="text/html;charset=utf-8")


# --- checking requests -----------------------------------------------------------------------

def invalid_request(sub_code: str, sub_msg: str, code: str = "40002") -> Refusal:
    msg = "Invalid Arguments" if code == "40002" else "Missing Required Arguments"
    return Refusal(sub_code, sub_msg, code=code, msg=msg, gateway=True)


def check_request(params: dict[str, str], *, methods, app_id: str, app_public_key, clock) -> None:
    """What the gateway checks before it dispatches: ``methods`` are the ones it knows."""
    if params.get("method") not in methods:
        raise invalid_request("isv.invalid-method", "不存在的方法名")
    if params.get("app_id") != app_id:
        raise invalid_request("isv.invalid-app-id", "无效的AppID参数")
    if params.get("charset", "").lower() != "utf-8":
        raise invalid_request("isv.invalid-charset", "字符集错误")
    if params.get("sign_type") != "RSA2":
        raise invalid_request("isv.invalid-signature-type", "无效的签名类型")
    if not params.get("sign"):
        raise invalid_request("isv.missing-signature", "缺少签名参数", code="40001")
    if not rsa2_verify(app_public_key, content_to_sign(params, ("sign",)), params["sign"]):
        raise invalid_request("isv.invalid-signature", "验签出错")
    if not _timely(params.get("timestamp", ""), clock()):
        raise invalid_request("isv.invalid-timestamp", "非法的时间戳参数")


def _timely(text: str, now: datetime) -> bool:
    """Beijing wall time within 15 minutes: a server stamping UTC or its own zone is refused."""
    try:
        sent = from_beijing(datetime.strptime(text, "%Y-%m-%d %H:%M:%S"))
    except ValueError:
        return False
    return abs(now - sent) <= TIMESTAMP_TOLERANCE


def biz_content(params: dict[str, str]) -> dict:
    try:
        biz = json.loads(params.get("biz_content") or "{}", parse_float=str, parse_int=str)
    except ValueError:
        biz = None
    if not isinstance(biz, dict):
        raise invalid_request("isv.invalid-parameter", "参数无效：biz_content")
    return biz


def text_field(biz: dict, name: str) -> str:
    """A biz_content field as text; anything but a string (a list, an object) counts as absent."""
    value = biz.get(name)
    return value if isinstance(value, str) else ""


def required_field(biz: dict, name: str) -> str:
    if not text_field(biz, name):
        raise Refusal("ACQ.INVALID_PARAMETER", f"参数无效：缺少{name}")
    return biz[name]


def amount_field(biz: dict, name: str) -> int:
    """A money field in fen. biz_content is parsed with numbers kept as their literal text, so a
    float such as 0.30000000000000004 is seen exactly as the merchant sent it."""
    try:
        fen = parse_yuan(required_field(biz, name), name)
    except InvalidAmount:
        raise Refusal("ACQ.INVALID_PARAMETER", f"参数无效：{name}格式错误") from None
    if not 0 < fen <= MAX_AMOUNT_FEN:
        raise Refusal("ACQ.INVALID_PARAMETER", f"参数无效：{name}超出范围")
    return fen
