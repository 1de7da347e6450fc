"""Paying from the mini-program: a new prepay or arrears order (WeChat Pay's mini-program scene:
the answer carries the parameters of ``wx.requestPayment``), and an order's progress while the
payer waits.

An order is visible to the resident who placed it and, for the lines of their own bound 户号, to
whoever else has bound them (a family member, the holder of a 户号 a property manager paid for);
to anyone else it does not exist.
"""

from __future__ import annotations

import re

from flask import jsonify, request
from sqlmodel import Session

from billing import wechat_identities
from billing.db import read_session
from billing.errors import BillingError, NotFound
from billing.money import format_yuan
from billing.bindings import bindings
from payments import checkout
from payments.orders import PREPAY, PaymentOrder, check_amount, get_order, receipt_lines
from portal.api import blueprint, shapes
from portal.api.accounts import mine
from portal.api.calls import int_field, json_body, resident_id, text_field
from portal.errors import WeChatLoginRequired
from portal.wiring import services

_ORDER_NO = re.compile(r"[A-Za-z0-9_-]{1,32}", re.ASCII)


def _visible(db: Session, out_trade_no: str) -> tuple[PaymentOrder, list]:
    """The order and the lines the caller may see; ``NotFound`` if none."""
    try:
        order = get_order(db, out_trade_no) if _ORDER_NO.fullmatch(out_trade_no) else None
    except BillingError:
        order = None
    lines = receipt_lines(db, order) if order is not None else []
    if order is not None and order.resident_id != resident_id():
        bound = {found.account_id for found in bindings(db, resident_id())}
        lines = [line for line in lines if line[0].id in bound]
    if order is None or not lines:
        raise NotFound("no such order among yours", field="out_trade_no")
    return order, lines


def _answer(order: PaymentOrder, lines: list) -> dict:
    return shapes.order(order, checkout.progress(order, services().clock()), lines)


@blueprint.get("/orders/<out_trade_no>")
def get_order_status(out_trade_no: str):
    with read_session(services().engine) as db:
        return jsonify(_answer(*_visible(db, out_trade_no)))


@blueprint.post("/orders/<out_trade_no>/check")
def check_order(out_trade_no: str):
    """Ask the channel how the order stands (the payer is back from ``wx.requestPayment``)."""
    svc = services()
    with read_session(svc.engine) as db:
        order, _lines = _visible(db, out_trade_no)
    if order.channel in svc.gateways:
        checkout.check(svc.engine, svc.gateways[order.channel], out_trade_no, now=svc.clock())
    with read_session(svc.engine) as db:
        return jsonify(_answer(*_visible(db, out_trade_no)))


def _openid(db: Session) -> str:
    found = wechat_identities.openid_of(db, resident_id(), wechat_identities.MINI)
    if found is None:
        raise WeChatLoginRequired()
    return found


@blueprint.post("/accounts/<account_no>/orders")
def create_order(account_no: str):
    svc = services()
    with read_session(svc.engine) as db:
        account = mine(db, account_no)  # someone else's 户号 is a 404 whatever the body says
    data = json_body()
    what = text_field(data, "what", max_chars=10)
    channel = text_field(data, "channel", required=False, max_chars=10) or "wechat"
    amount = int_field(data, "amount_fen", required=what == PREPAY)
    if what == PREPAY:
        check_amount(amount, svc.limits.minimum_fen, svc.limits.maximum_fen, field="amount_fen")
    choice = checkout.ResidentChoice(what, "" if amount is None else format_yuan(amount), channel,
                                     int_field(data, "shown_arrears_fen", required=False))
    with read_session(svc.engine) as db:
        payer = _openid(db) if channel in checkout.DEVICE_SCENES[checkout.MINI_PROGRAM] else None
    started = checkout.start_resident(
        svc.engine, svc.gateways, account, choice, limits=svc.limits, now=svc.clock(), resident_id=resident_id(),
        client_ip=request.remote_addr, return_url=None, device=checkout.MINI_PROGRAM, openid=payer)
    with read_session(svc.engine) as db:
        order, lines = _visible(db, started.order.out_trade_no)
    pay = started.checkout
    return jsonify(order=_answer(order, lines), checkout={"kind": pay.kind, "url": pay.url, "params": pay.params}), 201
