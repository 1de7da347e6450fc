"""The simulator as this installation's SMS account: placeholder ids and keys, and every message
kind registered as an approved template (zh-CN and English) with its parameter count, just as the
templates would be registered at Tencent.  Used by the tests, the bench and the demo."""

from __future__ import annotations

from notifications.channels.sms_protocol import param_order
from notifications.sms_sandbox.provider import TencentSmsSandbox
from notifications.templates import TEMPLATES

# Placeholders: only ever the simulator's, never a default of the real provider.
SANDBOX_SMS = {"SMS_SECRET_ID": "AKIDsandbox0000000000000000000000000", "SMS_SECRET_KEY": "sandbox-secret-key-0000000000000",
               "SMS_APP_ID": "1400000000", "SMS_SIGN_NAME": "县供电公司"}


def template_ids() -> dict[str, str]:
    """``kind`` and ``kind/en`` -> template id, as ``DIANFEI_SMS_TEMPLATES`` would say."""
    ids = {}
    for number, kind in enumerate(TEMPLATES, start=1):
        ids[kind], ids[f"{kind}/en"] = str(200000 + number), str(210000 + number)
    return ids


def templates_setting() -> str:
    return ",".join(f"{key}={value}" for key, value in template_ids().items())


def approved_templates() -> dict[str, int]:
    """Each template id and how many parameters its registered text takes."""
    texts = {key: (t.en if key.endswith("/en") else t.zh) for t in TEMPLATES.values() for key in (t.kind, f"{t.kind}/en")}
    return {template_id: len(param_order(texts[key])) for key, template_id in template_ids().items()}


def sandbox_provider(**overrides) -> TencentSmsSandbox:
    """A simulator that knows this installation's SMS account and templates."""
    return TencentSmsSandbox(**{"secret_id": SANDBOX_SMS["SMS_SECRET_ID"], "secret_key": SANDBOX_SMS["SMS_SECRET_KEY"],
                                "app_id": SANDBOX_SMS["SMS_APP_ID"], "sign_name": SANDBOX_SMS["SMS_SIGN_NAME"],
                                "templates": approved_templates()} | overrides)
