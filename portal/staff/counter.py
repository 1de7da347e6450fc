"""The service-hall counter: enter 户号 and amounts, confirm them against each holder and balance,
take cash or card, print the receipt, close the drawer at the end of the day.  Role: cashier.

Each view reads the form, calls one service of ``payments.counter`` and renders; the form's rows
travel to the confirm page as hidden fields and are checked again when the money is taken.
"""

from __future__ import annotations

from flask import flash, g, jsonify, redirect, render_template, request, url_for

from billing.clock import beijing_date
from billing.db import read_session, unit_of_work
from billing.errors import BillingError, InvalidInput
from billing.money import format_yuan, parse_yuan
from billing.privacy import mask_name
from payments import counter
from payments.orders import COUNTER as COUNTER_CHANNEL
from portal import sealed
from portal.i18n import counter_problem, error_message, gettext as _
from portal.receipts import receipt_for
from portal.staff.access import blueprint, staff_required
from portal.staff.roles import COUNTER
from portal.wiring import services

ROWS = 6
RECEIPT_SEAL = "counter-receipt"  # the receipt number a confirm page hands out, signed


def _rows(form) -> list[tuple[str, str]]:
    return [(form.get(f"account_no-{n}", ""), form.get(f"amount-{n}", "")) for n in range(1, ROWS + 1)]


def _entry(values=None, problems: list[str] | None = None, status: int = 200):
    """The entry form (or the closed drawer), with the rows as typed and what is wrong with them."""
    svc = services()
    with read_session(svc.engine) as db:
        drawer = counter.drawer(db, g.staff.id, beijing_date(svc.clock()))
    return render_template("staff/counter.html", rows=range(1, ROWS + 1), values=values or {}, drawer=drawer,
                           problems=problems or []), status


def _problems(error: BillingError) -> list[str]:
    if isinstance(error, counter.CounterRowsInvalid):
        return [counter_problem(row, code, values) for row, code, values in error.problems]
    return [error_message(error)]


@blueprint.get("/counter")
@staff_required(COUNTER)
def counter_form():
    return _entry()


@blueprint.post("/counter/edit")
@staff_required(COUNTER)
def counter_edit():
    """Back from the confirm page to the rows as they were."""
    return _entry(request.form)


@blueprint.post("/counter/preview")
@staff_required(COUNTER)
def counter_preview():
    svc = services()
    try:
        with read_session(svc.engine) as db:
            lines = counter.preview(db, cashier_id=g.staff.id, rows=_rows(request.form), limits=svc.limits,
                                    now=svc.clock())
    except BillingError as error:
        return _entry(request.form, _problems(error), 400)
    receipt = sealed.seal(RECEIPT_SEAL, {"cashier": g.staff.id, "receipt": counter.new_receipt_no(svc.clock())})
    return render_template("staff/counter_confirm.html", lines=lines, total=sum(line.amount_fen for line in lines),
                           receipt=receipt)


@blueprint.post("/counter")
@staff_required(COUNTER)
def take_payment():
    svc = services()
    try:
        with unit_of_work(svc.engine) as db:
            order = counter.take_payment(db, cashier_id=g.staff.id, method=request.form.get("method", ""),
                                         rows=_rows(request.form), limits=svc.limits, now=svc.clock(),
                                         receipt_no=_receipt_no(request.form.get("receipt", "")))
    except BillingError as error:
        return _entry(request.form, _problems(error), 400)
    return redirect(url_for("staff.receipt", out_trade_no=order.out_trade_no))


def _receipt_no(token: str) -> str:
    """The receipt number this cashier's confirm page was handed (a page is good for a working day)."""
    data = sealed.unseal(RECEIPT_SEAL, token, max_age=12 * 3600, field="receipt")
    if data.get("cashier") != g.staff.id:
        raise InvalidInput("receipt", "this confirm page was made for another cashier")
    return str(data["receipt"])


@blueprint.get("/counter/accounts/<account_no>")
@staff_required(COUNTER)
def counter_account(account_no: str):
    """The holder and balance of a 户号 as the cashier types it (counter.js); JSON."""
    try:
        with read_session(services().engine) as db:
            found = counter.payer(db, account_no)
    except BillingError as error:
        return jsonify(error={"code": error.code, "message": error_message(error)}), 400
    if found is None:
        message = counter_problem(None, "account_unknown", {"account_no": account_no})
        return jsonify(error={"code": "not_found", "message": message}), 404
    shown = _("欠费 {amount} 元", amount=format_yuan(-found.balance_fen)) if found.balance_fen < 0 else \
        _("余额 {amount} 元", amount=format_yuan(found.balance_fen))
    return jsonify(account_no=found.account.account_no, holder=mask_name(found.account.holder_name),
                   balance_fen=found.balance_fen, text=f"{mask_name(found.account.holder_name)} · {shown}")


@blueprint.get("/counter/receipts/<out_trade_no>")
@staff_required(COUNTER)
def receipt(out_trade_no: str):
    shown = receipt_for(out_trade_no, lambda order: order.channel == COUNTER_CHANNEL)
    return render_template("staff/receipt.html", order=shown.order, lines=shown.lines,
                           cashier=shown.cashier)


@blueprint.route("/counter/close", methods=["GET", "POST"])
@staff_required(COUNTER)
def close_day():
    """Count the drawer; once closed, the page shows the close instead of the form."""
    svc = services()
    problem = None
    if request.method == "POST":
        try:
            with unit_of_work(svc.engine) as db:
                counter.close_day(db, cashier_id=g.staff.id, now=svc.clock(),
                                  counted_fen=parse_yuan(request.form.get("counted", ""), "counted"))
            flash(_("已轧账"), "info")
            return redirect(url_for("staff.close_day"))
        except BillingError as error:
            problem = error_message(error)
    with read_session(svc.engine) as db:
        drawer = counter.drawer(db, g.staff.id, beijing_date(svc.clock()))
    return render_template("staff/close.html", drawer=drawer, problem=problem), 400 if problem else 200
