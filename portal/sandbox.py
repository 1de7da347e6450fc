"""Demo wiring: the local WeChat Pay and Alipay simulators as the demo's cashiers, the local Tencent
SMS simulator as its SMS provider (``DIANFEI_SMS_SANDBOX``), the metering head-end simulator
that throws the demo's relays (``DIANFEI_HEAD_END_SANDBOX``), and the local WeChat that residents
log in with and get messages from (``DIANFEI_WECHAT_SANDBOX``).

The only production-side module that imports the simulators (``payments.sandbox``,
``notifications.sms_sandbox``, ``metering.sandbox``, ``portal.wechat.sandbox``).  Keys are generated once under ``instance/sandbox``; ``sandbox_settings`` points the channel settings at the simulators' loopback
ports, with the placeholder merchant and app ids the simulators answer as, and ``start_sandboxes``
(called by ``dianfei run``) serves them.
"""

from __future__ import annotations

from pathlib import Path

from billing.clock import Clock
from billing.privacy import mask_phone
from notifications.channels.wechat import FIELDS as WECHAT_FIELDS
from notifications.sms_sandbox.registry import SANDBOX_SMS, sandbox_provider, templates_setting
from metering.sandbox import HeadEndSandbox
from payments.sandbox.alipay import AlipaySandbox
from payments.sandbox.keys import alipay_keys, wechat_keys
from payments.sandbox.server import LoopbackServer
from payments.sandbox.wechatpay import WeChatPaySandbox
from portal.config import Settings
from portal.wechat.sandbox import WeChatLoginSandbox

# Placeholder ids: only ever in sandbox mode, never a default of a real channel.
SANDBOX_IDS = {
    "WECHATPAY_MCHID": "1900000001",
    "WECHATPAY_APPID": "wx8888888888888888",
    "ALIPAY_APP_ID": "2021000000000001",
    "ALIPAY_SELLER_ID": "2088000000000001",
}


SANDBOX_HEAD_END_TOKEN = "sandbox-head-end"


def _folder(settings: Settings) -> Path:
    return Path(settings.INSTANCE_PATH) / "sandbox"


def sandbox_settings(settings: Settings) -> dict[str, str]:
    """Channel settings that point at the simulators, with the sandbox ids and keys."""
    wechat, alipay = wechat_keys(_folder(settings) / "wechatpay"), alipay_keys(_folder(settings) / "alipay")
    return SANDBOX_IDS | {
        "WECHATPAY_APIV3_KEY": wechat.apiv3_key,
        "WECHATPAY_MERCHANT_KEY_FILE": str(wechat.merchant_private_key),
        "WECHATPAY_MERCHANT_SERIAL": wechat.merchant_serial,
        "WECHATPAY_PUBLIC_KEY_FILE": str(wechat.platform_public_key),
        "WECHATPAY_PUBLIC_KEY_ID": wechat.public_key_id,
        "WECHATPAY_CERT_DIR": str(wechat.platform_cert_dir),
        "WECHATPAY_GATEWAY": f"http://127.0.0.1:{settings.SANDBOX_WECHATPAY_PORT}",
        "ALIPAY_APP_KEY_FILE": str(alipay.app_private_key),
        "ALIPAY_PUBLIC_KEY_FILE": str(alipay.alipay_public_key),
        "ALIPAY_GATEWAY": f"http://127.0.0.1:{settings.SANDBOX_ALIPAY_PORT}/gateway.do",
    }


