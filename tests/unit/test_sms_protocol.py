"""Tencent Cloud SMS's codes mapped to outcomes, template parameter order, and the SMS settings:
an incomplete or inconsistent configuration is one line per problem naming the variable."""

import pytest

from notifications.channels.base import FAILED, SENT
from notifications.channels.sms import SmsChannel
from notifications.channels.sms_protocol import outcome, param_order, retryable
from notifications.sms_sandbox import tc3
from notifications.sms_sandbox.registry import SANDBOX_SMS, templates_setting
from notifications.templates import TEMPLATES
from portal.config import load_settings
from portal.errors import ConfigError
from portal.wiring import build_messengers
from tests.unit.test_config import PRODUCTION, problems


@pytest.mark.parametrize(("code", "retry"), [
    ("LimitExceeded.PhoneNumberThirtySecondLimit", True),  # throttled
    ("LimitExceeded.PhoneNumberDailyLimit", True),  # this number's daily cap: tomorrow
    ("LimitExceeded.AppDailyLimit", True),  # the app's daily cap: tomorrow
    ("LimitExceeded.PhoneNumberCountLimit", False),  # too many numbers: the same request never passes
    ("InvalidParameterValue.IncorrectPhoneNumber", False),
    ("FailedOperation.TemplateIncorrectOrUnapproved", False),
    ("FailedOperation.MissingTemplateToModify", False),
    ("FailedOperation.TemplateParamSetNotMatchApprovedTemplate", False),
    ("InternalError", True), ("InternalError.Timeout", True),
    ("ClientNetworkError", True), ("ServerNetworkError", True), ("JSONDecodeError", True),  # no readable answer
    ("AuthFailure.SignatureFailure", True),  # a wrong secret: queued until it is corrected
    ("FailedOperation.InsufficientBalanceInSmsPackage", True),
    ("SomethingNew.NobodyKnows", False),
])
def test_each_code_says_whether_a_retry_can_help(code, retry):
    assert retryable(code) is retry
    assert (outcome(code, "why").status, outcome(code, "why").retry, outcome(code, "why").error) == (FAILED, retry,
                                                                                                    f"{code}: why")


def test_ok_is_sent_with_the_serial_number_as_the_reference():
    sent = outcome("Ok", "send success", "2433:0001")
    assert (sent.status, sent.provider_ref, sent.error) == (SENT, "2433:0001", "")


def test_parameters_go_in_the_order_the_text_names_them_once_each():
    assert param_order("户号{account_no}余额{balance}元，低于{threshold}元；户号{account_no}") == [
        "account_no", "balance", "threshold"]
    assert param_order(TEMPLATES["login_code"].en) == ["code"]


SMS = {f"DIANFEI_{name}": value for name, value in SANDBOX_SMS.items()} | {"DIANFEI_SMS_TEMPLATES": templates_setting()}


def test_a_configured_provider_is_the_sms_channel_and_its_secret_is_never_shown(tmp_path):
    settings = load_settings(SMS | {"DIANFEI_INSTANCE_PATH": str(tmp_path)})
    channel = build_messengers(settings)["sms"]
    assert isinstance(channel, SmsChannel) and channel.config.templates["bill_issued/en"].isdigit()
    assert SANDBOX_SMS["SMS_SECRET_KEY"] not in repr(settings) + repr(channel.config)


def test_production_without_sms_keeps_messages_queued_and_with_it_sends():
    assert build_messengers(load_settings(PRODUCTION)) == {}
    production = load_settings(PRODUCTION | SMS)
    assert set(build_messengers(production)) == {"sms"} and production.SMS_ENDPOINT.startswith("https://")


def test_an_incomplete_sms_configuration_names_what_is_missing(tmp_path):
    given = {"DIANFEI_SMS_SECRET_ID": "AKIDx", "DIANFEI_INSTANCE_PATH": str(tmp_path)}
    assert problems(given) == ["DIANFEI_SMS_SECRET_KEY, DIANFEI_SMS_APP_ID, DIANFEI_SMS_SIGN_NAME, "
                               "DIANFEI_SMS_TEMPLATES: required to send SMS"]


def test_templates_must_name_known_kinds_with_numeric_ids_and_cover_every_kind(tmp_path):
    bad = "bill_issued=12x,nonsense=1,due_soon"
    said = problems(SMS | {"DIANFEI_SMS_TEMPLATES": bad, "DIANFEI_INSTANCE_PATH": str(tmp_path)})
    assert "DIANFEI_SMS_TEMPLATES: expected kind=id, got 'due_soon'" in said
    assert "DIANFEI_SMS_TEMPLATES: 'nonsense' is not a message kind" in said
    assert "DIANFEI_SMS_TEMPLATES: template id of bill_issued must be digits, got '12x'" in said
    assert any(line.startswith("DIANFEI_SMS_TEMPLATES: no template id for balance_low, ") for line in said)


def test_production_refuses_an_unencrypted_sms_endpoint():
    with pytest.raises(ConfigError, match="DIANFEI_SMS_ENDPOINT: must be an https URL"):
        load_settings(PRODUCTION | SMS | {"DIANFEI_SMS_ENDPOINT": "http://127.0.0.1:9"})


def _signed_request(body: bytes, stamp: int, key: str = "the-key") -> dict[str, str]:
    headers = {"content-type": "application/json", "host": "127.0.0.1:1", "X-TC-Timestamp": str(stamp)}
    return headers | {"Authorization": tc3.authorization("AKIDx", key, headers=headers, body=body, service="sms",
                                                         stamp=stamp)}


@pytest.mark.parametrize(("change", "code"), [
    ({}, None),
    ({"body": b'{"PhoneNumberSet": ["+8613900000009"]}'}, "AuthFailure.SignatureFailure"),  # tampered on the way
    ({"key": "another-key"}, "AuthFailure.SignatureFailure"),
    ({"now": 1_800_000_301}, "AuthFailure.SignatureExpire"),  # more than 5 minutes old
    ({"secrets": {"AKIDy": "the-key"}}, "AuthFailure.SecretIdNotFound"),
])
def test_the_simulator_checks_tc3_signatures_as_tencent_does(change, code):
    body = b'{"PhoneNumberSet": ["+8613900000001"]}'
    headers = _signed_request(body, 1_800_000_000, change.get("key", "the-key"))
    refused = tc3.check("POST", "/", "", headers, change.get("body", body), secrets=change.get("secrets", {"AKIDx": "the-key"}),
                        service="sms", now=change.get("now", 1_800_000_000))
    assert (refused.code if refused else None) == code


def test_the_demo_sandbox_points_sms_at_the_simulator_and_production_refuses_it(tmp_path):
    settings = load_settings({"DIANFEI_SMS_SANDBOX": "true", "DIANFEI_INSTANCE_PATH": str(tmp_path)})
    config = build_messengers(settings)["sms"].config
    assert (config.endpoint, config.app_id) == ("http://127.0.0.1:5103", SANDBOX_SMS["SMS_APP_ID"])
    with pytest.raises(ConfigError, match="DIANFEI_SMS_SANDBOX: must be false when DIANFEI_ENV=production"):
        load_settings(PRODUCTION | {"DIANFEI_SMS_SANDBOX": "true"})
