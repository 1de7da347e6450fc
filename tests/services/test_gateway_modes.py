"""WeChat Pay: the public key and platform certificates are accepted at once, chosen by serial;
a gateway configured with only one of them refuses notifications signed with the other."""

import pytest

from payments.errors import GatewayConfigError, NotificationRejected
from payments.gateways.wechatpay import WeChatPayGateway
from tests.payment_fixtures import wechat_config


@pytest.fixture
def signed(sandbox_keys, wechat_sandbox):
    wechat_sandbox.register_order("DF2026112700000001", 1000, "http://127.0.0.1:9/callbacks/wechatpay")
    txn = wechat_sandbox.pay("DF2026112700000001", notify=False)
    return {mode: wechat_sandbox.notification(txn, sign_with=mode) for mode in ("public_key", "certificate")}


def _gateway(keys, sandbox, clock, **changes):
    return WeChatPayGateway(wechat_config(keys, sandbox.url, "http://127.0.0.1:9", **changes), clock=clock)


def test_both_ways_of_signing_are_accepted_together(sandbox_keys, wechat_sandbox, clock, signed):
    gateway = _gateway(sandbox_keys[0], wechat_sandbox, clock)
    for delivery in signed.values():
        payment = gateway.parse_notification(delivery.headers, delivery.body, now=clock()).payment
        assert (payment.out_trade_no, payment.amount_fen, payment.status) == ("DF2026112700000001", 1000, "paid")
    assert gateway.query("DF2026112700000001").status == "paid"  # requests go out in public-key mode


@pytest.mark.parametrize(("only", "refused"), [("public_key", "certificate"), ("certificate", "public_key")])
def test_a_single_mode_gateway_refuses_the_other(sandbox_keys, wechat_sandbox, clock, signed, only, refused):
    keys = sandbox_keys[0]
    changes = {"cert_dir": None} if only == "public_key" else {"public_key_file": None, "public_key_id": None}
    gateway = _gateway(keys, wechat_sandbox, clock, **changes)
    accepted = signed[only]
    assert gateway.parse_notification(accepted.headers, accepted.body, now=clock()).payment.status == "paid"
    assert gateway.query("DF2026112700000001").status == "paid"  # and its own requests verify in that mode
    with pytest.raises(NotificationRejected, match="unknown Wechatpay-Serial"):
        gateway.parse_notification(signed[refused].headers, signed[refused].body, now=clock())


def test_a_notification_older_than_five_minutes_is_refused(sandbox_keys, wechat_sandbox, clock, signed):
    gateway = _gateway(sandbox_keys[0], wechat_sandbox, clock)
    delivery = signed["public_key"]
    clock.advance(minutes=5, seconds=30)
    with pytest.raises(NotificationRejected, match="5 minutes"):
        gateway.parse_notification(delivery.headers, delivery.body, now=clock())


def test_an_empty_certificate_folder_stops_startup_naming_the_setting(sandbox_keys, wechat_sandbox, clock, tmp_path):
    with pytest.raises(GatewayConfigError) as error:
        _gateway(sandbox_keys[0], wechat_sandbox, clock, cert_dir=tmp_path, public_key_file=None, public_key_id=None)
    assert error.value.field == "DIANFEI_WECHATPAY_CERT_DIR"
