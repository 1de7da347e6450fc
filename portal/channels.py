"""Which payment channels this installation offers, configured from settings.

In sandbox mode (the demo, ``DIANFEI_PAYMENTS_SANDBOX``) both channels point at the local
simulators on loopback, with keys generated once under ``instance/sandbox``; the simulators
themselves are started by ``dianfei run`` (``portal.sandbox``).  Otherwise a channel is offered
when its keys are configured, and a half-configured channel stops startup naming what is missing.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from billing.clock import Clock
from billing.money import parse_yuan
from payments.checkout import Limits
from payments.gateways.alipay import AlipayConfig, AlipayGateway
from payments.gateways.base import Gateway
from payments.gateways.wechatpay import WeChatPayConfig, WeChatPayGateway
from portal.errors import ConfigError

WECHAT_KEYS = ("WECHATPAY_APIV3_KEY", "WECHATPAY_MERCHANT_KEY_FILE", "WECHATPAY_MERCHANT_SERIAL")
ALIPAY_KEYS = ("ALIPAY_APP_KEY_FILE", "ALIPAY_PUBLIC_KEY_FILE")


def payment_limits(settings: dict) -> Limits:
    try:
        minimum, maximum = parse_yuan(settings["PAYMENT_MIN"]), parse_yuan(settings["PAYMENT_MAX"])
    except Exception as error:
        raise ConfigError(f"DIANFEI_PAYMENT_MIN / DIANFEI_PAYMENT_MAX: {error}") from None
    return Limits(minimum, maximum, timedelta(minutes=int(settings["ORDER_TTL_MINUTES"])))


def notify_url(settings: dict, channel: str) -> str:
    return f"{str(settings['PUBLIC_URL']).rstrip('/')}/callbacks/{channel}"


def build_gateways(settings: dict, clock: Clock) -> dict[str, Gateway]:
    if settings["PAYMENTS_SANDBOX"]:
        from portal.sandbox import sandbox_settings

        settings = {**settings, **sandbox_settings(settings)}
    gateways: dict[str, Gateway] = {}
    if _configured(settings, WECHAT_KEYS, "WeChat Pay"):
        gateways["wechat"] = WeChatPayGateway(_wechat_config(settings), clock=clock)
    if _configured(settings, ALIPAY_KEYS, "Alipay"):
        gateways["alipay"] = AlipayGateway(_alipay_config(settings), clock=clock)
    return gateways


def _configured(settings: dict, keys: tuple[str, ...], name: str) -> bool:
    present = [key for key in keys if settings[key]]
    if present and len(present) < len(keys):
        missing = ", ".join(f"DIANFEI_{key}" for key in keys if not settings[key])
        raise ConfigError(f"{missing}: required to offer {name}")
    return bool(present)


def _path(value: str) -> Path | None:
    return Path(value) if value else None


def _wechat_config(settings: dict) -> WeChatPayConfig:
    return WeChatPayConfig(
        mchid=settings["WECHATPAY_MCHID"], appid=settings["WECHATPAY_APPID"], apiv3_key=settings["WECHATPAY_APIV3_KEY"],
        merchant_key_file=Path(settings["WECHATPAY_MERCHANT_KEY_FILE"]), merchant_serial=settings["WECHATPAY_MERCHANT_SERIAL"],
        notify_url=settings["WECHATPAY_NOTIFY_URL"] or notify_url(settings, "wechatpay"),
        gateway_url=settings["WECHATPAY_GATEWAY"], public_key_file=_path(settings["WECHATPAY_PUBLIC_KEY_FILE"]),
        public_key_id=settings["WECHATPAY_PUBLIC_KEY_ID"] or None, cert_dir=_path(settings["WECHATPAY_CERT_DIR"]),
    )


def _alipay_config(settings: dict) -> AlipayConfig:
    return AlipayConfig(
        app_id=settings["ALIPAY_APP_ID"], seller_id=settings["ALIPAY_SELLER_ID"],
        app_private_key_file=Path(settings["ALIPAY_APP_KEY_FILE"]),
        alipay_public_key_file=Path(settings["ALIPAY_PUBLIC_KEY_FILE"]),
        notify_url=settings["ALIPAY_NOTIFY_URL"] or notify_url(settings, "alipay"), gateway_url=settings["ALIPAY_GATEWAY"],
    )
