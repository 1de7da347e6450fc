"""Checking a request's TC3-HMAC-SHA256 signature as Tencent Cloud's API gateway does.

Written from the published algorithm, not from the SDK, so a test that passes proves that the SDK's
signature (as our channel drives it) is the one the real gateway accepts: canonical request (method,
path, query, the signed headers, the body's SHA-256), then the string to sign, then a key derived
from ``"TC3" + SecretKey`` through the date, the service and ``tc3_request``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

ALGORITHM = "TC3-HMAC-SHA256"
MAX_SKEW_SECONDS = 300  # Tencent refuses a timestamp more than 5 minutes off
_AUTHORIZATION = re.compile(r"TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[a-z]+)"
                            r"/tc3_request, SignedHeaders=(?P<headers>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})")


@dataclass(frozen=True)
class Refused:
    code: str  # AuthFailure.* as Tencent answers it
    message: str


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signature(secret_key: str, *, date: str, service: str, string_to_sign: str) -> str:
    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode(), date), service), "tc3_request")
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def canonical_request(method: str, path: str, query: str, headers: Mapping[str, str], signed_headers: str,
                      body: bytes) -> str:
    # Tencent's rule: header values trimmed and lower-cased, one line each, in SignedHeaders' order.
    lines = "".join(f"{name}:{headers.get(name, '').strip().lower()}\n" for name in signed_headers.split(";"))
    return "\n".join((method, path, query, lines, signed_headers, hashlib.sha256(body).hexdigest()))


def string_to_sign(stamp: int, date: str, service: str, canonical: str) -> str:
    return "\n".join((ALGORITHM, str(stamp), f"{date}/{service}/tc3_request",
                      hashlib.sha256(canonical.encode()).hexdigest()))


def authorization(secret_id: str, secret_key: str, *, headers: Mapping[str, str], body: bytes, service: str,
                  stamp: int) -> str:
    """The Authorization header of a POST to ``/`` signing content-type and host: what any client
    computes (the bench's raw baseline client uses it; our channel uses the SDK's own)."""
    date = datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d")
    canonical = canonical_request("POST", "/", "", {k.lower(): v for k, v in headers.items()}, "content-type;host", body)
    signed = signature(secret_key, date=date, service=service, string_to_sign=string_to_sign(stamp, date, service,
                                                                                            canonical))
    return (f"{ALGORITHM} Credential={secret_id}/{date}/{service}/tc3_request, SignedHeaders=content-type;host, "
            f"Signature={signed}")


def check(method: str, path: str, query: str, headers: Mapping[str, str], body: bytes, *,
          secrets: Mapping[str, str], service: str, now: int) -> Refused | None:
    """None when the request is signed by a known SecretId with its key, within the time window."""
    found = _AUTHORIZATION.fullmatch(headers.get("Authorization", ""))
    if not found:
        return Refused("AuthFailure.SignatureFailure", "The Authorization header is not TC3-HMAC-SHA256.")
    if found["id"] not in secrets:
        return Refused("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
    try:
        stamp = int(headers.get("X-TC-Timestamp", ""))
    except ValueError:
        return Refused("AuthFailure.SignatureFailure", "X-TC-Timestamp is missing.")
    if abs(now - stamp) > MAX_SKEW_SECONDS:
        return Refused("AuthFailure.SignatureExpire", "The signature has expired.")
    if found["service"] != service:
        return Refused("AuthFailure.SignatureFailure", f"The credential scope names service {found['service']}.")
    canonical = canonical_request(method, path, query, headers, found["headers"], body)
    expected = signature(secrets[found["id"]], date=found["date"], service=service,
                         string_to_sign=string_to_sign(stamp, found["date"], service, canonical))
    if not hmac.compare_digest(expected, found["signature"]):
        return Refused("AuthFailure.SignatureFailure", "The provided credentials could not be validated.")
    return None
