"""Starting a payment at a channel, and checking on it when the payer comes back.

An order is committed before the channel is called, so a crash in between leaves an order that
``payments sync`` will query and close; the channel's answer (a page, a QR code) is recorded after.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from billing.accounts import Account
from billing.db import read_session, unit_of_work
from payments.errors import GatewayError
from payments.gateways.base import Checkout, Gateway, OrderRequest
from payments.orders import CREATED, FAILED, PAYING, PaymentOrder, check_amount, create_order, get_order, transition
from payments.settlement import settle


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
