"""Property-manager bulk payment: tick 户号 (or upload ``户号,金额`` CSV), pay once by WeChat Pay
Native QR or Alipay page pay, get one consolidated receipt listing every 户号."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for

from billing import ledger
from billing.db import read_session
from billing.errors import BillingError, InvalidInput
from billing.managers import managers_of
from payments import bulk, checkout
from payments.errors import BulkFileInvalid
from payments.orders import BULK
from portal.auth import current_resident_id, resident_required
from portal.i18n import bulk_problem, error_message
from portal.pages.payments import public_url
from portal.receipts import receipt_for
from portal.wiring import services

blueprint = Blueprint("manager", __name__, url_prefix="/manager")
MANAGER_SCENES = {"wechat": "native", "alipay": "page"}  # a desk computer: QR code or desktop cashier


@blueprint.before_request
@resident_required
def load_manager():
    with read_session(services().engine) as db:
        managers = managers_of(db, current_resident_id())
    if not managers:
        abort(403)
    g.manager = managers[0]


def _page(problems: list[str] | None = None, status: int = 200):
    svc = services()
    with read_session(svc.engine) as db:
        accounts = list(bulk.managed_accounts(db, g.manager.id).values())
        balances = ledger.customer_balances(db, [a.id for a in accounts])
    return render_template("manager/home.html", manager=g.manager, accounts=accounts, balances=balances,
                           channels=list(svc.gateways), problems=problems or [], limits=svc.limits), status


@blueprint.get("/")
def home():
    return _page()


@blueprint.post("/pay")
def pay_selected():
    chosen = {no: request.form.get(f"amount-{no}", "").strip() for no in request.form.getlist("pick")}
    return _pay(lambda managed, limit: bulk.check_selection(managed, chosen, max_line_fen=limit))


@blueprint.post("/upload")
def pay_upload():
    upload = request.files.get("file")
    data = upload.read() if upload else b""
    return _pay(lambda managed, limit: bulk.parse_lines(bulk.decode_upload(data), managed, max_line_fen=limit))


def _pay(read_lines):
    svc = services()
    channel = request.form.get("channel", "")
    try:
        if channel not in svc.gateways:
            raise InvalidInput("channel", "choose WeChat Pay or Alipay")
        with read_session(svc.engine) as db:
            lines = read_lines(bulk.managed_accounts(db, g.manager.id), svc.limits.maximum_fen)
        started = checkout.start(
            svc.engine, svc.gateways[channel], purpose=BULK, scene=MANAGER_SCENES[channel], lines=lines,
            description=f"{g.manager.name} 代缴电费 {len(lines)} 户", limits=svc.limits, now=svc.clock(),
            resident_id=current_resident_id(), manager_id=g.manager.id,
            return_url=lambda out_trade_no: public_url("manager.order", out_trade_no=out_trade_no),
        )
    except BulkFileInvalid as invalid:
        return _page([bulk_problem(line, code, values) for line, code, values in invalid.problems], 400)
    except BillingError as error:
        return _page([error_message(error)], 400)
    if started.checkout.kind == "qr":
        return redirect(url_for("manager.order", out_trade_no=started.order.out_trade_no))
    return redirect(started.checkout.url)


@blueprint.get("/orders/<out_trade_no>")
def order(out_trade_no: str):
    shown = receipt_for(out_trade_no, lambda order: order.manager_id == g.manager.id)
    demo_scan = None
    if current_app.config["PAYMENTS_SANDBOX"] and shown.order.channel == "wechat" and shown.order.checkout_url:
        demo_scan = f"http://127.0.0.1:{current_app.config['SANDBOX_WECHATPAY_PORT']}/sandbox/scan"
    return render_template("manager/order.html", order=shown.order, lines=shown.lines,
                           demo_scan=demo_scan)
