"""Resident payments: prepay any amount or pay what is owed on a bound 户号, by WeChat Pay (H5) or
Alipay (WAP) on a phone, by a WeChat Pay QR code or Alipay's desktop cashier on a desktop, by WeChat
Pay's JSAPI pay sheet inside WeChat's browser (for a resident
whose WeChat login gave us the payer's openid), and the page the cashier sends the payer back to."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from billing import ledger, wechat_identities
from billing.db import read_session
from billing.errors import BillingError
from billing.money import format_yuan
from billing.residents import bound_accounts
from payments import checkout
from payments.orders import ARREARS, PREPAY, PaymentOrder
from portal.auth import current_resident_id, resident_required
from portal.i18n import error_message
from portal.receipts import POLL_LIMIT, POLL_SECONDS, check_with_channel, receipt_for, scan_to_pay
from portal.wechat.views import in_wechat, on_desktop
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


def _payer() -> tuple[str, str | None]:
    """Where the resident pays from, and in WeChat the openid their WeChat login gave us."""
    if not in_wechat():
        return (checkout.DESKTOP if on_desktop() else checkout.PHONE), None
    with read_session(services().engine) as db:
        return checkout.IN_WECHAT, wechat_identities.openid_of(db, current_resident_id(), wechat_identities.OA)


def _channels() -> list[str]:
    device, openid = _payer()
    return checkout.resident_channels(services().gateways, device, openid=openid)


def _form_page(account, balance: int, choice: checkout.ResidentChoice, error: str | None = None, status: int = 200):
    svc = services()
    return render_template("pages/pay.html", account=account, balance=balance, channels=_channels(),
                           limits=svc.limits, choice=choice, error=error, in_wechat=in_wechat(),
                           quick_amounts=QUICK_AMOUNTS), status


@blueprint.get("/<account_no>")
@resident_required
def form(account_no: str):
    account, balance = _bound(account_no)
    channels = _channels()
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
    device, openid = _payer()
    try:
        started = checkout.start_resident(
            svc.engine, svc.gateways, account, choice, limits=svc.limits, now=svc.clock(),
            resident_id=current_resident_id(), client_ip=request.remote_addr,
            return_url=lambda out_trade_no: public_url("pay.order", out_trade_no=out_trade_no),
            device=device, openid=openid,
        )
    except BillingError as error:
        _, balance = _bound(account_no)  # the page shows the arrears as they are now
        return _form_page(account, balance, choice, error_message(error), 400)
    if started.checkout.kind == "jsapi":
        return _pay_sheet(started)
    if started.checkout.kind == "qr":  # the result page shows the code until it is paid
        return redirect(url_for("pay.order", out_trade_no=started.order.out_trade_no))
    return redirect(started.checkout.url)


def _pay_sheet(started: checkout.Started):
    """The page that opens WeChat's pay sheet (``WeixinJSBridge``) over itself, then shows the result.
    Without WeChat's bridge (the demo's browser) it opens the sandbox's stand-in for it."""
    order, params = started.order, started.checkout.params
    back = public_url("pay.order", out_trade_no=order.out_trade_no)
    sandbox = None
    if current_app.config["PAYMENTS_SANDBOX"]:
        port = current_app.config["SANDBOX_WECHATPAY_PORT"]
        sandbox = f"http://127.0.0.1:{port}/sandbox/jsapi?{urlencode(params | {'redirect_url': back})}"
    return render_template("pages/pay_wechat.html", order=order, params=params, result_url=back,
                           sandbox_url=sandbox)


@blueprint.get("/orders/<out_trade_no>")
@resident_required
def order(out_trade_no: str):
    shown = receipt_for(out_trade_no, _mine)
    account_no = shown.lines[0][0].account_no if shown.lines else None
    return render_template("pages/order.html", order=shown.order, lines=shown.lines, progress=shown.progress,
                           scan=scan_to_pay(shown, public_url("pay.order", out_trade_no=out_trade_no)),
                           account_no=account_no, check_endpoint="pay.check", poll_seconds=POLL_SECONDS,
                           poll_limit=POLL_LIMIT)


@blueprint.post("/orders/<out_trade_no>/check")
@resident_required
def check(out_trade_no: str):
    return check_with_channel(out_trade_no, _mine, "pay.order")
