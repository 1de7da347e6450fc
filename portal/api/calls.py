"""What every API call goes through: the bearer token, the rate limits, and reading a JSON body.

The token is looked up in ``billing.logins`` (kind ``api`` only: a browser session's token is not
accepted here).  Calls without a live token (the login calls, and anyone guessing tokens) count
against their client address; a login's state-changing calls count against a limit per login.  A
login's reads are not counted: they show the caller only their own 户号, and counting them would
write to the database on every read (the floods a reverse proxy is there for).
"""

from __future__ import annotations

import re
from datetime import timedelta

from flask import g, request
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized, UnsupportedMediaType

from billing import logins, throttle
from billing.db import unit_of_work
from billing.errors import InvalidInput
from billing.throttle import Rule
from portal.api import blueprint
from portal.security import client_address
from portal.wiring import reading_connection, services

MINUTE = timedelta(minutes=1)
BY_ADDRESS = Rule("api:address:minute", 600, MINUTE, "client")
WRITES_BY_LOGIN = Rule("api:login:writes", 30, MINUTE, "token")
PUBLIC = frozenset({"api.send_code", "api.log_in", "api.log_in_wechat", "api.link_wechat", "api.openapi"})
_TOKEN = re.compile(r"Bearer ([A-Za-z0-9_-]{20,100})", re.ASCII)


def _unauthenticated() -> Unauthorized:
    return Unauthorized(www_authenticate=WWWAuthenticate("bearer", {"realm": "dianfei"}))


def bearer_token() -> str | None:
    match = _TOKEN.fullmatch(request.headers.get("Authorization", "").strip())
    return match.group(1) if match else None


@blueprint.before_request
def authenticate() -> None:
    """Count the call, and for all but the public calls require a live API login."""
    svc, token = services(), bearer_token()
    now = svc.clock()
    login = logins.resume(svc.engine, token, now=now, reading=reading_connection()) if token else None
    live = login is not None and login.kind == logins.API
    if not live:
        _count(BY_ADDRESS, client_address(), now)
    elif request.method not in ("GET", "HEAD", "OPTIONS"):
        _count(WRITES_BY_LOGIN, f"login:{login.id}", now)
    if request.endpoint in PUBLIC:
        return
    if not live:
        raise _unauthenticated()
    g.api_token, g.api_resident_id = token, login.subject_id


def _count(rule: Rule, key: str, now) -> None:
    with unit_of_work(services().engine) as db:
        throttle.take(db, rule, key, now=now)


def resident_id() -> int:
    return g.api_resident_id


def json_body() -> dict:
    """The request's JSON object; 415 for another content type (a cross-site form cannot send
    JSON without a preflight), 400 naming ``body`` for anything but an object."""
    if not request.is_json:
        raise UnsupportedMediaType()
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidInput("body", "a JSON object is required")
    return data


def text_field(data: dict, name: str, *, required: bool = True, max_chars: int = 100) -> str:
    value = data.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or len(value) > max_chars:
        raise InvalidInput(name, f"a string of at most {max_chars} characters is required")
    return value.strip()


def int_field(data: dict, name: str, *, required: bool = True) -> int | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(name, "an integer is required")
    return value


@blueprint.after_request
def private(response):
    """Answers about someone's 户号 are theirs alone: no shared cache keeps them."""
    response.headers["Cache-Control"] = "no-store"
    return response
