"""微信一键登录 in the WeChat browser: the official account's OAuth (``snsapi_base``).

``/login/wechat`` sends the WeChat browser to WeChat's authorize page with a fresh ``state`` kept in
the session; WeChat sends it back to ``/login/wechat/callback`` with a code.  A state that is not the
one we sent (a forged or replayed link) is refused before WeChat is asked.  A linked WeChat logs in
at once; an unlinked one goes to the phone login once, whose SMS code links it (``portal.auth``).
Outside the WeChat browser the button is not shown and these pages lead to the phone login.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for

from billing.errors import BillingError
from billing.logins import RESIDENT
from billing.wechat_identities import OA
from portal.errors import status_for
from portal.i18n import error_message, gettext as _
from portal.security import local_path
from portal.wechat.sign_in import link_logged_in, web_sign_in
from portal.wiring import services

blueprint = Blueprint("wechat_login", __name__)
STATE, NEXT, LINK = "wechat_state", "wechat_next", "wechat_link"  # session keys
DESKTOPS, HANDHELDS = ("Windows NT", "Macintosh", "X11", "CrOS"), ("Mobile", "Android", "iPhone", "iPad")


def in_wechat() -> bool:
    """The page is open in WeChat's own browser (its user agent says MicroMessenger)."""
    return "MicroMessenger" in request.headers.get("User-Agent", "")


def on_desktop() -> bool:
    """A desktop browser (Windows, macOS, Linux, ChromeOS) rather than a phone's or a tablet's."""
    agent = request.headers.get("User-Agent", "")
    return any(name in agent for name in DESKTOPS) and not any(name in agent for name in HANDHELDS)


def offers_wechat_login() -> bool:
    """In WeChat's browser, with an official account, where residents may log in at all."""
    return in_wechat() and services().wechat.offers(OA) and bool(current_app.config.get("RESIDENT_LOGIN", True))


def pending_link() -> str | None:
    """The link ticket of a WeChat that came back unlinked: the next phone login links it."""
    return session.get(LINK)


@blueprint.app_context_processor
def wechat_context():
    return {"offers_wechat_login": offers_wechat_login, "wechat_link_pending": pending_link}


@blueprint.get("/login/wechat")
def start():
    target = local_path(request.args.get("next"))
    if not offers_wechat_login():
        return redirect(url_for("auth.login", next=target))
    session[STATE], session[NEXT] = secrets.token_urlsafe(16), target
    back = str(current_app.config["PUBLIC_URL"]).rstrip("/") + url_for("wechat_login.callback")
    return redirect(services().wechat.authorize_url(back, session[STATE]))


@blueprint.get("/login/wechat/callback")
def callback():
    from portal.auth import current_resident_id, log_in

    expected, target = session.pop(STATE, None), local_path(session.pop(NEXT, None))
    state, code = request.args.get("state", ""), request.args.get("code", "")
    if not expected or not secrets.compare_digest(state.encode(), expected.encode()):
        return _refused(_("微信登录已过期或不是从本页发起的，请重新点击“微信一键登录”"), 400)
    if not code:  # the person declined on WeChat's page
        flash(_("你已取消微信授权，可以使用手机号登录"), "info")
        return redirect(url_for("auth.login", next=target))
    signed_in = current_resident_id()
    try:
        signed = web_sign_in(services(), code)
        if signed.needs_phone and signed_in is not None:  # logged in by phone already: that proves them
            link_logged_in(services(), signed.link_ticket, signed_in)
            flash(_("已绑定微信，下次可直接微信登录"), "info")
            return redirect(target or url_for("pages.home"))
    except BillingError as error:
        return _refused(error_message(error), status_for(error))
    if signed.needs_phone:
        session[LINK] = signed.link_ticket  # the login page says what is asked, once
        return redirect(url_for("auth.login", next=target))
    log_in(RESIDENT, signed.resident_id)
    return redirect(target or url_for("pages.home"))


def _refused(message: str, status: int):
    return render_template("pages/wechat_login_refused.html", message=message), status
