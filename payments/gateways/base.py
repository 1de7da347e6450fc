"""The one small interface every payment channel adapter offers, and the plain values it speaks.

Adapters turn the channel's protocol (through its SDK) into these values; nothing above them knows
what a ``trade_state`` or an ``out_request_no`` is.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding, NoEncryption, PrivateFormat, PublicFormat, load_der_private_key, load_der_public_key,
    load_pem_private_key, load_pem_public_key,
)

from payments.errors import GatewayConfigError

# Normalised payment states, whatever the channel calls them.
PAID, PENDING, CLOSED, FAILED = "paid", "pending", "closed", "failed"
# Normalised refund states.
REFUND_PROCESSING, REFUND_SUCCEEDED, REFUND_FAILED = "processing", "succeeded", "failed"
REFUND_UNKNOWN = "unknown"  # the channel has never heard of it: submit again under the same number


@dataclass(frozen=True)
class Merchant:
    """Who we are at the channel: a notification for anyone else is an incident, never a credit."""

    channel: str
    app_id: str
    merchant_id: str


@dataclass(frozen=True)
class PaymentReport:
    """What the channel says about one order (from a notification, a query or a statement)."""

    channel: str
    out_trade_no: str
    status: str
    amount_fen: int
    app_id: str
    merchant_id: str
    channel_txn_id: str | None = None
    payer: str = ""
    paid_at: datetime | None = None
    source: str = "query"


@dataclass(frozen=True)
class RefundReport:
    channel: str
    refund_no: str
    status: str
    amount_fen: int | None = None
    channel_refund_id: str = ""
    out_trade_no: str = ""


@dataclass(frozen=True)
class Notification:
    """A verified notification: about a payment, or about a refund."""

    payment: PaymentReport | None = None
    refund: RefundReport | None = None


@dataclass(frozen=True)
class Answer:
    """The exact HTTP answer a channel expects from our notify endpoint."""

    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Checkout:
    """Where the payer goes next: a page to open (H5, WAP), a QR code to show, or JSAPI parameters."""

    kind: str  # redirect | qr | jsapi
    url: str | None = None
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OrderRequest:
    out_trade_no: str
    amount_fen: int
    description: str
    expires_at: datetime


@dataclass(frozen=True)
class StatementLine:
    """One row of a channel's daily statement: the amount in fen, the channel's fee exact in
    millifen (WeChat Pay charges sub-fen fees; they are rounded only when booked)."""

    channel: str
    kind: str  # payment | refund
    channel_txn_id: str
    out_trade_no: str
    amount_fen: int
    fee_millifen: int
    at: datetime
    refund_no: str = ""
    merchant_id: str = ""  # whose statement it is: another merchant's file is refused


class Gateway(Protocol):
    channel: str
    merchant: Merchant
    ack: Answer  # we took it: stop sending
    reject: Answer  # failed verification
    retry: Answer  # transient failure on our side: send again later

    def create(self, order: OrderRequest, scene: str, *, payer_id: str | None = None, client_ip: str | None = None,
               return_url: str | None = None) -> Checkout: ...

    def query(self, out_trade_no: str) -> PaymentReport: ...

    def close(self, out_trade_no: str) -> None: ...

    def refund(self, refund_no: str, *, out_trade_no: str, channel_txn_id: str, amount_fen: int, total_fen: int,
               reason: str) -> RefundReport: ...

    def query_refund(self, refund_no: str, *, out_trade_no: str) -> RefundReport: ...

    def parse_notification(self, headers: dict[str, str], body: bytes, *, now: datetime) -> Notification: ...

    def statement(self, day: date) -> list[StatementLine]: ...

    def statement_file(self, day: date) -> bytes | None:
        """The day's statement file as the channel serves it (checked against its hash), None if
        the channel has no statement for that day."""
        ...


def read_key_file(path: Path, setting: str, *, private: bool) -> str:
    """The RSA key in a file named by a setting, as the PEM the SDKs take (PKCS#8 private,
    SubjectPublicKeyInfo public).

    The WeChat Pay and Alipay consoles hand out bare base64 without PEM armour, private keys in
    PKCS#8 or PKCS#1; PEM is accepted too.  Anything unusable stops startup naming the setting.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise GatewayConfigError(setting, f"cannot read {path}: {error.strerror}") from None
    wanted = "private" if private else "public"
    key = _load_key(data, private)
    if key is None:
        other = "public" if private else "private"
        other_kind = _load_key(data, not private) is not None
        found = f"holds a {other} key" if other_kind else "holds no readable unencrypted key"
        raise GatewayConfigError(setting, f"{path} {found}; expected an RSA {wanted} key (PEM or bare base64)")
    if not isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        raise GatewayConfigError(setting, f"{path} holds a non-RSA key ({type(key).__name__}); "
                                          f"expected an RSA {wanted} key")
    if private:
        return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def _load_key(data: bytes, private: bool):
    """The key in ``data`` (PEM, or base64 DER without armour), or None if there is none of that kind."""
    try:
        if b"-----BEGIN" in data:
            return load_pem_private_key(data, password=None) if private else load_pem_public_key(data)
        der = base64.b64decode(b"".join(data.split()), validate=True)
        return load_der_private_key(der, password=None) if private else load_der_public_key(der)
    except (ValueError, TypeError, UnsupportedAlgorithm):  # not a key, encrypted, or an unknown kind
        return None
