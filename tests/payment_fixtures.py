"""Fixtures for payments: both sandbox gateways on loopback, the real adapters pointed at them,
and the app served over real HTTP so that the sandboxes' notifications reach /callbacks."""

from __future__ import annotations

from datetime import timedelta

import pytest

from payments.gateways.alipay import AlipayConfig, AlipayGateway
from billing.db import unit_of_work
from payments.gateways.wechatpay import WeChatPayConfig, WeChatPayGateway
from payments.orders import create_order
from payments.sandbox.alipay import AlipaySandbox
from payments.sandbox.keys import alipay_keys, wechat_keys
from payments.sandbox.server import LoopbackServer
from payments.sandbox.wechatpay import WeChatPaySandbox

MCHID, APPID = "1900000001", "wx8888888888888888"
ALIPAY_APP_ID, SELLER_ID = "2021000000000001", "2088000000000001"


class LateBoundApp:
    """A WSGI app whose target is set after the server has its port (the app needs the URL)."""

    target = None

    def __call__(self, environ, start_response):
        return self.target(environ, start_response)


@pytest.fixture(scope="session")
def sandbox_keys(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sandbox-keys")
    return wechat_keys(folder / "wechatpay"), alipay_keys(folder / "alipay")


@pytest.fixture
def live():
    holder = LateBoundApp()
    server = LoopbackServer(holder).start()
    server.holder = holder
    yield server
    server.stop()


@pytest.fixture
def wechat_sandbox(sandbox_keys, clock):
    sandbox = WeChatPaySandbox(sandbox_keys[0], mchid=MCHID, appid=APPID, clock=clock, retry_scale=0.001,
                               auto_notify=False)
    sandbox.serve()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def alipay_sandbox(sandbox_keys, clock):
    sandbox = AlipaySandbox(sandbox_keys[1], app_id=ALIPAY_APP_ID, seller_id=SELLER_ID, clock=clock, retry_scale=0.001,
                            auto_notify=False)
    sandbox.serve()
    yield sandbox
    sandbox.stop()


def wechat_config(keys, gateway_url: str, notify_base: str, **changes) -> WeChatPayConfig:
    settings = dict(
        mchid=MCHID, appid=APPID, apiv3_key=keys.apiv3_key, merchant_key_file=keys.merchant_private_key,
        merchant_serial=keys.merchant_serial, notify_url=f"{notify_base}/callbacks/wechatpay", gateway_url=gateway_url,
        public_key_file=keys.platform_public_key, public_key_id=keys.public_key_id, cert_dir=keys.platform_cert_dir,
    )
    return WeChatPayConfig(**(settings | changes))


@pytest.fixture
def gateways(sandbox_keys, wechat_sandbox, alipay_sandbox, live, clock):
    wechat, alipay = sandbox_keys
    return {
        "wechat": WeChatPayGateway(wechat_config(wechat, wechat_sandbox.url, live.url), clock=clock),
        "alipay": AlipayGateway(AlipayConfig(
            app_id=ALIPAY_APP_ID, seller_id=SELLER_ID, app_private_key_file=alipay.app_private_key,
            alipay_public_key_file=alipay.alipay_public_key, notify_url=f"{live.url}/callbacks/alipay",
            gateway_url=f"{alipay_sandbox.url}/gateway.do"), clock=clock),
    }


@pytest.fixture
def held(engine, clock, app, gateways, wechat_sandbox):
    """WeChat Pay took 30.01 for our 30.00 order: verified, held as an amount_mismatch incident.
    Returns (account, order, channel transaction id)."""
    from tests.payment_helpers import acknowledged, new_account

    account = new_account(engine, clock)
    with unit_of_work(engine) as db:
        placed = create_order(db, channel="wechat", scene="h5", purpose="prepay", lines=[(account, 3000)],
                              description="电费预存", now=clock(), ttl=timedelta(minutes=30))
    wechat_sandbox.register_order(placed.out_trade_no, 3001, gateways["wechat"].config.notify_url)
    txn = wechat_sandbox.pay(placed.out_trade_no, notify=False)
    assert acknowledged("wechat", wechat_sandbox.deliver(wechat_sandbox.notification(txn)))
    return account, placed, txn
