"""Resident payments: prepay any amount or pay what is owed on a bound 户号, by WeChat Pay (H5) or
Alipay (WAP), and the page the cashier sends the payer back to."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from billing import ledger
from billing.db import read_session
from billing.errors import BillingError
from billing.money import format_yuan
from billing.residents import bound_accounts
from payments import checkout
from payments.orders import ARREARS, PREPAY, PaymentOrder
from portal.auth import current_resident_id, resident_required
from portal.i18n import error_message
from portal.receipts import POLL_LIMIT, POLL_SECONDS, check_with_channel, receipt_for
from portal.wiring import services

blueprint = Blueprint("pay", __name__, url_prefix="/pay")
QUICK_AMOUNTS = ("50", "100", "200")  # 元, offered beside the amount field


def _bound(account_no: str):
    """The resident's own 户号 and its balance; anyone else's is a 404, not a 403 (no probing)."""
    with read_session(services().engine) as db:
        account = next((a for a in bound_accounts(db, current_resident_id()) if a.account_no == account_no), None)
        if account is None:
            abort(404)
        return account, ledger.customer_balances(db, [account.id]).get(account.id, 0)


def public_url(endpoint: str, **values) -> str:
    return str(current_app.config["PUBLIC_URL"]).rstrip("/") + url_for(endpoint, **values)


def _mine(order: PaymentOrder) -> bool:
    return order.resident_id == current_resident_id()


def _form_page(account, balance: int, choice: checkout.ResidentChoice, error: str | None = None, status: int = 200):
    svc = services()
    return render_template("pages/pay.html", account=account, balance=balance, channels=list(svc.gateways),
                           limits=svc.limits, choice=choice, error=error, quick_amounts=QUICK_AMOUNTS), status


@blueprint.get("/<account_no>")
@resident_required
def form(account_no: str):
    account, balance = _bound(account_no)
    channels = list(services().gateways)
    choice = checkout.ResidentChoice(ARREARS if balance < 0 else PREPAY, "", channels[0] if channels else "")
    again, quick = request.args.get("again"), request.args.get("amount")
    if quick in QUICK_AMOUNTS:  # a quick amount's link: prepay that much (the page's script fills it in place)
        choice = checkout.ResidentChoice(PREPAY, f"{quick}.00", choice.channel)
    if again:  # 重新支付 from a result page: the same choice as that order
        previous = receipt_for(again, _mine).order
        prepaid = previous.purpose == PREPAY
        choice = checkout.ResidentChoice(PREPAY if prepaid or balance >= 0 else ARREARS,
                                         format_yuan(previous.amount_fen) if prepaid else "", previous.channel)
    return _form_page(account, balance, choice)


@blueprint.post("/<account_no>")
@resident_required
def start(account_no: str):
    account, _ = _bound(account_no)
    svc = services()
    shown = request.form.get("shown_arrears_fen", "")
    choice = checkout.ResidentChoice(request.form.get("what", ""), request.form.get("amount", ""),
                                     request.form.get("channel", ""), int(shown) if shown.isdigit() else None)
    try:
        started = checkout.start_resident(
            svc.engine, svc.gateways, account, choice, limits=svc.limits, now=svc.clock(),
            resident_id=current_resident_id(), client_ip=request.remote_addr,
            return_url=lambda out_trade_no: public_url("pay.order", out_trade_no=out_trade_no),
        )
    except BillingError as error:
        _, balance = _bound(account_no)  # the page shows the arrears as they are now
        return _form_page(account, balance, choice, error_message(error), 400)
    return redirect(started.checkout.url)


@blueprint.get("/orders/<out_trade_no>")
@resident_required
def order(out_trade_no: str):
    shown = receipt_for(out_trade_no, _mine)
    account_no = shown.lines[0][0].account_no if shown.lines else None
    return render_template("pages/order.html", order=shown.order, lines=shown.lines, progress=shown.progress,
                           account_no=account_no, check_endpoint="pay.check", poll_seconds=POLL_SECONDS,
                           poll_limit=POLL_LIMIT)


@blueprint.post("/orders/<out_trade_no>/check")
@resident_required
def check(out_trade_no: str):
    return check_with_channel(out_trade_no, _mine, "pay.order")
