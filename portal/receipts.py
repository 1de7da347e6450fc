"""What a payer, a property manager or a cashier sees of one order: the order as we have recorded
it, the 户号 it paid for, and each balance right after the payment (a reprint shows the same
figures).  Shared by the result and receipt pages.

Showing a page changes nothing: asking the channel (which may settle the order) is a POST, made by
the page's script while it waits or by its 刷新结果 button.  A POST because it can change the order;
the script sends the CSRF token in a header, so another site cannot make us query on its behalf.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from urllib.parse import urlencode

import segno
from flask import abort, current_app, jsonify, redirect, request, url_for

from billing.accounts import Account
from billing.db import read_session
from billing.errors import BillingError
from billing.staff import StaffUser
from payments import checkout
from payments.orders import PaymentOrder, get_order, receipt_lines
from portal.wiring import services

POLL_SECONDS, POLL_LIMIT = 3, 40  # the page's script asks every 3 s for at most 2 minutes


@dataclass(frozen=True)
class Receipt:
    order: PaymentOrder
    lines: list[tuple[Account, int, int | None]]  # 户号, amount, balance right after its credit
    cashier: StaffUser | None  # who took the money at the counter
    progress: str  # paid | waiting | expired | closed, as checkout.progress tells it


def _visible_order(out_trade_no: str, visible: Callable[[PaymentOrder], bool]) -> PaymentOrder:
    """The order if ``visible`` to the caller; anyone else gets a 404, not a hint."""
    with read_session(services().engine) as db:
        try:
            order = get_order(db, out_trade_no)
        except BillingError:
            abort(404)
    if not visible(order):
        abort(404)
    return order


@dataclass(frozen=True)
class ScanToPay:
    qr_image: str  # a data: URI (the page's CSP allows img-src data:)
    demo_scan: str | None  # in the demo, a link that plays a phone scanning the code, then comes back


def scan_to_pay(shown: Receipt, return_url: str) -> ScanToPay | None:
    """A WeChat Native order still waiting: its QR code for the payer's phone to scan."""
    order = shown.order
    if shown.progress != checkout.WAITING or order.channel != "wechat" or not order.checkout_url \
            or not order.checkout_url.startswith("weixin://"):
        return None
    demo_scan = None
    if current_app.config["PAYMENTS_SANDBOX"]:
        query = urlencode({"code_url": order.checkout_url, "return_url": return_url})
        demo_scan = f"http://127.0.0.1:{current_app.config['SANDBOX_WECHATPAY_PORT']}/sandbox/scan?{query}"
    return ScanToPay(segno.make(order.checkout_url, error="m").svg_data_uri(scale=6, border=2), demo_scan)


def receipt_for(out_trade_no: str, visible: Callable[[PaymentOrder], bool]) -> Receipt:
    """The order as recorded, read only."""
    svc = services()
    order = _visible_order(out_trade_no, visible)
    with read_session(svc.engine) as db:
        cashier = db.get(StaffUser, order.cashier_id) if order.cashier_id else None
        return Receipt(order, receipt_lines(db, order), cashier, checkout.progress(order, svc.clock()))


def check_with_channel(out_trade_no: str, visible: Callable[[PaymentOrder], bool], page_endpoint: str):
    """Ask the order's channel how it stands (the payer is back from the cashier, or still
    waiting), then answer the script with JSON, or send a browser without script back to the page."""
    svc = services()
    order = _visible_order(out_trade_no, visible)
    if order.channel in svc.gateways:
        order = checkout.check(svc.engine, svc.gateways[order.channel], out_trade_no, now=svc.clock())
    progress = checkout.progress(order, svc.clock())
    if request.accept_mimetypes.best == "application/json":
        return jsonify(state=order.state, progress=progress, done=progress != checkout.WAITING)
    return redirect(url_for(page_endpoint, out_trade_no=out_trade_no), 303)
