"""Settings: one typed, frozen object, read once at startup.

Defaults, then environment variables (``DIANFEI_<NAME>``, and ``DATABASE_URL``), then the overrides
a test passes to ``create_app``.  Making a ``Settings`` checks every value (its type, its allowed
values, what production refuses) and reports every problem at once, one line each, naming the
variable.  Secrets come only from the environment or, outside production, the instance folder.

Adding a setting is one line in ``Settings``; README's configuration table is ``settings_table()``
(a test keeps the two equal).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import get_type_hints
from urllib.parse import urlsplit

from billing.errors import InvalidAmount
from billing.money import parse_yuan
from billing.read_rules import ReadRules
from notifications.templates import TEMPLATES
from portal.errors import ConfigError
from portal.i18n import LANGUAGES

PREFIX = "DIANFEI_"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("development", "test", "production")
PRODUCTION = "production"
PORTS = (1, 65535)
MIN_SECRET_BYTES = 32
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
CHANNEL_URL = "the channels only call https notify URLs"
GATEWAY_URL = "payment requests must not travel unencrypted"
HEAD_END_URL = "switch orders for customers' supply must not travel unencrypted"
WECHAT_NEEDS = ("WECHATPAY_MCHID", "WECHATPAY_APPID", "WECHATPAY_APIV3_KEY", "WECHATPAY_MERCHANT_KEY_FILE",
                "WECHATPAY_MERCHANT_SERIAL")
WECHAT_PUBLIC_KEY = ("WECHATPAY_PUBLIC_KEY_FILE", "WECHATPAY_PUBLIC_KEY_ID")
ALIPAY_NEEDS = ("ALIPAY_APP_ID", "ALIPAY_SELLER_ID", "ALIPAY_APP_KEY_FILE", "ALIPAY_PUBLIC_KEY_FILE")
SMS_NEEDS = ("SMS_SECRET_ID", "SMS_SECRET_KEY", "SMS_APP_ID", "SMS_SIGN_NAME", "SMS_TEMPLATES")
SMS_URL = "the SMS secret signs every request, and message texts are personal data"


def setting(default: object, doc: str, *, shown: str | None = None, env: str | None = None,
            choices: tuple[str, ...] = (), bounds: tuple[int, int | None] | None = None,
            url: str | None = None, demo: str | None = None, secret: bool = False):
    """One setting and its line in README.

    ``url``: must be an http(s) URL, and https in production (the value says why);
    ``demo``: a demo convenience, off by default in production and refused there (the value says why).
    """
    meta = dict(doc=doc, shown=shown, env=env, choices=choices, bounds=bounds, url=url, demo=demo)
    return field(default=default, repr=not secret, metadata=meta)


@dataclass(frozen=True)
class Settings:
    ENV: str = setting("development", "`production` refuses every demo convenience (see the checklist below)",
                       choices=ENVIRONMENTS)
    INSTANCE_PATH: str = setting(str(PROJECT_ROOT / "instance"), "the SQLite file, the generated secret key and the "
                                 "sandbox keys", shown="`./instance`")
    SECRET_KEY: str = setting("", f"signs sessions; in production set it, at least {MIN_SECRET_BYTES} bytes",
                              shown="generated into `instance/secret_key`", secret=True)
    DATABASE_URL: str = setting("", "`sqlite:///path` or `postgresql://user:pass@host/db` (psycopg 3)",
                                env="DATABASE_URL", shown="`sqlite:///instance/dianfei.sqlite3`")
    DEMO_SMS: bool = setting(True, "show login codes on screen instead of sending them",
                             demo="anyone could log in as any phone")
    RESIDENT_LOGIN: bool = setting(True, "offer resident login by SMS code; needs a way to deliver codes: SMS "
                                   "(`DIANFEI_SMS_*`) or, outside production, `DIANFEI_DEMO_SMS`")
    DEFAULT_LANGUAGE: str = setting("zh", "the language when the browser does not say", choices=LANGUAGES)
    HOST: str = setting("127.0.0.1", "where `dianfei run` listens")
    PORT: int = setting(5000, "where `dianfei run` listens", bounds=PORTS)
    PROXIES: int = setting(0, "reverse proxies in front of the portal whose `X-Forwarded-For`/`-Proto`/`-Host` "
                           "are trusted; the rate limits count the client address they report", bounds=(0, 5))
    PUBLIC_URL: str = setting("http://127.0.0.1:5000", "how the channels and payers reach us: notify URLs "
                              "`<PUBLIC_URL>/callbacks/wechatpay` and `/callbacks/alipay`, return pages "
                              "`<PUBLIC_URL>/pay/orders/...`", url=CHANNEL_URL)
    PAYMENT_MIN: str = setting("1.00", "smallest payment per 户号, yuan")
    PAYMENT_MAX: str = setting("5000.00", "largest payment per 户号, yuan")
    ORDER_TTL_MINUTES: int = setting(30, "order lifetime at the channel", bounds=(1, None))
    SYNC_AFTER_MINUTES: int = setting(5, "age of an open order before `payments sync` asks the channel",
                                      bounds=(0, None))
    PAYMENTS_SANDBOX: bool = setting(True, "point both channels at the local simulators (ids and keys under "
                                     "`instance/sandbox/`), ignoring the channel settings below",
                                     demo="payments would go to the local simulators")
    SANDBOX_WECHATPAY_PORT: int = setting(5101, "where `dianfei run` serves the WeChat Pay simulator", bounds=PORTS)
    SANDBOX_ALIPAY_PORT: int = setting(5102, "where `dianfei run` serves the Alipay simulator", bounds=PORTS)
    HEAD_END_SANDBOX: bool = setting(True, "send remote cuts and restores to the local head-end simulator (served by "
                                     "`dianfei run`), ignoring the two head-end settings below",
                                     demo="supply orders would go to a simulator, not to the meters")
    SANDBOX_HEAD_END_PORT: int = setting(5103, "where `dianfei run` serves the head-end simulator", bounds=PORTS)
    HEAD_END_URL: str = setting("", "the metering head-end's switch API for smart meters' remote cuts and restores; "
                                "without one, remote orders wait (and late restores are still escalated)",
                                url=HEAD_END_URL)
    HEAD_END_TOKEN: str = setting("", "the bearer token the head-end expects", secret=True)
    WECHATPAY_MCHID: str = setting("", "WeChat Pay merchant id (a notification for another is an incident)")
    WECHATPAY_APPID: str = setting("", "WeChat app id (a notification for another is an incident)")
    WECHATPAY_APIV3_KEY: str = setting("", "the 32-character APIv3 key (decrypts notifications)",
                                        secret=True)
    WECHATPAY_MERCHANT_KEY_FILE: str = setting("", "merchant API private key file (PEM or the console's bare base64)")
    WECHATPAY_MERCHANT_SERIAL: str = setting("", "serial of the merchant API certificate")
    WECHATPAY_PUBLIC_KEY_FILE: str = setting("", "WeChat Pay public key file (PEM or bare base64)")
    WECHATPAY_PUBLIC_KEY_ID: str = setting("", "its `PUB_KEY_ID_...`")
    WECHATPAY_CERT_DIR: str = setting("", "folder of platform certificates `<SERIAL>.pem`: set this, the public key, "
                                      "or both (both are accepted at once, chosen by `Wechatpay-Serial`)")
    WECHATPAY_GATEWAY: str = setting("https://api.mch.weixin.qq.com", "WeChat Pay API", url=GATEWAY_URL)
    WECHATPAY_NOTIFY_URL: str = setting("", "notify URL, if not the one made from `DIANFEI_PUBLIC_URL`",
                                        url=CHANNEL_URL)
    ALIPAY_APP_ID: str = setting("", "Alipay app id (a notification for another is an incident)")
    ALIPAY_SELLER_ID: str = setting("", "Alipay merchant PID `2088...` (a notification for another is an incident)")
    ALIPAY_APP_KEY_FILE: str = setting("", "app private key file, RSA2 (PEM or the console's bare base64)")
    ALIPAY_PUBLIC_KEY_FILE: str = setting("", "Alipay public key file (PEM or bare base64)")
    ALIPAY_GATEWAY: str = setting("https://openapi.alipay.com/gateway.do", "Alipay gateway", url=GATEWAY_URL)
    ALIPAY_NOTIFY_URL: str = setting("", "notify URL, if not the one made from `DIANFEI_PUBLIC_URL`", url=CHANNEL_URL)
    BROKER_URL: str = setting("", "Redis URL of the Celery broker: the scheduled commands then run on workers "
                              "(`celery -A portal.jobs worker`)", secret=True)
    SMS_SECRET_ID: str = setting("", "Tencent Cloud SMS: API SecretId (a sub-account allowed only SendSms and "
                                 "PullSmsSendStatus); setting any SMS id turns SMS on and needs all of them")
    SMS_SECRET_KEY: str = setting("", "its SecretKey", secret=True)
    SMS_APP_ID: str = setting("", "the SMS application's SdkAppId (`1400...`)")
    SMS_SIGN_NAME: str = setting("", "the approved 签名, without 【】")
    SMS_TEMPLATES: str = setting("", "approved template ids per message kind, `kind=id,kind=id`; `kind/en=id` for "
                                 "English (else English readers get the Chinese template); every kind needs one")
    SMS_REGION: str = setting("ap-guangzhou", "Tencent Cloud region of the SMS application")
    SMS_ENDPOINT: str = setting("https://sms.tencentcloudapi.com", "Tencent Cloud SMS API", url=SMS_URL)
    SMS_CONCURRENCY: int = setting(8, "SendSms requests in flight at once per dispatcher", bounds=(1, 64))
    SMS_SANDBOX: bool = setting(False, "send SMS to the local Tencent SMS simulator that `dianfei run` serves (it "
                                "prints each message it accepts), ignoring the SMS settings above",
                                demo="messages would go to the local simulator")
    SANDBOX_SMS_PORT: int = setting(5103, "where `dianfei run` serves the Tencent SMS simulator", bounds=PORTS)
    WECHAT_SANDBOX: bool = setting(True, "WeChat login (微信一键登录, the mini-program's code2session) and WeChat "
                                   "messages against the local WeChat simulator that `dianfei run` serves, with its "
                                   "own app ids, ignoring the WeChat app settings below",
                                   demo="anyone could log in as any WeChat user of the simulator")
    SANDBOX_WECHAT_PORT: int = setting(5104, "where `dianfei run` serves the WeChat simulator", bounds=PORTS)
    WECHAT_OA_APPID: str = setting("", "official account (公众号) app id: 微信一键登录 in the WeChat browser, JSAPI "
                                   "payments' openid, template messages")
    WECHAT_OA_SECRET: str = setting("", "its AppSecret", secret=True)
    WECHAT_OA_TEMPLATES: str = setting("", "its template message ids per message kind, `kind=id,kind=id`; without "
                                       "them no template messages are sent")
    WECHAT_MINI_APPID: str = setting("", "mini-program app id: code2session login and subscribe messages")
    WECHAT_MINI_SECRET: str = setting("", "its AppSecret", secret=True)
    WECHAT_MINI_TEMPLATES: str = setting("", "its subscribe message ids per message kind, `kind=id,kind=id`; "
                                         "without them no subscribe messages are sent")
    READ_REGISTER_DIGITS: int = setting(ReadRules.register_digits, "whole-kWh digits of a meter register: it rolls "
                                        "over to zero after 10^N kWh (5: 99999.99), which tells a rollover from a "
                                        "misread", bounds=(4, 9))
    READ_ZERO_DAYS: int = setting(ReadRules.zero_days, "days an active account's register may stand still before it "
                                  "is a stopped meter", bounds=(2, 90))
    READ_GAP_DAYS: int = setting(ReadRules.gap_days, "days a smart meter may send no read before it is a gap",
                                 bounds=(1, 90))
    READ_TRAILING_DAYS: int = setting(ReadRules.trailing_days, "days of the trailing average daily use a read is "
                                      "compared with", bounds=(7, 365))
    READ_HIGH_PERCENT: int = setting(ReadRules.high_percent, "daily use above this percentage of the trailing "
                                     "average is high", bounds=(101, 10_000))
    READ_LOW_PERCENT: int = setting(ReadRules.low_percent, "daily use below this percentage of the trailing average "
                                    "(but not zero) is low", bounds=(1, 99))
    READ_YEAR_HIGH_PERCENT: int = setting(ReadRules.year_high_percent, "a month's use above this percentage of the "
                                          "same month last year is high", bounds=(101, 10_000))
    READ_YEAR_LOW_PERCENT: int = setting(ReadRules.year_low_percent, "a month's use below this percentage of the "
                                         "same month last year is low", bounds=(1, 99))
    READ_IDLE_WH: int = setting(ReadRules.idle_wh, "daily use (Wh) at or below which there is none: use above it on a "
                                "vacant, disconnected or closed account or a prepaid account below zero is a "
                                "finding, and averages below it are not compared", bounds=(0, 100_000))
    READ_TOU_TOLERANCE_WH: int = setting(ReadRules.tou_tolerance_wh, "how far (Wh) the 尖峰平谷 registers may add up "
                                         "from the total", bounds=(0, 10_000))
    LOSS_HIGH_PERCENT: int = setting(ReadRules.loss_high_percent, "a district's line loss above this percentage of "
                                     "its supply is high (complete figures only)", bounds=(1, 100))
    READ_RANGE_LOW_PERCENT: int = setting(50, "a manual read whose use since the last read is below this share of the "
                                          "expected use (average daily use x days) must be confirmed with a note and "
                                          "goes to review", bounds=(0, 100))
    READ_RANGE_HIGH_PERCENT: int = setting(200, "likewise above this share of the expected use", bounds=(100, 1000))
    READ_RANGE_MIN_KWH: int = setting(10, "the expected range reaches at least this many kWh above the expected use "
                                      "(a meter that used next to nothing)", bounds=(0, 100000))
    READ_PHOTO_MAX_MB: int = setting(5, "largest photo of a meter face a reader may attach, MB", bounds=(1, 20))
    BILL_HIGH_MULTIPLE: int = setting(3, "the bill run holds a bill above this many times the account's average of "
                                      "its last 6 issued bills for review", bounds=(2, 100))
    BILL_DUE_DAYS: int = setting(15, "days from a bill's issue to its due date", bounds=(1, 90))
    MAX_BINDINGS: int = setting(10, "most 户号 one resident may bind (a family member binds the same 户号 under "
                                "their own count)", bounds=(1, 100))

    def __post_init__(self) -> None:
        problems = [problem for item in fields(self) if (problem := _field_problem(item, getattr(self, item.name)))]
        if not problems:  # the rules between settings need well-typed values
            problems = [*self._production_problems(), *self._login_problems(), *self._limit_problems(),
                        *self._channel_problems(), *self._sms_problems(), *self._wechat_problems()]
        if problems:
            raise ConfigError("\n".join(problems))

    @property
    def production(self) -> bool:
        return self.ENV == PRODUCTION

    @property
    def read_rules(self) -> ReadRules:
        """The read-validation and line-loss thresholds, for ``billing.read_rules.check_reads``."""
        return ReadRules(**{item.name: getattr(self, item.name.upper() if item.name.startswith("loss")
                                              else f"READ_{item.name.upper()}") for item in fields(ReadRules)})

    @property
    def shows_login_codes(self) -> bool:
        """The demo shows login codes on screen (and sends SMS to the console); production refuses it."""
        return self.DEMO_SMS and not self.production

    @property
    def sends_sms(self) -> bool:
        """An SMS provider is configured (``Settings`` has refused a half-configured one), or the simulator."""
        return self.SMS_SANDBOX or any(getattr(self, name) for name in SMS_NEEDS)

    @property
    def sms_templates(self) -> dict[str, str]:
        """``DIANFEI_SMS_TEMPLATES`` as ``{"kind": id, "kind/en": id}``."""
        return _kind_ids(self.SMS_TEMPLATES)

    def offers(self, channel: str) -> bool:
        """A channel is offered once any of its ids or keys is set (and then it needs all of them)."""
        return any(getattr(self, name) for name in self._channel_needs()[channel][1])

    def _channel_needs(self) -> dict[str, tuple[str, tuple[str, ...]]]:
        """Each channel's name and what it needs; WeChat Pay verifies with its public key, platform
        certificates, or both."""
        certificates_only = self.WECHATPAY_CERT_DIR and not any(getattr(self, name) for name in WECHAT_PUBLIC_KEY)
        verify = ("WECHATPAY_CERT_DIR",) if certificates_only else WECHAT_PUBLIC_KEY
        return {"wechat": ("WeChat Pay", WECHAT_NEEDS + verify), "alipay": ("Alipay", ALIPAY_NEEDS)}

    def _production_problems(self) -> list[str]:
        if not self.production:
            return []
        when = f"when {PREFIX}ENV=production"
        problems = [f"{env_name(name)}: required {when}" for name in ("SECRET_KEY", "DATABASE_URL")
                    if not getattr(self, name)]
        if self.SECRET_KEY and len(self.SECRET_KEY.encode()) < MIN_SECRET_BYTES:
            problems.append(f"{PREFIX}SECRET_KEY: must be at least {MIN_SECRET_BYTES} bytes {when}")
        for item in fields(self):
            value, meta = getattr(self, item.name), item.metadata
            if meta["demo"] and value:
                problems.append(f"{env_name(item.name)}: must be false {when} ({meta['demo']})")
            if meta["url"] and value and urlsplit(value).scheme != "https":
                problems.append(f"{env_name(item.name)}: must be an https URL {when} ({meta['url']})")
        return problems

    def _login_problems(self) -> list[str]:
        if not self.RESIDENT_LOGIN or self.shows_login_codes or self.sends_sms:
            return []
        if self.production:
            return [f"{PREFIX}RESIDENT_LOGIN: residents log in with a code sent by SMS and no SMS provider is "
                    f"configured ({PREFIX}SMS_*; {PREFIX}DEMO_SMS is refused in production): configure SMS, or set "
                    f"{PREFIX}RESIDENT_LOGIN=false to run the staff back office and payment callbacks only"]
        return [f"{PREFIX}RESIDENT_LOGIN: residents log in with a code sent by SMS and no SMS provider is configured: "
                f"configure {PREFIX}SMS_*, set {PREFIX}DEMO_SMS=true (codes shown on screen) or "
                f"{PREFIX}RESIDENT_LOGIN=false"]

    def _limit_problems(self) -> list[str]:
        amounts, problems = {}, []
        for name in ("PAYMENT_MIN", "PAYMENT_MAX"):
            try:
                amounts[name] = parse_yuan(getattr(self, name), env_name(name))
            except InvalidAmount as error:
                problems.append(str(error))
                continue
            if amounts[name] <= 0:
                problems.append(f"{env_name(name)}: must be more than 0.00")
        if not problems and amounts["PAYMENT_MIN"] > amounts["PAYMENT_MAX"]:
            problems.append(f"{PREFIX}PAYMENT_MIN: must not be more than {PREFIX}PAYMENT_MAX")
        return problems

    def _channel_problems(self) -> list[str]:
        if self.PAYMENTS_SANDBOX:  # the simulators' own ids and keys are used
            return []
        problems = []
        for channel, (label, needs) in self._channel_needs().items():
            missing = [env_name(name) for name in needs if not getattr(self, name)]
            if self.offers(channel) and missing:
                problems.append(f"{', '.join(missing)}: required to offer {label}")
        if self.WECHATPAY_APIV3_KEY and len(self.WECHATPAY_APIV3_KEY.encode()) != 32:
            problems.append(f"{PREFIX}WECHATPAY_APIV3_KEY: must be exactly 32 characters")
        return problems

    def _sms_problems(self) -> list[str]:
        if self.SMS_SANDBOX or not self.sends_sms:  # the simulator's own ids and templates are used
            return []
        missing = [env_name(name) for name in SMS_NEEDS if not getattr(self, name)]
        problems = [f"{', '.join(missing)}: required to send SMS"] if missing else []
        if self.SMS_TEMPLATES:
            problems += _template_problems(self.SMS_TEMPLATES, self.sms_templates)
        return problems

    def wechat_templates(self, app: str) -> dict[str, str]:
        """``DIANFEI_WECHAT_OA_TEMPLATES`` or ``..._MINI_TEMPLATES`` as ``{"kind": id}``."""
        return _kind_ids(getattr(self, f"WECHAT_{app.upper()}_TEMPLATES"))

    def _wechat_problems(self) -> list[str]:
        """An app needs its id and secret together; template ids name message kinds."""
        problems = []
        for app in ("OA", "MINI"):
            names = (f"WECHAT_{app}_APPID", f"WECHAT_{app}_SECRET")
            if any(getattr(self, name) for name in names) and not all(getattr(self, name) for name in names):
                problems.append(f"{', '.join(env_name(name) for name in names)}: set both or neither")
            problems += [f"{env_name(f'WECHAT_{app}_TEMPLATES')}: {key!r} is not a message kind"
                         for key in self.wechat_templates(app) if key not in TEMPLATES]
        if self.WECHAT_OA_APPID and self.WECHATPAY_APPID not in ("", self.WECHAT_OA_APPID):
            problems.append(f"{PREFIX}WECHATPAY_APPID: must be {PREFIX}WECHAT_OA_APPID (a JSAPI payment in WeChat "
                            "names its payer by the official account's openid)")
        return problems


def _kind_ids(text: str) -> dict[str, str]:
    pairs = (item.partition("=") for item in text.split(",") if item.strip())
    return {key.strip(): value.strip() for key, _, value in pairs}


def _template_problems(text: str, templates: dict[str, str]) -> list[str]:
    """Each entry must be a known kind (or ``kind/en``) and a numeric id, and every kind needs one:
    a kind without a template could never be sent."""
    name = f"{PREFIX}SMS_TEMPLATES"
    problems = [f"{name}: expected kind=id, got {item.strip()!r}" for item in text.split(",")
                if item.strip() and "=" not in item]
    known = set(TEMPLATES) | {f"{kind}/en" for kind in TEMPLATES}
    problems += [f"{name}: {key!r} is not a message kind" for key in templates if key not in known]
    problems += [f"{name}: template id of {key} must be digits, got {value!r}" for key, value in templates.items()
                 if key in known and not value.isdigit()]
    missing = sorted(set(TEMPLATES) - templates.keys())
    if missing:
        problems.append(f"{name}: no template id for {', '.join(missing)}")
    return problems


TYPES: dict[str, type] = get_type_hints(Settings)
TYPE_WORDS = {bool: "true or false", int: "a whole number", str: "text"}
NAMES = frozenset(TYPES)
DEMO_CONVENIENCES = tuple(item.name for item in fields(Settings) if item.metadata["demo"])


ENV_NAMES = {item.name: item.metadata["env"] or PREFIX + item.name for item in fields(Settings)}


def env_name(name: str) -> str:
    return ENV_NAMES[name]


def _field_problem(item, value: object) -> str | None:
    name, meta, kind = env_name(item.name), item.metadata, TYPES[item.name]
    if type(value) is not kind:
        return f"{name}: expected {TYPE_WORDS[kind]}, got {value!r}"
    if meta["choices"] and value not in meta["choices"]:
        return f"{name}: expected one of {', '.join(meta['choices'])}, got {value!r}"
    low, high = meta["bounds"] or (None, None)
    if (low is not None and value < low) or (high is not None and value > high):
        allowed = f"from {low} to {high}" if high is not None else f"of at least {low}"
        return f"{name}: expected a whole number {allowed}, got {value}"
    if meta["url"] and value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return f"{name}: expected an http(s) URL, got {value!r}"
    return None


def load_settings(environ: Mapping[str, str], overrides: Mapping[str, object] | None = None) -> Settings:
    """The settings from the environment and the overrides; keys of ``overrides`` that are not settings
    (a test's ENGINE, CLOCK, GATEWAYS) are left to the caller."""
    unknown = sorted(name for name in environ if name.startswith(PREFIX) and name not in ENV_NAMES.values())
    if unknown:
        raise ConfigError("\n".join(f"{name}: not a setting (README lists them under Configuration)"
                                    for name in unknown))
    given = {name: environ[env_name(name)] for name in NAMES if env_name(name) in environ}
    given |= {name: value for name, value in (overrides or {}).items() if name in NAMES}
    given = {name: _convert(TYPES[name], value) for name, value in given.items()}
    if given.get("ENV") == PRODUCTION:  # demo conveniences are off unless asked for (and then refused)
        given = dict.fromkeys(DEMO_CONVENIENCES, False) | given
    settings = Settings(**given)
    return settings if settings.production else _with_instance_defaults(settings)


def _convert(kind: type, value: object) -> object:
    """Text from the environment to the setting's type; anything unconvertible is left for the check."""
    if not isinstance(value, str) or kind is str:
        return value
    if kind is bool:
        return True if value.lower() in TRUE else False if value.lower() in FALSE else value
    try:
        return int(value)
    except ValueError:
        return value


def _with_instance_defaults(settings: Settings) -> Settings:
    """Outside production a missing database or secret key lives in the instance folder."""
    instance = Path(settings.INSTANCE_PATH)
    instance.mkdir(parents=True, exist_ok=True)
    database_url = settings.DATABASE_URL or f"sqlite:///{instance / 'dianfei.sqlite3'}"
    key_file = instance / "secret_key"
    if not settings.SECRET_KEY and not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return replace(settings, DATABASE_URL=database_url, SECRET_KEY=settings.SECRET_KEY or key_file.read_text().strip())


def settings_table() -> str:
    """README's configuration table."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for item in fields(Settings):
        choices = item.metadata["choices"]
        meaning = item.metadata["doc"] + (f"; one of {', '.join(f'`{c}`' for c in choices)}" if choices else "")
        rows.append(f"| `{env_name(item.name)}` | {_shown_default(item)} | {meaning} |")
    return "\n".join(rows)


def _shown_default(item) -> str:
    meta, default = item.metadata, item.default
    if meta["shown"]:
        return meta["shown"]
    if meta["demo"]:
        return f"`{str(default).lower()}` (`false` in production, where `true` is refused)"
    if default == "":
        return "unset"
    return f"`{str(default).lower() if isinstance(default, bool) else default}`"
