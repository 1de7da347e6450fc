"""Errors of the web layer and the one table that maps every error to an HTTP answer.

JSON for ``/api`` and ``/callbacks`` (stable ``code``, localised ``message``, ``field``), an HTML
page for everything else: in the site's layout and the reader's language, with one sentence per
status and a way back to the home of whoever is logged in.  This covers our own errors and every
HTTP error Flask or Werkzeug raises (400 from CSRF, 403, 404, 405, 413 from the body cap, 429, and
500 for anything unhandled, which never shows its internals).  Views that show a form catch errors
themselves and re-render the form; this table is the fallback.
"""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from billing import errors as billing_errors
from billing.wechat_identities import WeChatUnavailable
from billing.logins import RESIDENT, STAFF
from payments import errors as payment_errors
from portal.i18n import error_message, gettext as _, http_text


class PortalError(Exception):
    code = "portal_error"


class ConfigError(PortalError):
    """A missing or malformed setting: startup stops with one line naming the variable."""

    code = "config_error"


class WeChatLoginRequired(billing_errors.PermissionDenied):
    """WeChat Pay inside the mini-program pays as the WeChat user (its openid): the caller logged
    in by SMS has none until they log in through WeChat once."""

    code = "wechat_login_required"

    def __init__(self) -> None:
        super().__init__("WeChat Pay in the mini-program needs a WeChat login", field="channel")


HTTP_STATUS: dict[type[Exception], int] = {
    billing_errors.InvalidInput: 400,
    billing_errors.NotFound: 404,
    billing_errors.PermissionDenied: 403,
    billing_errors.RateLimited: 429,
    billing_errors.TransferConflict: 409,
    billing_errors.DatabaseUnavailable: 503,
    payment_errors.OrderNotFound: 404,
    payment_errors.GatewayError: 502,
    WeChatUnavailable: 503,
}
# Stable codes for HTTP errors in JSON answers (our own errors carry their own).
HTTP_CODES = {400: "bad_request", 401: "unauthenticated", 403: "permission_denied", 404: "not_found",
              405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type", 429: "rate_limited",
              500: "internal_error", 503: "unavailable"}


def status_for(error: Exception) -> int:
    for cls in type(error).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 500


def wants_json() -> bool:
    return request.path.startswith(("/api/", "/callbacks/"))


def is_api() -> bool:
    return request.path.startswith("/api/")


def way_back() -> tuple[str, str]:
    """Where the error page leads: the staff dashboard, the resident's 户号 list, or a login."""
    kind = _logged_in_kind()
    if request.path.startswith("/staff/") or kind == STAFF:
        return (url_for("staff.dashboard"), _("返回工作台")) if kind == STAFF else (url_for("staff.login"), _("员工登录"))
    if kind == RESIDENT:
        return url_for("pages.home"), _("返回我的户号")
    return url_for("auth.login"), _("登录")


def _logged_in_kind() -> str | None:
    """Who is logged in, if that can still be found out: the error may be the database failing."""
    from portal.auth import current_login  # auth maps its own errors through this module

    try:
        login = current_login()
    except Exception:  # an error page must not fail for want of a session
        return None
    return login.kind if login is not None else None


def _answer(status: int, code: str, message: str | None, field: str | None = None, headers=()):
    title, sentence = http_text(status)
    if is_api():  # the mini-program's shape: the error itself, flat
        body = {"code": code, "message": message or sentence} | ({"field": field} if field else {})
        return jsonify(body), status, headers
    if wants_json():
        return jsonify(error={"code": code, "message": message or sentence, "field": field}), status, headers
    back_url, back_label = way_back()
    page = render_template("error.html", status=status, title=title, message=message or sentence,
                           back_url=back_url, back_label=back_label)
    return page, status, headers


def _billing_error(error: billing_errors.BillingError):
    return _answer(status_for(error), error.code, error_message(error), error.field)


def _http_error(error: HTTPException):
    """Werkzeug's own pages are English and plain: ours keep its status and headers (Allow, Retry-After)."""
    status = error.code or 500
    headers = [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]
    return _answer(status, HTTP_CODES.get(status, "http_error"), None, headers=headers)


def init_app(app: Flask) -> None:
    app.register_error_handler(billing_errors.BillingError, _billing_error)
    app.register_error_handler(HTTPException, _http_error)  # unhandled exceptions reach it as a 500
