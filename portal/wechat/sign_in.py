"""Signing a resident in with a WeChat code, for the web (OAuth) and the mini-program API.

A code's openid that is linked to a resident signs in at once.  One that is not yet linked answers
with a ``link_ticket``: the person then proves a phone with an SMS code (the phone login's own
code) and ``link_with_phone`` links that WeChat for good.  The ticket is signed with the portal's
secret and lives 10 minutes, so it cannot be forged to link someone else's WeChat, and nothing is
kept on the server until the phone is proved.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

from billing import wechat_identities
from billing.db import unit_of_work
from billing.errors import InvalidInput
from billing.wechat_identities import MINI, OA, WeChatLinkRefused, WeChatUnavailable
from portal.wechat.client import WeChatUser

TICKET_SECONDS = 600
_SALT = "dianfei.wechat-link"


@dataclass(frozen=True)
class WeChatSignIn:
    """A WeChat code's outcome: ``resident_id`` set, the person is signed in; else ``link_ticket``
    is what ``link_with_phone`` needs, with a phone and its SMS code."""

    resident_id: int | None
    link_ticket: str
    openid: str

    @property
    def needs_phone(self) -> bool:
        return self.resident_id is None


def mini_program_sign_in(services, code: str) -> WeChatSignIn:
    """The mini-program's ``wx.login()`` code, traded by code2session.

    Raises ``WeChatCodeRejected`` (code ``wechat_code_invalid``, HTTP 400: unknown, expired or another
    app's code), ``WeChatCodeUsed`` (``wechat_code_used``, 400), ``WeChatUserRefused``
    (``wechat_user_refused``, 403) or ``WeChatUnavailable`` (``wechat_unavailable``, 503: WeChat out of
    reach, or no mini-program configured)."""
    if not services.wechat.offers(MINI):
        raise WeChatUnavailable("no mini-program is configured")
    return sign_in(services, services.wechat.mini_user(_code(code)))


def web_sign_in(services, code: str) -> WeChatSignIn:
    """The official account's OAuth code the WeChat browser came back with; raises as above."""
    if not services.wechat.offers(OA):
        raise WeChatUnavailable("no official account is configured")
    return sign_in(services, services.wechat.web_user(_code(code)))


def sign_in(services, user: WeChatUser) -> WeChatSignIn:
    with unit_of_work(services.engine) as db:
        identity = wechat_identities.identity_for(db, user.app, user.openid, unionid=user.unionid,
                                                  now=services.clock())
    ticket = "" if identity.resident_id else _serializer(services).dumps(identity.id)
    return WeChatSignIn(identity.resident_id, ticket, identity.openid)


def link_with_phone(services, link_ticket: str, phone: str, sms_code: str) -> int:
    """The resident the WeChat of ``link_ticket`` is now linked to, once ``sms_code`` proves ``phone``
    (the resident is made on a first login, as by phone).  Raises ``WeChatLinkRefused``
    (``wechat_link_refused``, 403: a forged or stale ticket, or a WeChat linked to another phone) and the phone login's
    errors (``invalid_input`` on phone, ``login_code_wrong``, ``login_code_burnt``, ``login_code_expired``)."""
    identity_id = _ticket_identity(services, link_ticket)
    with unit_of_work(services.engine) as db:
        return wechat_identities.link(db, identity_id, phone, sms_code, now=services.clock()).id


def link_logged_in(services, link_ticket: str, resident_id: int) -> None:
    """A resident already logged in (by phone) came back from WeChat unlinked: the login proves them."""
    identity_id = _ticket_identity(services, link_ticket)
    with unit_of_work(services.engine) as db:
        wechat_identities.attach(db, identity_id, resident_id)


def _ticket_identity(services, link_ticket: str) -> int:
    try:
        return _serializer(services).loads(link_ticket or "", max_age=TICKET_SECONDS)
    except BadSignature:
        raise WeChatLinkRefused("the WeChat login to link is stale or not ours: log in with WeChat again",
                                field="wechat") from None


def _serializer(services) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(services.settings.SECRET_KEY, salt=_SALT)


def _code(code: object) -> str:
    if not isinstance(code, str) or not code.strip() or len(code) > 128:
        raise InvalidInput("code", "the WeChat login code is missing or too long")
    return code.strip()
