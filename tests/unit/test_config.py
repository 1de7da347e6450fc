"""Settings: one typed, frozen object from defaults, DIANFEI_ variables and overrides; every problem
is one line naming its variable; production refuses every demo convenience."""

import dataclasses
import re

import pytest

from billing.clock import FixedClock
from notifications.templates import TEMPLATES
from portal import create_app
from portal.channels import build_gateways
from portal.config import NAMES, PROJECT_ROOT, Settings, env_name, load_settings, settings_table
from portal.errors import ConfigError
from tests.conftest import START

# Everything production needs, and nothing it refuses.
PRODUCTION = {
    "DIANFEI_ENV": "production", "DIANFEI_SECRET_KEY": "s" * 32, "DATABASE_URL": "postgresql://db/x",
    "DIANFEI_PUBLIC_URL": "https://dianfei.example.cn", "DIANFEI_RESIDENT_LOGIN": "false",
}


def problems(environ: dict, overrides: dict | None = None) -> list[str]:
    with pytest.raises(ConfigError) as error:
        load_settings(environ, overrides)
    return str(error.value).splitlines()


def test_environment_overrides_defaults_with_types(tmp_path):
    settings = load_settings({"DIANFEI_PORT": "8080", "DIANFEI_DEMO_SMS": "false", "DIANFEI_RESIDENT_LOGIN": "off",
                              "DIANFEI_INSTANCE_PATH": str(tmp_path)})
    assert settings.PORT == 8080 and settings.DEMO_SMS is False and settings.RESIDENT_LOGIN is False
    assert settings.DATABASE_URL == f"sqlite:///{tmp_path / 'dianfei.sqlite3'}"
    assert len(settings.SECRET_KEY) == 64
    assert load_settings({"DIANFEI_INSTANCE_PATH": str(tmp_path)}).SECRET_KEY == settings.SECRET_KEY
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.PORT = 1
    assert "SECRET_KEY" not in repr(settings) and settings.SECRET_KEY not in repr(settings)


def test_database_url_and_overrides(tmp_path):
    environ = {"DATABASE_URL": "postgresql://db/x", "DIANFEI_INSTANCE_PATH": str(tmp_path)}
    assert load_settings(environ).DATABASE_URL == "postgresql://db/x"
    assert load_settings(environ, {"DATABASE_URL": "sqlite://"}).DATABASE_URL == "sqlite://"


@pytest.mark.parametrize(("name", "value", "says"), [
    ("DIANFEI_PORT", "eighty", "expected a whole number, got 'eighty'"),
    ("DIANFEI_PORT", "70000", "expected a whole number from 1 to 65535, got 70000"),
    ("DIANFEI_ORDER_TTL_MINUTES", "0", "expected a whole number of at least 1"),
    ("DIANFEI_DEMO_SMS", "maybe", "expected true or false"),
    ("DIANFEI_DEFAULT_LANGUAGE", "fr", "expected one of zh, en"),
    ("DIANFEI_PUBLIC_URL", "dianfei.example.cn", "expected an http(s) URL"),
    ("DIANFEI_PAYMENT_MIN", "1.234", "is not a yuan amount"),
    ("DIANFEI_PAYMENT_MAX", "0", "must be more than 0.00"),
    ("DIANFEI_PAYMENT_MIN", "6000", "must not be more than DIANFEI_PAYMENT_MAX"),
    ("DIANFEI_WECHATPAY_APIV3_KEY", "short", "exactly 32 characters"),
    ("DIANFEI_DEMO_SMSS", "false", "not a setting"),
    ("DIANFEI_DATABASE_URL", "sqlite://", "not a setting"),
])
def test_malformed_values_are_one_line_naming_the_variable(tmp_path, name, value, says):
    environ = {name: value, "DIANFEI_INSTANCE_PATH": str(tmp_path), "DIANFEI_PAYMENTS_SANDBOX": "false"}
    assert [line for line in problems(environ) if line.startswith(f"{name}: ") and says in line]


def test_every_problem_is_reported_at_once(tmp_path):
    lines = problems({"DIANFEI_PORT": "x", "DIANFEI_DEMO_SMS": "maybe", "DIANFEI_INSTANCE_PATH": str(tmp_path)})
    assert [line.split(":")[0] for line in lines] == ["DIANFEI_DEMO_SMS", "DIANFEI_PORT"]


