"""Who is logged in (residents and staff), and the resident login by phone and SMS code.

The signed session cookie carries only the token of a login session kept on the server
(``billing.logins``): logging out deletes it, so a copy of the cookie is worth nothing afterwards.
The code goes out by SMS (``notifications.login_codes``); in the demo (``DIANFEI_DEMO_SMS``) it is
also shown on the page.  Without a way to deliver it no code is issued, and resident login is closed.
"""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for

from billing import logins, residents
from billing.db import unit_of_work
from billing.errors import BillingError
from billing.logins import RESIDENT, STAFF, Login
from billing.privacy import mask_phone
from billing.wechat_identities import WeChatLinkRefused
from notifications import login_codes
from notifications.channels.console import ConsoleChannel
from portal.errors import status_for
from portal.i18n import current_language, error_message, gettext as _
from portal.security import client_address, local_path
from portal.wechat import views as wechat_views
from portal.wechat.sign_in import link_with_phone
from portal.wiring import reading_connection, services

blueprint = Blueprint("auth", __name__)
MAX_NEXT = 256
KEPT_ACROSS_LOGIN = ("lang",)  # the rest of the session (CSRF token, pending phone) starts afresh


def current_login() -> Login | None:
    """This request's live login session, looked up once per request."""
    if "login_session" not in g:
        token, svc = session.get("login"), services()
        g.login_session = logins.resume(svc.engine, token, now=svc.clock(), reading=reading_connection()) if token else None
        if token and g.login_session is None:
            session.pop("login", None)
    return g.login_session


def _logged_in(kind: str) -> int | None:
    login = current_login()
    return login.subject_id if login is not None and login.kind == kind else None


def current_resident_id() -> int | None:
    return _logged_in(RESIDENT)


def current_staff_id() -> int | None:
    return _logged_in(STAFF)


def log_in(kind: str, subject_id: int) -> None:
    """A new session under a new token: whatever the browser held before is dropped (fixation)."""
    log_out()
    svc = services()
    with unit_of_work(svc.engine) as db:
        session["login"] = logins.start(db, kind, subject_id, now=svc.clock())


def log_out() -> None:
    token = session.get("login")
    if token:
        with unit_of_work(services().engine) as db:
            logins.end(db, token)
    kept = {key: session[key] for key in KEPT_ACROSS_LOGIN if key in session}
    session.clear()
    session.update(kept)
    g.pop("login_session", None)


def back_to_here() -> str | None:
    """The current page as a ``next`` target for the login page: a parsed local path, and short (a
    page someone could have followed, not kilobytes of query string in a header); else none."""
    for candidate in (request.full_path.rstrip("?"), request.path):
        if len(candidate) <= MAX_NEXT and local_path(candidate):
            return candidate
    return None


def resident_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_resident_id() is None:
            return redirect(url_for("auth.login", next=back_to_here()))
        return view(*args, **kwargs)

    return wrapper


def resident_login_open() -> bool:
    """Residents may log in only where a code can reach them: an SMS provider, or the demo's screen."""
    sms = services().messengers.get("sms")
    return bool(current_app.config.get("RESIDENT_LOGIN", True) and sms is not None
                and (_demo_codes() or not isinstance(sms, ConsoleChannel)))


def _demo_codes() -> bool:
    return bool(current_app.config["DEMO_SMS"])


def demo_code(code: str) -> str | None:
    """The code itself where the demo shows it on screen (never in production), else None."""
    return code if _demo_codes() else None


def send_login_code(phone: str) -> tuple[str, bool]:
    """A code for ``phone`` within the limits (per client address, address and phone, phone), sent
    by SMS now: the code, and whether the provider took it (else the dispatcher retries)."""
    svc = services()
    with unit_of_work(svc.engine) as db:
        code = residents.issue_login_code(db, phone, client=client_address(), now=svc.clock())
        message = login_codes.queue(db, phone, code, now=svc.clock(), lang=current_language())
    return code, login_codes.send_now(svc.engine, svc.messengers, message, clock=svc.clock)


@blueprint.app_context_processor
def login_context():
    return {"resident_login_open": resident_login_open}


def _next() -> str | None:
    return local_path(request.values.get("next"))


def _login_page(status: int = 200, **values):
    return render_template("pages/login.html", pending=session.get("login_phone", ""), next=_next(),
                           **values), status


@blueprint.get("/login")
def login():
    return _login_page()


@blueprint.post("/login/code")
def send_code():
    if not resident_login_open():
        return _login_page(403)
    phone = request.form.get("phone", "").strip()
    try:
        code, sent = send_login_code(phone)
    except BillingError as error:
        if error.field == "resend":  # a code reached this phone a moment ago: let them type it in
            session["login_phone"] = phone
        flash(error_message(error), "error")
        return _login_page(status_for(error), phone=phone)
    session["login_phone"] = phone
    if demo_code(code):
        flash(_("演示环境验证码：{code}（正式环境通过短信发送）", code=code), "info")
    elif sent:
        flash(_("验证码已通过短信发送至 {phone}，5分钟内有效", phone=mask_phone(phone)), "info")
    else:
        flash(_("短信暂时未能发出，我们会自动重试；如几分钟内未收到，请稍后重新获取"), "error")
    return redirect(url_for("auth.login", next=_next()))


@blueprint.post("/login")
def verify():
    if not resident_login_open():
        return _login_page(403)
    phone, code, svc = request.form.get("phone", "").strip(), request.form.get("code", ""), services()
    try:
        resident_id = _verified(svc, phone, code)
    except BillingError as error:
        if isinstance(error, WeChatLinkRefused):
            session.pop(wechat_views.LINK, None)
        flash(error_message(error), "error")
        return redirect(url_for("auth.login", next=_next()))
    target = _next()
    log_in(RESIDENT, resident_id)
    return redirect(target or url_for("pages.home"))


def _verified(svc, phone: str, code: str) -> int:
    """The resident the code proves; a WeChat that came back unlinked is linked to them on the way."""
    ticket = wechat_views.pending_link()
    if ticket:
        return link_with_phone(svc, ticket, phone, code)
    with unit_of_work(svc.engine) as db:
        return residents.verify_login_code(db, phone, code, now=svc.clock()).id


@blueprint.post("/logout")
def logout():
    log_out()
    return redirect(url_for("pages.home"))
