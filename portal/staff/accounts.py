"""An account's whole story of reads at the desk (for staff who review or read): its meters, every
read, each change with who and why, estimates and their carries, the review items and decisions.
Bills and payments join it as sections when they exist."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from billing.account_history import history
from billing.accounts import validate_account_no
from billing.db import read_session
from billing.reads import REGISTERS
from portal.staff.access import blueprint, staff_required
from portal.staff.evidence import audit_rows
from portal.staff.review import whole_number
from portal.staff.roles import ACCOUNT_HISTORY
from portal.wiring import services


@blueprint.get("/accounts")
@staff_required(ACCOUNT_HISTORY)
def account_lookup():
    """Find a 户号 (a GET form): a valid number goes to its page."""
    typed = request.args.get("account_no", "").strip()
    if typed:
        return redirect(url_for("staff.account_history", account_no=validate_account_no(typed)))
    return render_template("staff/account_lookup.html")


@blueprint.get("/accounts/<account_no>")
@staff_required(ACCOUNT_HISTORY)
def account_history(account_no: str):
    page = whole_number(request.args, "page") or 1
    with read_session(services().engine) as db:
        found = history(db, account_no, page=page)
        trails = {item_id: audit_rows(db, rows) for item_id, rows in found.trails.items()}
    return render_template("staff/account.html", found=found, trails=trails, registers=REGISTERS)
