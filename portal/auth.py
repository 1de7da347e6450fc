"""Resident login by phone and SMS code.

In the demo (``DIANFEI_DEMO_SMS``) the code is shown on the page, since no SMS gateway is wired;
otherwise it would go out through the notifications layer.
"""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for

from billing import residents
from billing.db import unit_of_work
from billing.errors import BillingError
from billing.privacy import mask_phone
from portal.i18n import error_message, gettext as _
from portal.wiring import services

blueprint = Blueprint("auth", __name__)


def current_resident_id() -> int | None:
    return session.get("resident_id")


def resident_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_resident_id() is None:
            return redirect(url_for("auth.login", next=request.path))
        return view(*args, **kwargs)

    return wrapper


@blueprint.get("/login")
def login():
    return render_template("pages/login.html", phone=request.args.get("phone", ""))


@blueprint.post("/login/code")
def send_code():
    phone = request.form.get("phone", "").strip()
    svc = services()
    try:
        with unit_of_work(svc.engine) as db:
            code = residents.issue_login_code(db, phone, now=svc.clock())
    except BillingError as error:
        flash(error_message(error), "error")
        return redirect(url_for("auth.login", phone=phone))
    if current_app.config["DEMO_SMS"]:
        flash(_("演示环境验证码：{code}（正式环境通过短信发送）", code=code), "info")
    else:
        flash(_("验证码已发送至 {phone}", phone=mask_phone(phone)), "info")
    return redirect(url_for("auth.login", phone=phone))


@blueprint.post("/login")
def verify():
    phone, code = request.form.get("phone", "").strip(), request.form.get("code", "")
    svc = services()
    try:
        with unit_of_work(svc.engine) as db:
            resident = residents.verify_login_code(db, phone, code, now=svc.clock())
    except BillingError as error:
        flash(error_message(error), "error")
        return redirect(url_for("auth.login", phone=phone))
    session.clear()
    session["resident_id"] = resident.id
    target = request.args.get("next", "")
    return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("pages.home"))


@blueprint.post("/logout")
def logout():
    session.pop("resident_id", None)
    return redirect(url_for("pages.home"))
