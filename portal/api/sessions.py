"""Logging in to the mini-program: by phone and SMS code (the same codes, limits and messages as the
web login, ``portal.auth``) or by WeChat (code2session, ``portal.wechat.sign_in``; a WeChat not yet
linked proves a phone by SMS code once), and logging out.  A login is a server-side session of kind ``api``
(``billing.logins``, 30 days) whose token the app sends as ``Authorization: Bearer``."""

from __future__ import annotations

from flask import g, jsonify

from billing import logins, residents
from billing.db import unit_of_work
from billing.errors import PermissionDenied
from billing.privacy import mask_phone
from billing.wechat_identities import MINI
from portal.api import blueprint
from portal.api.calls import json_body, text_field
from portal.auth import demo_code, resident_login_open, send_login_code
from portal.wechat.sign_in import link_with_phone, mini_program_sign_in
from portal.wiring import services


def _login_open() -> None:
    if not resident_login_open():
        raise PermissionDenied("resident login is closed: no way to deliver a code", field="login")


@blueprint.post("/login/code")
def send_code():
    _login_open()
    phone = text_field(json_body(), "phone", max_chars=20)
    code, sent = send_login_code(phone)
    return jsonify(phone_masked=mask_phone(phone.strip()), sent=sent, demo_code=demo_code(code)), 202


def new_token(resident_id: int):
    """A fresh API login for ``resident_id``, answered as the app stores it."""
    svc = services()
    now = svc.clock()
    with unit_of_work(svc.engine) as db:
        token = logins.start(db, logins.API, resident_id, now=now)
    expires_at = now + logins.LIFETIMES[logins.API].absolute
    return jsonify(token=token, token_type="Bearer", expires_at=expires_at.isoformat()), 201


@blueprint.post("/login")
def log_in():
    _login_open()
    data, svc = json_body(), services()
    phone, code = text_field(data, "phone", max_chars=20), text_field(data, "code", max_chars=10)
    with unit_of_work(svc.engine) as db:
        resident = residents.verify_login_code(db, phone, code, now=svc.clock())
    return new_token(resident.id)


@blueprint.post("/login/wechat")
def log_in_wechat():
    """``wx.login()``'s code, traded by code2session: a token if that WeChat is linked to a resident,
    else a ``link_ticket`` to send back with a phone and its SMS code (``/login/wechat/link``)."""
    if not services().wechat.offers(MINI):  # no mini-program configured here: as closed as the SMS login without SMS
        raise PermissionDenied("WeChat login is not offered here", field="wechat")
    signed = mini_program_sign_in(services(), json_body().get("code"))
    if signed.needs_phone:
        return jsonify(needs_phone=True, link_ticket=signed.link_ticket)
    return new_token(signed.resident_id)


@blueprint.post("/login/wechat/link")
def link_wechat():
    data = json_body()
    ticket, phone = text_field(data, "link_ticket", max_chars=500), text_field(data, "phone", max_chars=20)
    return new_token(link_with_phone(services(), ticket, phone, text_field(data, "code", max_chars=10)))


@blueprint.post("/logout")
def log_out():
    with unit_of_work(services().engine) as db:
        logins.end(db, g.api_token)
    return "", 204