def test_overrides_are_checked_like_the_environment(tmp_path):
    [line] = problems({"DIANFEI_INSTANCE_PATH": str(tmp_path)}, {"PORT": "x"})
    assert line == "DIANFEI_PORT: expected a whole number, got 'x'"
    [line] = problems({"DIANFEI_INSTANCE_PATH": str(tmp_path)}, {"DEMO_SMS": 1})
    assert line == "DIANFEI_DEMO_SMS: expected true or false, got 1"


def test_create_app_keeps_uppercase_config_and_injected_objects(tmp_path):
    clock = FixedClock(START)
    app = create_app({"ENV": "test", "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}", "CLOCK": clock,
                      "GATEWAYS": {}, "INSTANCE_PATH": str(tmp_path), "PORT": 6123})
    assert {name: app.config[name] for name in NAMES} == dataclasses.asdict(app.extensions["dianfei"].settings)
    assert app.config["PORT"] == 6123 and app.config["DEMO_SMS"] is True
    assert app.extensions["dianfei"].clock is clock and app.extensions["dianfei"].gateways == {}


# --- DIANFEI_ENV ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["Production", "prod", "PRODUCTION", "staging", "dev", ""])
def test_env_accepts_exactly_three_values(tmp_path, value):
    [line] = problems({"DIANFEI_ENV": value, "DIANFEI_INSTANCE_PATH": str(tmp_path / "instance")})
    assert line == f"DIANFEI_ENV: expected one of development, test, production, got {value!r}"
    assert not (tmp_path / "instance").exists()  # nothing written for a refused configuration


@pytest.mark.parametrize("value", ["development", "test"])
def test_development_and_test_are_accepted(tmp_path, value):
    assert load_settings({"DIANFEI_ENV": value, "DIANFEI_INSTANCE_PATH": str(tmp_path)}).ENV == value


# --- production ----------------------------------------------------------------------------------

def test_production_with_everything_it_needs_starts_without_demo_conveniences():
    settings = load_settings(PRODUCTION)
    assert settings.DEMO_SMS is False and settings.PAYMENTS_SANDBOX is False and settings.RESIDENT_LOGIN is False
    assert settings.SECRET_KEY == "s" * 32 and settings.DATABASE_URL == "postgresql://db/x"


def test_production_names_everything_missing_one_line_each():
    assert problems({"DIANFEI_ENV": "production"}) == [
        "DIANFEI_SECRET_KEY: required when DIANFEI_ENV=production",
        "DATABASE_URL: required when DIANFEI_ENV=production",
        "DIANFEI_PUBLIC_URL: must be an https URL when DIANFEI_ENV=production "
        "(the channels only call https notify URLs)",
        "DIANFEI_RESIDENT_LOGIN: residents log in with a code sent by SMS and no SMS provider is configured "
        "(DIANFEI_SMS_*; DIANFEI_DEMO_SMS is refused in production): configure SMS, or set DIANFEI_RESIDENT_LOGIN=false "
        "to run the staff back office and payment callbacks only",
    ]


@pytest.mark.parametrize(("name", "value", "says"), [
    ("DIANFEI_DEMO_SMS", "true", "must be false when DIANFEI_ENV=production (anyone could log in as any phone)"),
    ("DIANFEI_PAYMENTS_SANDBOX", "true", "must be false when DIANFEI_ENV=production"),
    ("DIANFEI_SECRET_KEY", "s" * 31, "must be at least 32 bytes when DIANFEI_ENV=production"),
    ("DIANFEI_PUBLIC_URL", "http://dianfei.example.cn", "must be an https URL when DIANFEI_ENV=production"),
    ("DIANFEI_ALIPAY_NOTIFY_URL", "http://dianfei.example.cn/cb", "must be an https URL"),
    ("DIANFEI_WECHATPAY_GATEWAY", "http://127.0.0.1:5101", "must be an https URL"),
])
def test_production_refuses(name, value, says):
    [line] = problems(PRODUCTION | {name: value})
    assert line.startswith(f"{name}: ") and says in line


def test_production_with_demo_sms_still_has_no_way_to_deliver_login_codes():
    lines = problems(PRODUCTION | {"DIANFEI_DEMO_SMS": "true", "DIANFEI_RESIDENT_LOGIN": "true"})
    assert [line.split(":")[0] for line in lines] == ["DIANFEI_DEMO_SMS", "DIANFEI_RESIDENT_LOGIN"]


