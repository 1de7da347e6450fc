"""Who a WeChat login code belongs to, asked of WeChat through ``wechatpy``.

The web (official account): ``wechatpy.oauth.WeChatOAuth`` makes the authorize URL the WeChat browser
opens (``snsapi_base``: no consent screen in real WeChat, just a redirect back with a code) and trades
the code for the openid (``/sns/oauth2/access_token``).  The mini-program: ``wx.login()``'s code is
traded through the wxa API's ``code_to_session`` (``/sns/jscode2session``).  wechatpy's client first
fetches the app's access token for that call, as it does for every call; WeChat ignores it there.

Every answer ends as a ``WeChatUser`` or one of billing's WeChat errors, never an SDK exception.
The only module of the portal that imports the SDK (see the import-linter contracts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import requests
from wechatpy.exceptions import WeChatClientException
from wechatpy.oauth import WeChatOAuth

from billing.wechat_identities import (MINI, OA, WeChatCodeRejected, WeChatCodeUsed, WeChatUnavailable,
                                       WeChatUserRefused)
from notifications.channels.wechat import API_ROOT, ApiClient, TimeoutSession

OAUTH_ROOT = "https://open.weixin.qq.com"
INVALID_CODE, CODE_USED, RISKY_USER = 40029, 40163, 40226


class App(NamedTuple):
    appid: str
    secret: str


@dataclass(frozen=True)
class WeChatUser:
    app: str  # OA or MINI
    openid: str
    unionid: str = ""


class WeChatLogin:
    """The apps this installation logs residents in with; either may be missing (not configured)."""

    def __init__(self, apps: dict[str, App], *, api_root: str = API_ROOT, oauth_root: str = OAUTH_ROOT,
                 timeout: float = 5.0) -> None:
        self.apps, self.api_root, self.oauth_root, self.timeout = dict(apps), api_root, oauth_root, timeout

    def offers(self, app: str) -> bool:
        return app in self.apps

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        """Where the WeChat browser goes to hand us a code for the official account's openid."""
        return self._oauth(redirect_uri, state).authorize_url

    def web_user(self, code: str) -> WeChatUser:
        """The official-account user whose OAuth ``code`` this is (one use, 5 minutes)."""
        answer = _asked(lambda: self._oauth("", "").fetch_access_token(code))
        return WeChatUser(OA, _text(answer, "openid"), _text(answer, "unionid", required=False))

    def mini_user(self, code: str) -> WeChatUser:
        """The mini-program user whose ``wx.login()`` code this is (one use, 5 minutes)."""
        app = self.apps[MINI]
        client = ApiClient(app.appid, app.secret, api_root=self.api_root, timeout=self.timeout)
        answer = _asked(lambda: client.wxa.code_to_session(code))
        return WeChatUser(MINI, _text(answer, "openid"), _text(answer, "unionid", required=False))

    def _oauth(self, redirect_uri: str, state: str) -> WeChatOAuth:
        app = self.apps[OA]
        oauth = WeChatOAuth(app.appid, app.secret, redirect_uri, scope="snsapi_base", state=state)
        oauth.API_BASE_URL, oauth.OAUTH_BASE_URL = f"{self.api_root}/", f"{self.oauth_root}/connect/"
        oauth._http = TimeoutSession(self.timeout)  # wechatpy's own session would wait for ever
        return oauth


def _asked(call) -> dict:
    """WeChat's answer, or the error it means for the person logging in."""
    try:
        answer = call()
    except WeChatClientException as error:
        if error.errcode == CODE_USED:
            raise WeChatCodeUsed(error.errcode) from None
        if error.errcode == INVALID_CODE:
            raise WeChatCodeRejected(error.errcode) from None
        if error.errcode == RISKY_USER:
            raise WeChatUserRefused("WeChat refuses this user a login", errcode=error.errcode) from None
        raise WeChatUnavailable(f"WeChat answered {error.errcode} {error.errmsg}"[:200]) from None
    except (requests.RequestException, ValueError) as error:  # no connection, a page that is not JSON
        raise WeChatUnavailable(f"WeChat unreachable: {type(error).__name__}") from None
    if not isinstance(answer, dict):  # wechatpy's client hands back a response it could not read as JSON
        raise WeChatUnavailable("WeChat answer is not JSON")
    return answer


def _text(answer: dict, name: str, *, required: bool = True) -> str:
    value = answer.get(name, "")
    if not isinstance(value, str) or len(value) > 64 or (required and not value):
        raise WeChatUnavailable(f"WeChat answer without a usable {name}")
    return value
