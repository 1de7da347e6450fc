"""Starting a payment at a channel, and checking on it when the payer comes back.

An order is committed before the channel is called, so a crash in between leaves an order that
``payments sync`` will query and close; the channel's answer (a page, a QR code) is recorded after.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from billing import ledger
from billing.accounts import Account
from billing.db import read_session, unit_of_work
from billing.errors import InvalidInput
from billing.managers import Manager
from billing.money import parse_yuan
from payments import bulk
from payments.errors import GatewayError
from payments.gateways.base import Checkout, Gateway, OrderRequest
from payments.orders import (ARREARS, BULK, CREATED, FAILED, PAID, PAYING, PREPAY, PaymentOrder, check_amount,
                             create_order, get_order, transition)
from payments.settlement import settle

# The page a payer sees: a resident's phone browser, a property manager's desk computer.
RESIDENT_SCENES = {"wechat": "h5", "alipay": "wap"}
MANAGER_SCENES = {"wechat": "native", "alipay": "page"}  # a QR code to scan, or the desktop cashier
# Inside WeChat's own browser WeChat Pay is JSAPI (the pay sheet over the page, the payer named by the
# official account's openid) and other channels' pages do not open.
# On a desktop, WeChat Pay is a QR code to scan with the phone and Alipay its desktop cashier.
# The mini-program pays by wx.requestPayment as the WeChat user, and opens no other channel.
IN_WECHAT, PHONE, DESKTOP, MINI_PROGRAM = "in_wechat", "phone", "desktop", "mini_program"
DEVICE_SCENES = {PHONE: RESIDENT_SCENES, IN_WECHAT: {"wechat": "jsapi"}, DESKTOP: MANAGER_SCENES,
                 MINI_PROGRAM: {"wechat": "miniprogram"}}
AS_PAYER = frozenset({"jsapi", "miniprogram"})  # scenes that pay as the WeChat user an openid names
WAITING, EXPIRED = "waiting", "expired"  # progress besides paid and closed


@dataclass(frozen=True)
class Limits:
    """How much one payment may be, per 户号, and how long an order stays open."""

    minimum_fen: int = 100
    maximum_fen: int = 500_000
    ttl: timedelta = timedelta(minutes=30)


@dataclass(frozen=True)
class Started:
    order: PaymentOrder
    checkout: Checkout


def start(engine: Engine, gateway: Gateway, *, purpose: str, scene: str, lines: list[tuple[Account, int]],
          description: str, limits: Limits, now: datetime, resident_id: int | None = None,
          manager_id: int | None = None, payer_id: str | None = None, client_ip: str | None = None,
          return_url: Callable[[str], str] | None = None) -> Started:
    """``return_url(out_trade_no)`` is where the cashier sends the payer back to."""
    for _, amount in lines:
        check_amount(amount, limits.minimum_fen, limits.maximum_fen)
    with unit_of_work(engine) as session:
        order = create_order(session, channel=gateway.channel, scene=scene, purpose=purpose, lines=lines,
                             description=description, now=now, ttl=limits.ttl, resident_id=resident_id,
                             manager_id=manager_id)
    request = OrderRequest(order.out_trade_no, order.amount_fen, order.description, order.expires_at)
    try:
        checkout = gateway.create(request, scene, payer_id=payer_id, client_ip=client_ip,
                                  return_url=return_url(order.out_trade_no) if return_url else None)
    except GatewayError:
        _record_outcome(engine, order.out_trade_no, FAILED, None, now)
        raise
    order = _record_outcome(engine, order.out_trade_no, PAYING, checkout.url, now)
    return Started(order, checkout)


def _record_outcome(engine: Engine, out_trade_no: str, state: str, url: str | None, now: datetime) -> PaymentOrder:
    with unit_of_work(engine) as session:
        order = get_order(session, out_trade_no, lock=True)
        if order.state == CREATED:  # a notification may already have settled it
            transition(order, state, now)
            order.checkout_url = url
            session.add(order)
        return order


def check(engine: Engine, gateway: Gateway, out_trade_no: str, *, now: datetime) -> PaymentOrder:
    """The payer is back from the cashier: ask the channel rather than wait for the notification."""
    with read_session(engine) as session:
        order = get_order(session, out_trade_no)
    if order.state not in (CREATED, PAYING):
        return order
    try:
        report = gateway.query(out_trade_no)
    except GatewayError:
        return order  # the notification or the next sync will tell
    with unit_of_work(engine) as session:
        settle(session, report, gateway.merchant, now=now)
        return get_order(session, out_trade_no)


def progress(order: PaymentOrder, now: datetime) -> str:
    """What the payer should be told: paid, closed (closed or failed: nothing was taken), waiting
    for the channel, or expired (still open here but past its lifetime: the payer gave up or
    cancelled, and ``payments sync`` will close it at the channel)."""
    if order.state == PAID:
        return PAID
    if order.state not in (CREATED, PAYING):
        return "closed"
    return EXPIRED if now >= order.expires_at else WAITING


@dataclass(frozen=True)
class ResidentChoice:
    """What the resident's pay form says: pay off the arrears the page showed, or prepay an amount."""

    what: str  # ARREARS | PREPAY
    amount_text: str
    channel: str
    shown_arrears_fen: int | None = None  # the arrears figure the page showed


