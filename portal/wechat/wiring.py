"""The WeChat apps this installation has, from settings: the login client and the message channels.

With ``DIANFEI_WECHAT_SANDBOX`` (the demo) both apps are the local WeChat simulator's
(``portal.sandbox``); otherwise an app is there when its id and secret are set, and its messages go
out when its template ids are set.
"""

from __future__ import annotations

from dataclasses import replace

from billing.wechat_identities import APPS, MINI, OA
from notifications.channels.base import Channel
from notifications.channels.wechat import API_ROOT, MiniProgramChannel, OfficialAccountChannel
from notifications.intake import WECHAT_CHANNELS as CHANNELS
from portal.config import Settings
from portal.wechat.client import OAUTH_ROOT, App, WeChatLogin

MINI_PROGRAM_HOME = "pages/index/index"


def _resolved(settings: Settings) -> tuple[Settings, str, str]:
    if not settings.WECHAT_SANDBOX:
        return settings, API_ROOT, OAUTH_ROOT
    from portal.sandbox import wechat_sandbox_settings, wechat_sandbox_url

    return replace(settings, **wechat_sandbox_settings()), wechat_sandbox_url(settings), wechat_sandbox_url(settings)


def build_wechat_login(settings: Settings) -> WeChatLogin:
    settings, api_root, oauth_root = _resolved(settings)
    apps = {app: App(getattr(settings, f"WECHAT_{app.upper()}_APPID"), getattr(settings, f"WECHAT_{app.upper()}_SECRET"))
            for app in APPS if getattr(settings, f"WECHAT_{app.upper()}_APPID")}
    return WeChatLogin(apps, api_root=api_root, oauth_root=oauth_root)


def build_wechat_channels(settings: Settings) -> dict[str, Channel]:
    """A channel per app that has its id, secret and template ids."""
    home = settings.PUBLIC_URL.rstrip("/") + "/"
    settings, api_root, _ = _resolved(settings)
    channels: dict[str, Channel] = {}
    for app, kind, opens in ((OA, OfficialAccountChannel, home), (MINI, MiniProgramChannel, MINI_PROGRAM_HOME)):
        appid, secret = (getattr(settings, f"WECHAT_{app.upper()}_{name}") for name in ("APPID", "SECRET"))
        if appid and settings.wechat_templates(app):
            channels[CHANNELS[app]] = kind(appid, secret, settings.wechat_templates(app), opens=opens,
                                           api_root=api_root)
    return channels
