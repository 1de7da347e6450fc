"""The service-hall counter: take cash or card for one or many 户号, print the receipt, close the
drawer at the end of the day.  Role: cashier."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from billing.accounts import get_account
from billing.clock import beijing_date
from billing.db import read_session, unit_of_work
from billing.errors import BillingError, InvalidInput
from billing.money import parse_yuan
from payments import counter
from payments.orders import COUNTER
from portal.i18n import error_message, gettext as _
from portal.receipts import receipt_for
from portal.staff.access import blueprint, staff_required
from portal.wiring import services

ROWS = 6


def _lines(db, form) -> list:
    """The filled rows of the form as (account, fen); a bad row is named by its number."""
    lines = []
    for row in range(1, ROWS + 1):
        account_no, amount = form.get(f"account_no-{row}", "").strip(), form.get(f"amount-{row}", "").strip()
        if not account_no and not amount:
            continue
        account = get_account(db, account_no)
        lines.append((account, parse_yuan(amount, f"amount-{row}")))
    if not lines:
        raise InvalidInput("account_no-1", "enter at least one 户号 and amount")
    return lines


@blueprint.get("/counter")
@staff_required("cashier")
def counter_form():
    svc = services()
    with read_session(svc.engine) as db:
        takings = counter.day_takings(db, g.staff.id, beijing_date(svc.clock()))
    return render_template("staff/counter.html", rows=range(1, ROWS + 1), takings=takings, form=request.args)


@blueprint.post("/counter")
@staff_required("cashier")
def take_payment():
    svc = services()
    try:
        with unit_of_work(svc.engine) as db:
            order = counter.take_payment(db, cashier_id=g.staff.id, method=request.form.get("method", ""),
                                         lines=_lines(db, request.form), now=svc.clock())
    except BillingError as error:
        flash(error_message(error), "error")
        return render_template("staff/counter.html", rows=range(1, ROWS + 1), takings={}, form=request.form), 400
    return redirect(url_for("staff.receipt", out_trade_no=order.out_trade_no))


@blueprint.get("/counter/receipts/<out_trade_no>")
@staff_required("cashier")
def receipt(out_trade_no: str):
    shown = receipt_for(out_trade_no, lambda order: order.channel == COUNTER)
    return render_template("staff/receipt.html", order=shown.order, lines=shown.lines,
                           cashier=shown.cashier)


@blueprint.route("/counter/close", methods=["GET", "POST"])
@staff_required("cashier")
def close_day():
    svc = services()
    closed = None
    if request.method == "POST":
        try:
            with unit_of_work(svc.engine) as db:
                closed = counter.close_day(db, cashier_id=g.staff.id, now=svc.clock(),
                                           counted_fen=parse_yuan(request.form.get("counted", ""), "counted"))
            flash(_("已轧账"), "info")
        except BillingError as error:
            flash(error_message(error), "error")
    with read_session(svc.engine) as db:
        takings = counter.day_takings(db, g.staff.id, beijing_date(svc.clock()))
    return render_template("staff/close.html", takings=takings, closed=closed)
