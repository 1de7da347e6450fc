"""WeChat Pay rotates its platform certificate.  A merchant in certificate mode fetches the
certificates again (every 12 hours, and early on an unknown serial but at most once per 10
minutes), so a notification signed under the new serial is credited without a restart, and forged
serials do not make us call WeChat Pay on every request."""

import shutil
import pytest

from payments.errors import NotificationRejected
from payments.gateways.wechatpay import WeChatPayGateway
from payments.sandbox.delivery import post
from tests.payment_fixtures import wechat_config
from tests.payment_helpers import acknowledged, balance, new_account, phone, start_payment


@pytest.fixture
def cert_dir(sandbox_keys, tmp_path):
    """Our own copy of the platform certificate folder, as the merchant's server keeps it."""
    return shutil.copytree(sandbox_keys[0].platform_cert_dir, tmp_path / "platform_certs")


def certificate_mode(sandbox_keys, gateway_url, clock, notify_base, cert_dir):
    config = wechat_config(sandbox_keys[0], gateway_url, notify_base, public_key_file=None, public_key_id=None,
                           cert_dir=cert_dir)
    return WeChatPayGateway(config, clock=clock)


@pytest.fixture
def gateways(sandbox_keys, wechat_sandbox, live, clock, cert_dir):
    """WeChat Pay in certificate mode only (no public key): the app serves this gateway."""
    wechat_sandbox.sign_notifications_with = "certificate"
    return {"wechat": certificate_mode(sandbox_keys, wechat_sandbox.url, clock, live.url, cert_dir)}


def paid(request, engine, clock, gateways, amount_fen: int):
    """An account and the WeChat Pay transaction id of its paid order (not notified yet)."""
    account = new_account(engine, clock)
    started = start_payment(engine, gateways["wechat"], account, amount_fen, clock)
    return account, phone(request, "wechat").pay(started)


def test_a_rotated_certificate_is_fetched_and_trusted_without_a_restart(request, engine, clock, app, gateways,
                                                                       wechat_sandbox, sandbox_keys, cert_dir):
    account, txn = paid(request, engine, clock, gateways, 3000)
    new_serial = wechat_sandbox.rotate_platform_certificate()
    delivery = wechat_sandbox.notification(txn)
    assert delivery.headers["Wechatpay-Serial"] == new_serial
    assert acknowledged("wechat", post(delivery))
    assert balance(engine, account) == 3000
    assert wechat_sandbox.certificate_downloads == 1
    assert (cert_dir / f"{new_serial}.pem").exists()  # kept for the next start

    restarted = certificate_mode(sandbox_keys, wechat_sandbox.url, clock, "http://127.0.0.1:9", cert_dir)
    again = delivery.again()
    assert restarted.parse_notification(again.headers, again.body, now=clock()).payment.amount_fen == 3000
    assert wechat_sandbox.certificate_downloads == 1  # the folder had it: nothing fetched at start


def test_forged_serials_fetch_at_most_once_per_ten_minutes_and_a_due_refresh_happens_anyway(
        request, engine, clock, app, gateways, wechat_sandbox):
    account, txn = paid(request, engine, clock, gateways, 4000)
    for _ in range(20):
        assert post(wechat_sandbox.notification(txn, forge="unknown_serial")).status == 401
    assert wechat_sandbox.certificate_downloads == 1
    clock.advance(minutes=10, seconds=1)
    assert post(wechat_sandbox.notification(txn, forge="unknown_serial")).status == 401
    assert wechat_sandbox.certificate_downloads == 2

    clock.advance(hours=12)
    assert acknowledged("wechat", post(wechat_sandbox.notification(txn)))  # a known serial, but a refresh was due
    assert wechat_sandbox.certificate_downloads == 3
    assert balance(engine, account) == 4000


def test_a_failed_fetch_keeps_the_certificates_we_have(sandbox_keys, wechat_sandbox, clock, cert_dir):
    wechat_sandbox.register_order("DF2026112700000001", 1000, "http://127.0.0.1:9/callbacks/wechatpay")
    txn = wechat_sandbox.pay("DF2026112700000001", notify=False)
    gateway = certificate_mode(sandbox_keys, "http://127.0.0.1:9", clock, "http://127.0.0.1:9", cert_dir)  # nobody there
    assert gateway.refresh_certificates(clock()) == []
    delivery = wechat_sandbox.notification(txn, sign_with="certificate")
    assert gateway.parse_notification(delivery.headers, delivery.body, now=clock()).payment.amount_fen == 1000
    forged = wechat_sandbox.notification(txn, forge="unknown_serial")
    with pytest.raises(NotificationRejected, match="unknown Wechatpay-Serial"):
        gateway.parse_notification(forged.headers, forged.body, now=clock())
