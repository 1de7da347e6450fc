"""What the web layer hands the layers below: the settings, the engine, the clock, the channels.

Nothing below ``portal`` reads Flask's globals; views fetch these with ``services()`` and pass them
down explicitly.  Tests inject ``ENGINE``, ``CLOCK`` and ``GATEWAYS`` through ``create_app``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from flask import current_app, g
from sqlalchemy.engine import Connection, Engine

from billing.account_summary import KeptSummaries
from billing.clock import Clock, system_clock
from billing.db import check_connection, make_engine
from billing.kept import Kept
from notifications.channels.base import Channel
from notifications.channels.console import ConsoleChannel
from notifications.channels.sms import SmsChannel, SmsConfig
from payments.checkout import Limits
from payments.gateways.base import Gateway
from portal.channels import build_gateways, payment_limits
from portal.config import Settings
from portal.wechat.client import WeChatLogin
from portal.wechat.wiring import build_wechat_channels, build_wechat_login


KEPT_PAGES = 2_000  # a rendered home page is about 10 KB


@dataclass
class Services:
    settings: Settings
    engine: Engine
    clock: Clock
    gateways: dict[str, Gateway] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    messengers: dict[str, Channel] = field(default_factory=dict)  # message channel name -> its sender
    summaries: KeptSummaries = field(default_factory=KeptSummaries)  # the home page's, reused while current
    pages: Kept = field(default_factory=lambda: Kept(KEPT_PAGES))  # rendered home pages, by what they show
    wechat: WeChatLogin = field(default_factory=lambda: WeChatLogin({}))  # the apps residents log in with


def build_services(settings: Settings, injected: Mapping[str, object]) -> Services:
    engine = injected.get("ENGINE") or make_engine(settings.DATABASE_URL)
    check_connection(engine)
    clock = injected.get("CLOCK") or system_clock
    gateways = injected["GATEWAYS"] if "GATEWAYS" in injected else build_gateways(settings, clock)
    messengers = injected["MESSENGERS"] if "MESSENGERS" in injected else build_messengers(settings)
    wechat = injected.get("WECHAT") or build_wechat_login(settings)
    return Services(settings=settings, engine=engine, clock=clock, gateways=gateways, limits=payment_limits(settings),
                    messengers=messengers, wechat=wechat)


def build_messengers(settings: Settings) -> dict[str, Channel]:
    """SMS through Tencent Cloud when it is configured; else, outside production, the console (the demo's
    on-screen codes' twin); production without an SMS provider keeps its messages queued.  WeChat
    messages go by each WeChat app that has its template ids."""
    if settings.SMS_SANDBOX:
        from portal.sandbox import sms_sandbox_settings

        settings = replace(settings, **sms_sandbox_settings(settings))
    wechat = build_wechat_channels(settings)
    if settings.sends_sms:
        return {"sms": SmsChannel(sms_config(settings)), **wechat}
    return ({"sms": ConsoleChannel()} if settings.shows_login_codes else {}) | wechat


def sms_config(settings: Settings) -> SmsConfig:
    return SmsConfig(secret_id=settings.SMS_SECRET_ID, secret_key=settings.SMS_SECRET_KEY, app_id=settings.SMS_APP_ID,
                     sign_name=settings.SMS_SIGN_NAME, templates=settings.sms_templates,
                     endpoint=settings.SMS_ENDPOINT, region=settings.SMS_REGION, workers=settings.SMS_CONCURRENCY)


def services() -> Services:
    return current_app.extensions["dianfei"]


def reading_connection() -> Connection:
    """This request's connection for reading, opened on first use and closed when the request ends:
    the login check and a page's own reads share one checkout and one snapshot.  For reads only (on
    SQLite a write made elsewhere during the request is not seen through it)."""
    if "reading" not in g:
        g.reading = services().engine.connect()
    return g.reading


def close_reading_connection(_error: BaseException | None = None) -> None:
    reading = g.pop("reading", None)
    if reading is not None:
        reading.close()