def resident_charge(balance_fen: int, choice: ResidentChoice) -> tuple[str, int]:
    """(purpose, fen): exactly what the page said will be charged, or an error naming the field.
    Paying arrears charges the arrears the page showed; if they have changed since, or an amount
    was also typed that says otherwise, the resident is asked rather than charged a guess."""
    if choice.what == PREPAY:
        return PREPAY, parse_yuan(choice.amount_text, "amount")
    if choice.what != ARREARS or balance_fen >= 0:
        raise InvalidInput("what", "choose to pay the arrears or to prepay an amount")
    if choice.shown_arrears_fen != -balance_fen:
        raise InvalidInput("arrears", "the arrears changed since the page was shown", arrears_fen=-balance_fen)
    typed = choice.amount_text.strip()
    if typed and _yuan_or_none(typed) != -balance_fen:
        raise InvalidInput("what_amount", "an amount was typed while paying the arrears", arrears_fen=-balance_fen)
    return ARREARS, -balance_fen


def _yuan_or_none(text: str) -> int | None:
    try:
        return parse_yuan(text)
    except InvalidInput:
        return None


def _gateway(gateways: Mapping[str, Gateway], channel: str) -> Gateway:
    if channel not in gateways:
        raise InvalidInput("channel", "choose WeChat Pay or Alipay")
    return gateways[channel]


def resident_channels(gateways: Mapping[str, Gateway], device: str, *, openid: str | None) -> list[str]:
    """The channels a resident can pay by from ``device``: JSAPI needs the payer's openid."""
    scenes = DEVICE_SCENES[device]
    return [channel for channel in gateways if channel in scenes and (scenes[channel] not in AS_PAYER or openid)]


def start_resident(engine: Engine, gateways: Mapping[str, Gateway], account: Account, choice: ResidentChoice, *,
                   limits: Limits, now: datetime, resident_id: int, client_ip: str | None,
                   return_url: Callable[[str], str] | None, device: str = PHONE, openid: str | None = None) -> Started:
    """A resident pays for one of their own 户号 from ``device`` (in WeChat, as ``openid``)."""
    if choice.channel not in resident_channels(gateways, device, openid=openid):
        raise InvalidInput("channel", "choose a way to pay that works here")
    gateway, scene = gateways[choice.channel], DEVICE_SCENES[device][choice.channel]
    with read_session(engine) as session:
        balance = ledger.customer_balances(session, [account.id]).get(account.id, 0)
    purpose, amount = resident_charge(balance, choice)
    return start(engine, gateway, purpose=purpose, scene=scene, lines=[(account, amount)], limits=limits, now=now,
                 description=f"电费{'缴费' if purpose == ARREARS else '预存'}-{account.account_no}",
                 resident_id=resident_id, client_ip=client_ip, return_url=return_url,
                 payer_id=openid if scene in AS_PAYER else None)


def start_bulk(engine: Engine, gateways: Mapping[str, Gateway], manager: Manager, channel: str,
               selection: list[tuple[str, int]], *, limits: Limits, now: datetime, resident_id: int,
               return_url: Callable[[str], str]) -> Started:
    """A property manager pays the (户号, fen) lines they confirmed on the preview, checked again here:
    the 户号 must still be theirs and each amount within the limits."""
    gateway = _gateway(gateways, channel)
    with read_session(engine) as session:
        lines = bulk.confirmed_lines(bulk.managed_accounts(session, manager.id), selection,
                                     max_line_fen=limits.maximum_fen)
    return start(engine, gateway, purpose=BULK, scene=MANAGER_SCENES[gateway.channel], lines=lines, limits=limits,
                 now=now, description=f"{manager.name} 代缴电费 {len(lines)} 户", resident_id=resident_id,
                 manager_id=manager.id, return_url=return_url)
