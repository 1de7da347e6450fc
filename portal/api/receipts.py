"""A 户号's payments and refunds from the ledger (``billing.payment_history``, as the web's history
shows them), each entry a receipt with the balance right after it, to anyone bound to the 户号."""

from __future__ import annotations

from flask import jsonify

from billing import payment_history
from billing.db import read_session
from billing.errors import NotFound
from billing.review_queue import MAX_ID
from portal.api import blueprint, shapes
from portal.api.accounts import mine
from portal.api.paging import page
from portal.wiring import services

WHOLE_HISTORY = 100_000  # entries read for paging: decades of monthly payments


@blueprint.get("/accounts/<account_no>/payments")
def list_payments(account_no: str):
    with read_session(services().engine) as db:
        found = payment_history.payment_history(db, mine(db, account_no).id, per_page=WHOLE_HISTORY)
    return jsonify(page(found, lambda entry: entry.transfer_id, shapes.payment))


@blueprint.get("/accounts/<account_no>/payments/<int:receipt_id>")
def get_receipt(account_no: str, receipt_id: int):
    with read_session(services().engine) as db:
        account = mine(db, account_no)
        entry = payment_history.payment_entry(db, account.id, receipt_id) if 0 < receipt_id <= MAX_ID else None
    if entry is None:
        raise NotFound("no such receipt on this 户号", field="receipt_id")
    return jsonify(shapes.payment(entry))
