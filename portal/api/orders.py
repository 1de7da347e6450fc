"""Paying from the mini-program and what was paid: a 户号's payments with their receipts and
refunds, a new prepay or arrears order (WeChat Pay's mini-program scene: the answer carries the
parameters of ``wx.requestPayment``), and an order's progress while the payer waits.

An order is visible to the resident who placed it and, for the lines of their own bound 户号, to
whoever else has bound them (a family member, the holder of a 户号 a property manager paid for);
to anyone else it does not exist.
"""

from __future__ import annotations

import re

from flask import jsonify, request
from sqlmodel import Session, select

from billing import ledger
from billing.db import read_session
from billing.errors import BillingError, NotFound
from billing.money import format_yuan
from billing.residents import WeChatIdentity, bound_accounts
from payments import checkout
from payments.orders import BULK, PAID, PREPAY, OrderLine, PaymentOrder, check_amount, get_order, receipt_lines
from payments.refunds import Refund
from portal.api import blueprint, shapes
from portal.api.accounts import mine
from portal.api.calls import int_field, json_body, resident_id, text_field
from portal.api.paging import page
from portal.errors import WeChatLoginRequired
from portal.wiring import services

MINI_APP = "mini"  # billing.residents.WeChatIdentity.app of the mini-program
_ORDER_NO = re.compile(r"[A-Za-z0-9_-]{1,32}", re.ASCII)


@blueprint.get("/accounts/<account_no>/payments")
def list_payments(account_no: str):
    with read_session(services().engine) as db:
        account = mine(db, account_no)
        rows = db.exec(select(PaymentOrder, OrderLine).join(OrderLine, OrderLine.order_id == PaymentOrder.id)
                       .where(OrderLine.account_id == account.id, PaymentOrder.state == PAID)
                       .order_by(PaymentOrder.paid_at.desc(), PaymentOrder.id.desc())).all()
        refunds = _refunds(db, account.account_no, [order for order, _ in rows])
    return jsonify(page(rows, lambda row: row[0].id, lambda row: _payment(*row, refunds.get(row[0].id, []))))


def _payment(order: PaymentOrder, line: OrderLine, refunds: list[Refund]) -> dict:
    return {"out_trade_no": order.out_trade_no, "channel": order.channel, "purpose": order.purpose,
            "amount_fen": line.amount_fen, "balance_after_fen": line.balance_after_fen,
            "paid_at": order.paid_at.isoformat() if order.paid_at else None,
            "refunds": [shapes.refund(refund) for refund in refunds]}


def _refunds(db: Session, account_no: str, orders: list[PaymentOrder]) -> dict[int, list[Refund]]:
    """The refunds of these orders that came out of this 户号's balance (a property manager's
    payment for many 户号 is refunded from the manager's float: not this holder's business)."""
    bulk = {order.id for order in orders if order.purpose == BULK}
    found: dict[int, list[Refund]] = {}
    if not orders:
        return found
    for refund in db.exec(select(Refund).where(Refund.order_id.in_([order.id for order in orders]))
                          .order_by(Refund.requested_at, Refund.id)):
        if refund.order_id not in bulk or refund.debit_code == ledger.customer_code(account_no):
            found.setdefault(refund.order_id, []).append(refund)
    return found


def _visible(db: Session, out_trade_no: str) -> tuple[PaymentOrder, list]:
    """The order and the lines the caller may see; ``NotFound`` if none."""
    try:
        order = get_order(db, out_trade_no) if _ORDER_NO.fullmatch(out_trade_no) else None
    except BillingError:
        order = None
    lines = receipt_lines(db, order) if order is not None else []
    if order is not None and order.resident_id != resident_id():
        bound = {account.id for account in bound_accounts(db, resident_id())}
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
    found = db.exec(select(WeChatIdentity.openid).where(WeChatIdentity.app == MINI_APP,
                                                         WeChatIdentity.resident_id == resident_id())).first()
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
        payer = _openid(db) if channel in checkout.MINIPROGRAM_SCENES else None
    started = checkout.start_resident(
        svc.engine, svc.gateways, account, choice, limits=svc.limits, now=svc.clock(), resident_id=resident_id(),
        client_ip=request.remote_addr, return_url=None, scenes=checkout.MINIPROGRAM_SCENES, payer_id=payer)
    with read_session(svc.engine) as db:
        order, lines = _visible(db, started.order.out_trade_no)
    pay = started.checkout
    return jsonify(order=_answer(order, lines), checkout={"kind": pay.kind, "url": pay.url, "params": pay.params}), 201
