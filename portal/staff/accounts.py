"""Finding an account at the desk (by 户号, name, phone or meter number) and its whole story: its
meters, use charts, bills with their states, payments and refunds, the ledger with the running
balance, messages sent, dunning and supply orders, payment plans, every read, each change with who
and why, estimates and their carries, the review items and decisions, and the audit trail.

Staff who may correct bills (``CORRECT_BILL``) 作废 an issued bill with a reason (``bills.cancel``
reverses it on the ledger and re-allocates the account) and 重开 a cancelled one from the reads as
they stand after the correction (``billing.rebills``); both are audited there.  A refusal re-renders
the page with a sentence naming the field, and changes nothing.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from billing import account_search, audit_log, bills
from billing.account_history import history
from billing.accounts import get_account
from billing.bill_records import CANCELLED, ISSUED, Bill
from billing.clock import beijing_date
from billing.db import read_session, unit_of_work
from billing.errors import BillingError, InvalidInput, NotFound
from billing.reads import REGISTERS
from billing.rebills import rebill_from_reads
from billing.review_queue import MAX_ID
from portal.i18n import error_message, gettext as _
from portal.staff.access import blueprint, current_staff_id, staff_required
from portal.staff.collections import kind_names, status_names
from portal.staff.evidence import audit_rows
from portal.staff.review import whole_number
from portal.staff.roles import ACCOUNT_HISTORY, CORRECT_BILL
from portal.staff.story import story
from portal.wiring import services

MAX_REASON = 400
LEDGER_ROWS = 100  # the newest transfers shown; a prepaid account settles daily
DUNNING_ROWS = 30  # the newest ladder steps shown: a reminder per bill adds up


@blueprint.get("/accounts")
@staff_required(ACCOUNT_HISTORY)
def account_lookup():
    """Search by 户号, name, phone or meter number (a GET form); a whole 户号 goes to its page."""
    typed = request.args.get("q") or request.args.get("account_no", "")  # account_no: the old form's links
    if not typed.strip():
        return render_template("staff/account_lookup.html", q="", found=None)
    page = whole_number(request.args, "page") or 1
    try:
        text = account_search.clean(typed)
        with read_session(services().engine) as db:
            exact = account_search.exact_account(db, text)
            found = None if exact else account_search.search(db, text, page=page)
    except InvalidInput as error:
        return render_template("staff/account_lookup.html", q=typed[:account_search.MAX_TEXT], found=None,
                               problem=error_message(error)), 400
    if exact:
        return redirect(url_for("staff.account_history", account_no=exact))
    return render_template("staff/account_lookup.html", q=text, found=found)


@blueprint.get("/accounts/<account_no>")
@staff_required(ACCOUNT_HISTORY)
def account_history(account_no: str):
    return _page(account_no)


def _page(account_no: str, problem: str | None = None, status: int = 200):
    page = whole_number(request.args, "page") or 1
    svc = services()
    with read_session(svc.engine) as db:
        found = history(db, account_no, page=page)
        trails = {item_id: audit_rows(db, rows) for item_id, rows in found.trails.items()}
        told = story(db, found, beijing_date(svc.clock()))
    rebilled = {row.bill.replaces_bill_id for row in told.bills if row.bill.replaces_bill_id}
    return render_template("staff/account.html", found=found, trails=trails, registers=REGISTERS, story=told,
                           bills=told.bills, rebilled=rebilled, changes=audit_log.changes, ledger_rows=LEDGER_ROWS, dunning_rows=DUNNING_ROWS,
                           message_kinds=kind_names(), message_statuses=status_names(), problem=problem), status


@blueprint.post("/accounts/<account_no>/bills/<int:bill_id>/cancel")
@staff_required(CORRECT_BILL)
def cancel_bill(account_no: str, bill_id: int):
    def cancel(db, bill: Bill) -> Bill:
        reason = request.form.get("reason", "").strip()
        if not reason or len(reason) > MAX_REASON:
            raise InvalidInput("cancel_reason", f"a cancellation needs a reason of 1 to {MAX_REASON} characters")
        return bills.cancel(db, bill.id, reason=reason, staff_id=current_staff_id(), now=services().clock())

    return _correct(account_no, bill_id, ISSUED, cancel, _("账单 {number} 已作废，已冲回并重新分配缴费"))


@blueprint.post("/accounts/<account_no>/bills/<int:bill_id>/rebill")
@staff_required(CORRECT_BILL)
def rebill(account_no: str, bill_id: int):
    def again(db, bill: Bill) -> Bill:
        return rebill_from_reads(db, bill.id, staff_id=current_staff_id(), now=services().clock())

    return _correct(account_no, bill_id, CANCELLED, again, _("已按更正后的示数重开账单 {number}"))


def _correct(account_no: str, bill_id: int, state: str, action, done: str):
    """Run ``action`` on the account's bill in ``state`` in one transaction; the page again with
    what was done, or with why not."""
    try:
        with unit_of_work(services().engine) as db:
            account = get_account(db, account_no)
            bill = db.get(Bill, bill_id) if 0 < bill_id <= MAX_ID else None
            if bill is None or bill.account_id != account.id:
                raise NotFound(f"no bill {bill_id} on account {account_no}", field="bill_id")
            if bill.state != state:
                raise bills.BillNotAllowed(f"bill {bill.number or bill.id} is {bill.state}, not {state}",
                                           field="bill_state")
            number = action(db, bill).number or ""
    except NotFound:
        raise
    except BillingError as error:
        return _page(account_no, error_message(error), 400)
    flash(_(done, number=number), "info")
    return redirect(url_for("staff.account_history", account_no=account_no) + "#bills")
