"""The caller's 户号 and their bills.  Scoping is ``billing.bindings.bound_account``: a 户号 the
caller has not bound is ``binding_not_found`` (404) whether it exists or not, and a bill of another
户号 is ``not_found``."""

from __future__ import annotations

from flask import jsonify
from sqlmodel import Session

from billing import bill_explained
from billing.accounts import Account
from billing.bill_status import bill_statuses
from billing.clock import beijing_date
from billing.db import read_session
from billing.errors import NotFound
from billing.bindings import BoundAccount, bindings, bound_account
from billing.review_queue import MAX_ID
from portal.api import blueprint, shapes
from portal.api.calls import resident_id
from portal.api.paging import page
from portal.bill_view import explained_document
from portal.wiring import services


def today():
    return beijing_date(services().clock())


def mine(db: Session, account_no: str) -> Account:
    """The caller's bound 户号 ``account_no``; anything else is a 404 that says nothing more."""
    return db.get(Account, bound_account(db, resident_id(), account_no).account_id)


def _account(db: Session, bound: BoundAccount) -> dict:
    return shapes.account(bound, bill_explained.standing(db, bound.account_id, on=today()))


@blueprint.get("/accounts")
def list_accounts():
    with read_session(services().engine) as db:
        return jsonify(page(bindings(db, resident_id()), lambda a: a.binding_id, lambda a: _account(db, a)))


@blueprint.get("/accounts/<account_no>")
def get_account(account_no: str):
    with read_session(services().engine) as db:
        return jsonify(_account(db, bound_account(db, resident_id(), account_no)))


@blueprint.get("/accounts/<account_no>/bills")
def list_bills(account_no: str):
    with read_session(services().engine) as db:
        found = bill_explained.account_bills(db, mine(db, account_no).id, on=today())
    return jsonify(page(found, lambda b: b.bill.id, shapes.bill))


@blueprint.get("/accounts/<account_no>/bills/<int:bill_id>")
def get_bill(account_no: str, bill_id: int):
    day = today()
    with read_session(services().engine) as db:
        account = mine(db, account_no)
        bill = bill_explained.account_bill(db, account.id, bill_id) if 0 < bill_id <= MAX_ID else None
        if bill is None:
            raise NotFound("no such bill on this 户号", field="bill_id")
        status = bill_statuses(db, on=day, bill_ids=[bill.id])[bill.id]
        document = explained_document(db, bill, day)
    return jsonify(shapes.bill_detail(bill_explained.AccountBill(bill, status), document))
