"""What a payer, a property manager or a cashier sees of one order: the order as the channel now
reports it, the 户号 it paid for, and each balance right after the payment (a reprint shows the
same figures).  Shared by the result and receipt pages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import abort

from billing.accounts import Account
from billing.db import read_session
from billing.errors import BillingError
from billing.staff import StaffUser
from payments import checkout
from payments.orders import PaymentOrder, get_order, receipt_lines
from portal.wiring import services


@dataclass(frozen=True)
class Receipt:
    order: PaymentOrder
    lines: list[tuple[Account, int, int | None]]  # 户号, amount, balance right after its credit
    cashier: StaffUser | None  # who took the money at the counter


def receipt_for(out_trade_no: str, visible: Callable[[PaymentOrder], bool]) -> Receipt:
    """The order if ``visible`` to the caller (anyone else gets a 404, not a hint), asking its
    channel first while it is still open, so a payer back from the cashier sees the outcome."""
    svc = services()
    with read_session(svc.engine) as db:
        try:
            order = get_order(db, out_trade_no)
        except BillingError:
            abort(404)
    if not visible(order):
        abort(404)
    if order.channel in svc.gateways:
        order = checkout.check(svc.engine, svc.gateways[order.channel], out_trade_no, now=svc.clock())
    with read_session(svc.engine) as db:
        cashier = db.get(StaffUser, order.cashier_id) if order.cashier_id else None
        return Receipt(order, receipt_lines(db, order), cashier)