def sandboxes(settings: Settings, clock: Clock, *, by_hand: bool = False) -> tuple[WeChatPaySandbox, AlipaySandbox]:
    """Both simulators with the instance's keys and ids, not yet served; ``by_hand``: they send no
    notification and finish no refund by themselves (the demo's history does both when it says)."""
    wechat = WeChatPaySandbox(wechat_keys(_folder(settings) / "wechatpay"), mchid=SANDBOX_IDS["WECHATPAY_MCHID"],
                              appid=SANDBOX_IDS["WECHATPAY_APPID"], clock=clock, auto_notify=not by_hand,
                              auto_refund=not by_hand)
    alipay = AlipaySandbox(alipay_keys(_folder(settings) / "alipay"), app_id=SANDBOX_IDS["ALIPAY_APP_ID"],
                           seller_id=SANDBOX_IDS["ALIPAY_SELLER_ID"], clock=clock, auto_notify=not by_hand)
    return wechat, alipay


def head_end_sandbox_url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.SANDBOX_HEAD_END_PORT}"


def start_head_end_sandbox(settings: Settings) -> HeadEndSandbox:
    """The head-end simulator for the demo's cuts and restores: it keeps its switches in memory, so
    it lives in the long-running ``dianfei run`` and ``dianfei supply work`` calls it there."""
    return HeadEndSandbox(SANDBOX_HEAD_END_TOKEN).serve(settings.SANDBOX_HEAD_END_PORT)


def start_sandboxes(settings: Settings, clock: Clock) -> list[LoopbackServer]:
    """Serve both simulators on their configured ports, with the channels' real retry timing."""
    wechat, alipay = sandboxes(settings, clock)
    return [wechat.serve(settings.SANDBOX_WECHATPAY_PORT), alipay.serve(settings.SANDBOX_ALIPAY_PORT)]


def sms_sandbox_settings(settings: Settings) -> dict[str, str]:
    """SMS settings that point at the simulator, with its placeholder ids and every template registered."""
    return SANDBOX_SMS | {"SMS_TEMPLATES": templates_setting(),
                          "SMS_ENDPOINT": f"http://127.0.0.1:{settings.SANDBOX_SMS_PORT}"}


def start_sms_sandbox(settings: Settings, show=print) -> LoopbackServer:
    """Serve the SMS simulator; each message it accepts is one line (masked number, template, values)."""
    provider = sandbox_provider()
    provider.on_accept = lambda sent: show(f"[SMS sandbox] {mask_phone(sent['number'][3:])} template "
                                           f"{sent['template']}: {', '.join(sent['params'])}")
    return LoopbackServer(provider, settings.SANDBOX_SMS_PORT).start()


# The WeChat simulator's apps.  The official account is the app WeChat Pay's sandbox merchant is bound
# to: a JSAPI payment names the payer by the official account's openid.
SANDBOX_WECHAT = {
    "WECHAT_OA_APPID": SANDBOX_IDS["WECHATPAY_APPID"], "WECHAT_OA_SECRET": "sandbox-oa-secret-0123456789abcdef",
    "WECHAT_MINI_APPID": "wx9999999999999999", "WECHAT_MINI_SECRET": "sandbox-mini-secret-0123456789abcd",
}


def wechat_sandbox_settings() -> dict[str, str]:
    """WeChat app settings that the simulator answers as, every message kind with a template."""
    templates = ",".join(f"{kind}=sandbox-{kind}" for kind in WECHAT_FIELDS)
    return SANDBOX_WECHAT | {"WECHAT_OA_TEMPLATES": templates, "WECHAT_MINI_TEMPLATES": templates}


def wechat_sandbox_url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.SANDBOX_WECHAT_PORT}"


def wechat_sandbox() -> WeChatLoginSandbox:
    """The WeChat simulator with the sandbox apps, not yet served."""
    apps = {SANDBOX_WECHAT[f"WECHAT_{app}_APPID"]: SANDBOX_WECHAT[f"WECHAT_{app}_SECRET"] for app in ("OA", "MINI")}
    return WeChatLoginSandbox(apps)


def start_wechat_sandbox(settings: Settings) -> LoopbackServer:
    """Serve the WeChat simulator: the 微信一键登录 consent page, code2session and the messages."""
    return LoopbackServer(wechat_sandbox(), settings.SANDBOX_WECHAT_PORT).start()
