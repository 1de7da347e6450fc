"""Settings: defaults, then environment variables (``DIANFEI_<NAME>``, plus ``DATABASE_URL``),
then the overrides a test passes to ``create_app``.  Secrets come only from the environment or the
instance folder; in production a missing secret stops startup with one line.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path

from portal.errors import ConfigError

PREFIX = "DIANFEI_"
PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULTS: dict[str, object] = {
    "ENV": "development",  # development | production | test
    "INSTANCE_PATH": str(PROJECT_ROOT / "instance"),
    "SECRET_KEY": "",
    "DATABASE_URL": "",
    "DEMO_SMS": True,  # show login codes on screen instead of sending an SMS
    "DEFAULT_LANGUAGE": "zh",
    "HOST": "127.0.0.1",
    "PORT": 5000,
    "PUBLIC_URL": "http://127.0.0.1:5000",  # how the channels reach our /callbacks
    # Payments: limits per 户号 and order lifetime
    "PAYMENT_MIN": "1.00",
    "PAYMENT_MAX": "5000.00",
    "ORDER_TTL_MINUTES": 30,
    "SYNC_AFTER_MINUTES": 5,
    # The demo cashiers: local WeChat Pay and Alipay simulators with keys under instance/sandbox
    "PAYMENTS_SANDBOX": True,
    "SANDBOX_WECHATPAY_PORT": 5101,
    "SANDBOX_ALIPAY_PORT": 5102,
    # WeChat Pay API v3 (ignored in sandbox mode)
    "WECHATPAY_MCHID": "1900000001",
    "WECHATPAY_APPID": "wx8888888888888888",
    "WECHATPAY_APIV3_KEY": "",
    "WECHATPAY_MERCHANT_KEY_FILE": "",
    "WECHATPAY_MERCHANT_SERIAL": "",
    "WECHATPAY_PUBLIC_KEY_FILE": "",
    "WECHATPAY_PUBLIC_KEY_ID": "",
    "WECHATPAY_CERT_DIR": "",
    "WECHATPAY_GATEWAY": "https://api.mch.weixin.qq.com",
    "WECHATPAY_NOTIFY_URL": "",
    # Alipay (ignored in sandbox mode)
    "ALIPAY_APP_ID": "2021000000000001",
    "ALIPAY_SELLER_ID": "2088000000000001",
    "ALIPAY_APP_KEY_FILE": "",
    "ALIPAY_PUBLIC_KEY_FILE": "",
    "ALIPAY_GATEWAY": "https://openapi.alipay.com/gateway.do",
    "ALIPAY_NOTIFY_URL": "",
}
REQUIRED_IN_PRODUCTION = ("SECRET_KEY", "DATABASE_URL")


def load_settings(environ: Mapping[str, str], overrides: Mapping[str, object] | None = None) -> dict[str, object]:
    settings = dict(DEFAULTS)
    for key, default in DEFAULTS.items():
        if PREFIX + key in environ:
            settings[key] = _coerce(PREFIX + key, environ[PREFIX + key], default)
    if environ.get("DATABASE_URL"):
        settings["DATABASE_URL"] = environ["DATABASE_URL"]
    settings.update(overrides or {})
    if settings["ENV"] == "production" and PREFIX + "PAYMENTS_SANDBOX" not in environ and "PAYMENTS_SANDBOX" not in (overrides or {}):
        settings["PAYMENTS_SANDBOX"] = False  # the demo cashiers are on by default everywhere but production
    _fill_from_instance(settings)
    return settings


def _coerce(name: str, raw: str, default: object) -> object:
    if isinstance(default, bool):
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name}: expected true or false, got {raw!r}")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{name}: expected a whole number, got {raw!r}") from None
    return raw


def _fill_from_instance(settings: dict[str, object]) -> None:
    """Development defaults live in the instance folder; production must say them explicitly."""
    if settings["ENV"] == "production":
        missing = [key for key in REQUIRED_IN_PRODUCTION if not settings[key]]
        if missing:
            names = ", ".join("DATABASE_URL" if key == "DATABASE_URL" else PREFIX + key for key in missing)
            raise ConfigError(f"{names}: required when {PREFIX}ENV=production")
        if settings["PAYMENTS_SANDBOX"]:
            raise ConfigError(f"{PREFIX}PAYMENTS_SANDBOX: must be false when {PREFIX}ENV=production")
        return
    instance = Path(str(settings["INSTANCE_PATH"]))
    instance.mkdir(parents=True, exist_ok=True)
    if not settings["DATABASE_URL"]:
        settings["DATABASE_URL"] = f"sqlite:///{instance / 'dianfei.sqlite3'}"
    if not settings["SECRET_KEY"]:
        key_file = instance / "secret_key"
        if not key_file.exists():
            key_file.write_text(secrets.token_hex(32))
            key_file.chmod(0o600)
        settings["SECRET_KEY"] = key_file.read_text().strip()
