"""What every response and request goes through: security headers, body size caps, the one parser
of redirect targets, and the client address the rate limits key on."""

from __future__ import annotations

import ipaddress
import unicodedata
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

from flask import Flask, abort, request

from payments.gateways.base import Gateway

KB, MB = 1024, 1024 * 1024
PAGE_BODY = 1 * MB
# Larger or smaller than a page, by blueprint or endpoint: channel notifications are a few KB;
# the manager's CSV upload of 户号,金额 lines is capped at 2,000 lines anyway (payments.bulk); a
# reader's read carries a photo, whose own limit (DIANFEI_READ_PHOTO_MAX_MB, at most 20) the view
# checks so that the form comes back with what was typed.
BODY_LIMITS = {"callbacks": 64 * KB, "api": 16 * KB, "manager.preview_upload": 4 * MB, "staff.reading_save": 21 * MB}
HSTS = "max-age=31536000; includeSubDomains"
# Where the channels' real cashiers live.  After our own redirect a cashier may hop between its
# hosts by HTTP redirect, and Chromium checks form-action on every hop of a form's navigation.
CHANNEL_CASHIERS = {"wechat": ("https://wx.tenpay.com",), "alipay": ("https://*.alipay.com",)}


def init_app(app: Flask, gateways: dict[str, Gateway]) -> None:
    """Register before anything that reads the body (CSRF protection parses the form)."""
    production = app.config["ENV"] == "production"
    app.config.update(MAX_CONTENT_LENGTH=PAGE_BODY, SESSION_COOKIE_SECURE=production)
    if production:  # __Host-: the browser refuses it unless Secure, host-only and Path=/
        app.config["SESSION_COOKIE_NAME"] = "__Host-dianfei"
    headers = {
        "Content-Security-Policy": content_security_policy(cashier_origins(gateways)),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        **({"Strict-Transport-Security": HSTS} if production else {}),
    }

    @app.after_request
    def add_headers(response):
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response

    app.before_request(cap_body)  # a larger body is a 413, answered by portal.errors like every HTTP error


def cashier_origins(gateways: dict[str, Gateway]) -> list[str]:
    """Origins our payment forms may end up at: each configured gateway (the demo's sandboxes serve
    their cashier there) and the channel's production cashier hosts."""
    origins = []
    for channel, gateway in gateways.items():
        parts = urlsplit(gateway.config.gateway_url)
        origins += [f"{parts.scheme}://{parts.netloc}", *CHANNEL_CASHIERS.get(channel, ())]
    return sorted(set(origins))


def content_security_policy(form_targets: Iterable[str]) -> str:
    return "; ".join((
        "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
        " ".join(("form-action 'self'", *form_targets)), "frame-ancestors 'none'", "base-uri 'none'",
        "object-src 'none'",
    ))


def cap_body() -> None:
    limit = BODY_LIMITS.get(request.endpoint or "") or BODY_LIMITS.get(request.blueprint or "") or PAGE_BODY
    request.max_content_length = limit  # also bounds a body sent without Content-Length
    if (request.content_length or 0) > limit:
        abort(413)


def local_path(target: object) -> str | None:
    """``target`` if it is a path on this site ("/pay/3301000001?x=1"), else None.

    Strict on purpose: browsers drop tabs and newlines inside URLs and read a backslash as a slash,
    so "/\\t/evil.example" and "/\\\\evil.example" would leave the site.  Checked as given and
    percent-decoded once."""
    if not isinstance(target, str) or not 0 < len(target) <= 2000:
        return None
    for text in (target, unquote(target)):
        path = text.split("?", 1)[0].split("#", 1)[0]
        if (not text.startswith("/") or text.startswith("//") or "\\" in text
                or any(unicodedata.category(char)[0] in "CZ" for char in text)
                or {".", ".."} & set(path.split("/"))):
            return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def client_address() -> str:
    """The client's address as the rate limits count it: IPv6 by its /64, which one subscriber
    usually holds whole.  Behind a reverse proxy this needs ProxyFix, or every client is the proxy."""
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return request.remote_addr or "unknown"
    if address.version == 6:
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)