def test_development_resident_login_without_demo_sms_has_no_way_to_deliver_codes(tmp_path):
    [line] = problems({"DIANFEI_DEMO_SMS": "false", "DIANFEI_INSTANCE_PATH": str(tmp_path)})
    assert line == ("DIANFEI_RESIDENT_LOGIN: residents log in with a code sent by SMS and no SMS provider is "
                    "configured: configure DIANFEI_SMS_*, set DIANFEI_DEMO_SMS=true (codes shown on screen) or "
                    "DIANFEI_RESIDENT_LOGIN=false")


def test_production_with_an_sms_provider_logs_residents_in():
    sms = {"DIANFEI_SMS_SECRET_ID": "AKIDexample", "DIANFEI_SMS_SECRET_KEY": "k" * 32, "DIANFEI_SMS_APP_ID": "1400000001",
           "DIANFEI_SMS_SIGN_NAME": "临安供电",
           "DIANFEI_SMS_TEMPLATES": ",".join(f"{kind}={2000001 + n}" for n, kind in enumerate(sorted(TEMPLATES)))}
    settings = load_settings(PRODUCTION | sms | {"DIANFEI_RESIDENT_LOGIN": "true"})
    assert settings.RESIDENT_LOGIN and settings.sends_sms and not settings.shows_login_codes


# --- channels ------------------------------------------------------------------------------------

def test_merchant_and_app_ids_have_no_placeholder_defaults(tmp_path):
    settings = load_settings({"DIANFEI_INSTANCE_PATH": str(tmp_path), "DIANFEI_PAYMENTS_SANDBOX": "false"})
    assert (settings.WECHATPAY_MCHID, settings.WECHATPAY_APPID, settings.ALIPAY_APP_ID, settings.ALIPAY_SELLER_ID) == \
        ("", "", "", "")
    assert build_gateways(settings, FixedClock(START)) == {}


def test_sandbox_mode_uses_the_placeholder_ids(tmp_path):
    gateways = build_gateways(load_settings({"DIANFEI_INSTANCE_PATH": str(tmp_path)}), FixedClock(START))
    assert gateways["wechat"].merchant.merchant_id == "1900000001"
    assert gateways["wechat"].merchant.app_id == "wx8888888888888888"
    assert (gateways["alipay"].merchant.app_id, gateways["alipay"].merchant.merchant_id) == \
        ("2021000000000001", "2088000000000001")


@pytest.mark.parametrize(("given", "missing"), [
    ({"DIANFEI_WECHATPAY_MCHID": "1230000109"},
     "WECHATPAY_ APPID APIV3_KEY MERCHANT_KEY_FILE MERCHANT_SERIAL PUBLIC_KEY_FILE PUBLIC_KEY_ID: WeChat Pay"),
    ({"DIANFEI_WECHATPAY_CERT_DIR": "/etc/wechatpay"},
     "WECHATPAY_ MCHID APPID APIV3_KEY MERCHANT_KEY_FILE MERCHANT_SERIAL: WeChat Pay"),
    ({"DIANFEI_WECHATPAY_PUBLIC_KEY_FILE": "/etc/pub.pem", "DIANFEI_WECHATPAY_CERT_DIR": "/etc/wechatpay"},
     "WECHATPAY_ MCHID APPID APIV3_KEY MERCHANT_KEY_FILE MERCHANT_SERIAL PUBLIC_KEY_ID: WeChat Pay"),
    ({"DIANFEI_ALIPAY_APP_KEY_FILE": "/etc/app.key", "DIANFEI_ALIPAY_APP_ID": "2021004100000000"},
     "ALIPAY_ SELLER_ID PUBLIC_KEY_FILE: Alipay"),
])
def test_a_half_configured_channel_names_every_missing_variable(given, missing):
    names, label = missing.split(": ")
    prefix, *names = names.split()
    names = ", ".join(f"DIANFEI_{prefix}{name}" for name in names)
    assert problems(PRODUCTION | given) == [f"{names}: required to offer {label}"]


# --- README --------------------------------------------------------------------------------------

def test_readme_configuration_table_is_the_settings_object():
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert settings_table() in readme, "README's table: paste the output of portal.config.settings_table()"
    documented = set(re.findall(r"\b(?:DIANFEI_[A-Z0-9_]*[A-Z0-9]|DATABASE_URL)\b", readme))
    assert documented == {env_name(name) for name in NAMES}


def test_every_setting_has_a_type_and_a_documented_meaning():
    for item in dataclasses.fields(Settings):
        assert item.type in ("str", "int", "bool") and item.metadata["doc"], item.name
