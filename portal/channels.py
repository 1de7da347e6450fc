"""Which payment channels this installation offers, configured from settings.

In sandbox mode (the demo, ``DIANFEI_PAYMENTS_SANDBOX``) both channels point at the local
simulators on loopback, with keys generated once under ``instance/sandbox``; the simulators
themselves are started by ``dianfei run`` (``portal.sandbox``).  Otherwise a channel is offered
when its ids and keys are configured (``Settings`` has refused a half-configured one already), and
a key file that is not a usable key stops startup naming its setting.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from billing.clock import Clock
from billing.money import parse_yuan
from payments.checkout import Limits
from payments.gateways.alipay import AlipayConfig, AlipayGateway
from payments.gateways.base import Gateway
from payments.gateways.wechatpay import WeChatPayConfig, WeChatPayGateway
from portal.config import Settings


def payment_limits(settings: Settings) -> Limits:
    return Limits(parse_yuan(settings.PAYMENT_MIN), parse_yuan(settings.PAYMENT_MAX),
                  timedelta(minutes=settings.ORDER_TTL_MINUTES))


def notify_url(settings: Settings, channel: str) -> str:
    return f"{settings.PUBLIC_URL.rstrip('/')}/callbacks/{channel}"


def build_gateways(settings: Settings, clock: Clock) -> dict[str, Gateway]:
    if settings.PAYMENTS_SANDBOX:
        from portal.sandbox import sandbox_settings

        settings = replace(settings, **sandbox_settings(settings))
    gateways: dict[str, Gateway] = {}
    if settings.offers("wechat"):
        gateways["wechat"] = WeChatPayGateway(_wechat_config(settings), clock=clock)
    if settings.offers("alipay"):
        gateways["alipay"] = AlipayGateway(_alipay_config(settings), clock=clock)
    return gateways


def _path(value: str) -> Path | None:
    return Path(value) if value else None


def _wechat_config(settings: Settings) -> WeChatPayConfig:
    return WeChatPayConfig(
        mchid=settings.WECHATPAY_MCHID, appid=settings.WECHATPAY_APPID, apiv3_key=settings.WECHATPAY_APIV3_KEY,
        merchant_key_file=Path(settings.WECHATPAY_MERCHANT_KEY_FILE),
        merchant_serial=settings.WECHATPAY_MERCHANT_SERIAL,
        notify_url=settings.WECHATPAY_NOTIFY_URL or notify_url(settings, "wechatpay"),
        gateway_url=settings.WECHATPAY_GATEWAY, public_key_file=_path(settings.WECHATPAY_PUBLIC_KEY_FILE),
        public_key_id=settings.WECHATPAY_PUBLIC_KEY_ID or None, cert_dir=_path(settings.WECHATPAY_CERT_DIR),
    )


def _alipay_config(settings: Settings) -> AlipayConfig:
    return AlipayConfig(
        app_id=settings.ALIPAY_APP_ID, seller_id=settings.ALIPAY_SELLER_ID,
        app_private_key_file=Path(settings.ALIPAY_APP_KEY_FILE),
        alipay_public_key_file=Path(settings.ALIPAY_PUBLIC_KEY_FILE),
        notify_url=settings.ALIPAY_NOTIFY_URL or notify_url(settings, "alipay"), gateway_url=settings.ALIPAY_GATEWAY,
    )
