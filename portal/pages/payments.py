"""Resident payments: prepay any amount or pay what is owed on a bound 户号, by WeChat Pay (H5) or
Alipay (WAP), and the page the cashier sends the payer back to."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from billing import ledger
from billing.db import read_session
from billing.errors import BillingError, InvalidInput
from billing.money import parse_yuan
from billing.residents import bound_accounts
from payments import checkout
from payments.orders import ARREARS, PREPAY
from portal.auth import current_resident_id, resident_required
from portal.i18n import error_message
from portal.receipts import receipt_for
from portal.wiring import services

blueprint = Blueprint("pay", __name__, url_prefix="/pay")
RESIDENT_SCENES = {"wechat": "h5", "alipay": "wap"}  # a phone's browser


def _bound(account_no: str):
    """The resident's own 户号 and its balance; anyone else's is a 404, not a 403 (no probing)."""
    with read_session(services().engine) as db:
        account = next((a for a in bound_accounts(db, current_resident_id()) if a.account_no == account_no), None)
        if account is None:
            abort(404)
        return account, ledger.customer_balances(db, [account.id])[account.id]


def public_url(endpoint: str, **values) -> str:
    return str(current_app.config["PUBLIC_URL"]).rstrip("/") + url_for(endpoint, **values)


@blueprint.get("/<account_no>")
@resident_required
def form(account_no: str):
    account, balance = _bound(account_no)
    return _pay_page(account, balance, request.args.get("amount", ""))


def _pay_page(account, balance: int, amount: str, status: int = 200):
    svc = services()
    return render_template("pages/pay.html", account=account, balance=balance, channels=list(svc.gateways),
                           limits=svc.limits, amount=amount), status


@blueprint.post("/<account_no>")
@resident_required
def start(account_no: str):
    account, balance = _bound(account_no)
    svc = services()
    channel = request.form.get("channel", "")
    paying_arrears = request.form.get("what") == ARREARS and balance < 0
    try:
        if channel not in svc.gateways:
            raise InvalidInput("channel", "choose WeChat Pay or Alipay")
        amount = -balance if paying_arrears else parse_yuan(request.form.get("amount", ""), "amount")
        started = checkout.start(
            svc.engine, svc.gateways[channel], purpose=ARREARS if paying_arrears else PREPAY,
            scene=RESIDENT_SCENES[channel], lines=[(account, amount)], limits=svc.limits, now=svc.clock(),
            description=f"电费{'缴费' if paying_arrears else '预存'}-{account.account_no}",
            resident_id=current_resident_id(), client_ip=request.remote_addr,
            return_url=lambda out_trade_no: public_url("pay.order", out_trade_no=out_trade_no),
        )
    except BillingError as error:  # the form again, as typed (escaped), never echoed into a URL
        flash(error_message(error), "error")
        return _pay_page(account, balance, request.form.get("amount", ""), 400)
    return redirect(started.checkout.url)


@blueprint.get("/orders/<out_trade_no>")
@resident_required
def order(out_trade_no: str):
    shown = receipt_for(out_trade_no, lambda order: order.resident_id == current_resident_id())
    return render_template("pages/order.html", order=shown.order, lines=shown.lines)
