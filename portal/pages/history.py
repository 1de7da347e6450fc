"""A 户号's payment history, from the ledger: every payment (online, at the counter, by a property
manager) and refund with the balance right after it, and each one's receipt.  A receipt shows this
户号's line only, so a family member bound to the same 户号 may read it; anyone else gets a 404."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from billing import payment_history
from billing.db import read_session
from billing.review_queue import MAX_ID
from portal.auth import resident_required
from portal.pages.views import own_account
from portal.wiring import services

blueprint = Blueprint("history", __name__)
MAX_PAGE = 10_000


def _page_number() -> int:
    asked = request.args.get("page", "1")
    return int(asked) if asked.isdigit() and 0 < int(asked) <= MAX_PAGE else 1


@blueprint.get("/payments/<account_no>")
@resident_required
def page(account_no: str):
    number = _page_number()
    with read_session(services().engine) as db:
        account = own_account(db, account_no)
        entries = payment_history.payment_history(db, account.account_id, page=number,
                                                  per_page=payment_history.PAGE + 1)
    more = len(entries) > payment_history.PAGE
    return render_template("pages/history.html", account=account, entries=entries[:payment_history.PAGE],
                           page=number, more=more)


@blueprint.get("/payments/<account_no>/<int:transfer_id>")
@resident_required
def receipt(account_no: str, transfer_id: int):
    with read_session(services().engine) as db:
        account = own_account(db, account_no)
        entry = payment_history.payment_entry(db, account.account_id, transfer_id) if transfer_id <= MAX_ID else None
    if entry is None:
        abort(404)
    return render_template("pages/receipt.html", account=account, entry=entry)
