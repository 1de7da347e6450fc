"""The caller's 户号 and their bills.  Scoping lives in ``mine``: a 户号 the caller has not bound
is ``NotFound`` (404) whether it exists or not, and so is a bill of another 户号."""

from __future__ import annotations

from flask import jsonify
from sqlmodel import Session, select

from billing import bill_explained
from billing.accounts import Account
from billing.bill_status import bill_statuses
from billing.clock import beijing_date
from billing.db import read_session
from billing.errors import NotFound
from billing.residents import Binding, bound_accounts
from billing.review_queue import MAX_ID
from portal.api import blueprint, shapes
from portal.api.calls import resident_id
from portal.api.paging import page
from portal.bill_view import explained_document
from portal.wiring import services


def today():
    return beijing_date(services().clock())


def labels(db: Session, resident: int) -> dict[int, str]:
    rows = db.exec(select(Binding.account_id, Binding.label).where(Binding.resident_id == resident))
    return dict(rows.all())


def mine(db: Session, account_no: str) -> Account:
    """The caller's bound 户号 ``account_no``; anything else is a 404 that says nothing more."""
    found = next((a for a in bound_accounts(db, resident_id()) if a.account_no == account_no), None)
    if found is None:
        raise NotFound("no such 户号 among yours", field="account_no")
    return found


def _account(db: Session, account: Account, label: str) -> dict:
    return shapes.account(account, label, bill_explained.standing(db, account.id, on=today()))


@blueprint.get("/accounts")
def list_accounts():
    with read_session(services().engine) as db:
        named = labels(db, resident_id())
        found = bound_accounts(db, resident_id())
        return jsonify(page(found, lambda a: a.id, lambda a: _account(db, a, named.get(a.id, ""))))


@blueprint.get("/accounts/<account_no>")
def get_account(account_no: str):
    with read_session(services().engine) as db:
        account = mine(db, account_no)
        return jsonify(_account(db, account, labels(db, resident_id()).get(account.id, "")))


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
