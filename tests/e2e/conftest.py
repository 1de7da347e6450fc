"""The site as a person meets it: the demo county on a fresh SQLite database, both sandbox
cashiers on loopback sending their signed notifications, and the portal over real HTTP.

Browser tests need Debian's ``chromium`` and ``chromium-driver``: ``make test`` installs them under
``CI=true`` (and then these tests must run); elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

import migrations
from billing.clock import beijing_date, system_clock
from billing.db import make_engine
from demo.county import load_demo_county
from payments.gateways.alipay import AlipayConfig, AlipayGateway
from payments.gateways.wechatpay import WeChatPayGateway
from payments.sandbox.alipay import AlipaySandbox
from payments.sandbox.server import LoopbackServer
from payments.sandbox.wechatpay import WeChatPaySandbox
from tests.e2e import browser
from tests.payment_fixtures import ALIPAY_APP_ID, APPID, MCHID, SELLER_ID, LateBoundApp, wechat_config


@dataclass
class Site:
    url: str
    engine: object
    wechat: WeChatPaySandbox
    alipay: AlipaySandbox


@pytest.fixture(scope="session")
def chromium():
    if browser.chromium_paths() is None:
        reason = "Debian packages chromium and chromium-driver are not installed (make test installs them with CI=true)"
        if browser.ci():
            pytest.fail(f"browser tests must run in CI: {reason}")
        pytest.skip(reason)
    return browser.chromium_paths()


@pytest.fixture(scope="session")
def demo_county(tmp_path_factory):
    """Today's demo county of 40 户号, loaded once per session (per xdist worker): a function that
    gives the path of its migrated SQLite file, which each test copies.  A new day in Beijing gets
    a county of its own, so a test never runs on a county loaded the day before."""
    counties = {}

    def today():
        now = datetime.now(UTC)
        day = beijing_date(now)
        if day not in counties:
            path = tmp_path_factory.mktemp("demo_county") / "dianfei.sqlite3"
            engine = make_engine(f"sqlite:///{path}")
            try:
                migrations.upgrade(engine)
                load_demo_county(engine, accounts=40, now=now)
            finally:
                engine.dispose()  # the last connection closed: the write-ahead log is in the file
            counties[day] = path
        return counties[day]

    return today


@pytest.fixture
def site(request, chromium, tmp_path, sandbox_keys, demo_county):
    shutil.copy(demo_county(), tmp_path / "dianfei.sqlite3")
    engine = make_engine(f"sqlite:///{tmp_path / 'dianfei.sqlite3'}")
    wechat_keys, alipay_keys = sandbox_keys
    wechat = WeChatPaySandbox(wechat_keys, mchid=MCHID, appid=APPID, retry_scale=0.01)
    alipay = AlipaySandbox(alipay_keys, app_id=ALIPAY_APP_ID, seller_id=SELLER_ID, retry_scale=0.01)
    wechat.serve(), alipay.serve()
    holder = LateBoundApp()
    server = LoopbackServer(holder).start()
    gateways = {
        "wechat": WeChatPayGateway(wechat_config(wechat_keys, wechat.url, server.url), clock=system_clock),
        "alipay": AlipayGateway(AlipayConfig(
            app_id=ALIPAY_APP_ID, seller_id=SELLER_ID, app_private_key_file=alipay_keys.app_private_key,
            alipay_public_key_file=alipay_keys.alipay_public_key, notify_url=f"{server.url}/callbacks/alipay",
            gateway_url=f"{alipay.url}/gateway.do"), clock=system_clock),
    }
    # A test may inject more (a WeChat login against its simulator) through a ``site_overrides`` fixture.
    extra = request.getfixturevalue("site_overrides") if "site_overrides" in request.fixturenames else {}
    holder.target = _app(engine, gateways, tmp_path, server.url, wechat, **extra)
    yield Site(server.url, engine, wechat, alipay)
    server.stop(), wechat.stop(), alipay.stop()
    engine.dispose()


def _app(engine, gateways, tmp_path, url: str, wechat: WeChatPaySandbox, **extra):
    from portal import create_app

    return create_app(extra | {
        "ENV": "test", "ENGINE": engine, "DATABASE_URL": "sqlite://", "CLOCK": system_clock, "GATEWAYS": gateways,
        "INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "e2e-secret-" + "x" * 32, "DEMO_SMS": True,
        "PAYMENTS_SANDBOX": True, "SANDBOX_WECHATPAY_PORT": int(wechat.url.rsplit(":", 1)[1]), "PUBLIC_URL": url,
    })


def _window(request, site: Site, size, user_agent: str | None = None) -> browser.Page:
    chrome = browser.start(size, user_agent)
    request.addfinalizer(chrome.quit)
    return browser.Page(chrome, site.url, request.node.name)


@pytest.fixture
def phone(request, site) -> browser.Page:
    return _window(request, site, browser.PHONE)


@pytest.fixture
def desk(request, site) -> browser.Page:
    return _window(request, site, browser.DESK)
