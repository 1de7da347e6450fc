"""Errors of the web layer and the one table that maps every error to an HTTP answer.

JSON for ``/api`` and ``/callbacks`` (stable ``code``, localised ``message``, ``field``), an HTML
page for everything else.  Views that show a form catch errors themselves and re-render the form;
this table is the fallback.
"""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request

from billing import errors as billing_errors
from portal.i18n import error_message


class PortalError(Exception):
    code = "portal_error"


class ConfigError(PortalError):
    """A missing or malformed setting: startup stops with one line naming the variable."""

    code = "config_error"


HTTP_STATUS: dict[type[Exception], int] = {
    billing_errors.InvalidInput: 400,
    billing_errors.NotFound: 404,
    billing_errors.PermissionDenied: 403,
    billing_errors.RateLimited: 429,
    billing_errors.TransferConflict: 409,
    billing_errors.DatabaseUnavailable: 503,
}


def status_for(error: Exception) -> int:
    for cls in type(error).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 500


def wants_json() -> bool:
    return request.path.startswith(("/api/", "/callbacks/"))


def _render(error: billing_errors.BillingError):
    status = status_for(error)
    message = error_message(error)
    if wants_json():
        return jsonify(error={"code": error.code, "message": message, "field": error.field}), status
    return render_template("error.html", message=message, status=status), status


def init_app(app: Flask) -> None:
    app.register_error_handler(billing_errors.BillingError, _render)
