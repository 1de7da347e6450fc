"""WeChat users as our apps know them, and the resident each one logs in as.

A WeChat code proves only an openid (who the person is to one app: ``oa`` the official account's web
OAuth, ``mini`` the mini-program).  The first time an openid is seen it is recorded unlinked; the
person then proves a phone by SMS code once (``link``) and from then on that WeChat logs straight in
as the phone's resident.  A new app's openid with a unionid already linked through the other app
is linked at once: WeChat says it is the same person.

The WeChat calls themselves (the SDK) live in the portal's WeChat client; the errors they end in are
here, so that the API can return their codes.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlmodel import Session, select

from billing.db import among, insert_ignoring_duplicates
from billing.errors import BillingError, InvalidInput, PermissionDenied
from billing.residents import Resident, WeChatIdentity, verify_login_code

OA, MINI = "oa", "mini"
APPS = (OA, MINI)


class WeChatCodeRejected(InvalidInput):
    """WeChat did not take the login code: unknown, expired or another app's (40029)."""

    code = "wechat_code_invalid"

    def __init__(self, errcode: int) -> None:
        super().__init__("code", f"WeChat refused the login code ({errcode})", errcode=errcode)


class WeChatCodeUsed(WeChatCodeRejected):
    """The login code was exchanged already (40163): a reload or a replay."""

    code = "wechat_code_used"


class WeChatUserRefused(PermissionDenied):
    """WeChat refuses this user a login (40226, a user its risk control holds)."""

    code = "wechat_user_refused"


class WeChatUnavailable(BillingError):
    """WeChat could not be asked (no connection, an outage, an answer that is not WeChat's, our app id
    or secret refused): nothing the person did wrong, try again later."""

    code = "wechat_unavailable"


class WeChatLinkRefused(PermissionDenied):
    """The WeChat login to link is unknown, stale, or already linked to another phone."""

    code = "wechat_link_refused"


def identity_for(session: Session, app: str, openid: str, *, unionid: str = "", now: datetime) -> WeChatIdentity:
    """The identity of ``openid`` in ``app``, recorded the first time (two first logins at once make
    one row), and linked at once when its unionid is already linked through the other app."""
    if app not in APPS or not openid or len(openid) > 64 or len(unionid) > 64:
        raise InvalidInput("openid", "not a WeChat openid of one of our apps")
    session.execute(insert_ignoring_duplicates(session, WeChatIdentity.__table__, ["app", "openid"]),
                    {"app": app, "openid": openid, "unionid": unionid, "resident_id": None, "created_at": now})
    identity = session.exec(select(WeChatIdentity).where(WeChatIdentity.app == app, WeChatIdentity.openid == openid)
                            .with_for_update()).one()
    if unionid and not identity.unionid:
        identity.unionid = unionid
    if identity.resident_id is None and identity.unionid:
        identity.resident_id = session.exec(
            select(WeChatIdentity.resident_id).where(WeChatIdentity.unionid == identity.unionid,
                                                     WeChatIdentity.resident_id.is_not(None))).first()
    session.add(identity)
    session.flush()
    return identity


def link(session: Session, identity_id: int, phone: str, code: str, *, now: datetime) -> Resident:
    """The person behind ``identity_id`` proved ``phone`` with its SMS code: that WeChat logs in as the
    phone's resident from now on.  A wrong code raises as the phone login does and links nothing."""
    resident = verify_login_code(session, phone, code, now=now)
    attach(session, identity_id, resident.id)
    return resident


def attach(session: Session, identity_id: int, resident_id: int) -> None:
    """Link the WeChat login to a resident who has proved who they are (an SMS code, a live login)."""
    identity = session.exec(select(WeChatIdentity).where(WeChatIdentity.id == identity_id).with_for_update()).first()
    if identity is None:
        raise WeChatLinkRefused("no such WeChat login", field="wechat")
    if identity.resident_id not in (None, resident_id):
        raise WeChatLinkRefused("this WeChat is already linked to another phone", field="wechat")
    identity.resident_id = resident_id
    session.add(identity)
    session.flush()


def openids(session: Session, resident_ids: set[int]) -> dict[int, list[tuple[str, str]]]:
    """Each resident's WeChat addresses as ``(app, openid)``, oldest first."""
    found: dict[int, list[tuple[str, str]]] = defaultdict(list)
    if resident_ids:
        rows = session.exec(select(WeChatIdentity.resident_id, WeChatIdentity.app, WeChatIdentity.openid)
                            .where(among(session, WeChatIdentity.resident_id, resident_ids))
                            .order_by(WeChatIdentity.id)).all()
        for resident_id, app, openid in rows:
            found[resident_id].append((app, openid))
    return found


def openid_of(session: Session, resident_id: int, app: str) -> str | None:
    """The resident's newest openid in ``app`` (what a JSAPI payment needs), or None."""
    return session.exec(select(WeChatIdentity.openid).where(WeChatIdentity.resident_id == resident_id,
                                                             WeChatIdentity.app == app)
                        .order_by(WeChatIdentity.id.desc())).first()
