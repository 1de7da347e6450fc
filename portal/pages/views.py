"""The resident's home: their bound 户号 with balances, each said in words (余额, 欠费 overdue, 本期应缴 by a date)."""

from __future__ import annotations

from flask import Blueprint, render_template, session

from billing import bill_explained, ledger
from billing.clock import beijing_date
from billing.managers import managers_of
from billing.residents import Resident, bound_accounts
from billing.db import read_session
from portal.auth import current_resident_id
from portal.pages.bills import standing_words
from portal.wiring import services

blueprint = Blueprint("pages", __name__)


@blueprint.get("/")
def home():
    resident_id = current_resident_id()
    if resident_id is None:
        return render_template("pages/login.html", phone="")
    with read_session(services().engine) as db:
        resident = db.get(Resident, resident_id)
        if resident is None:  # the database was reset under a live session
            session.clear()
            return render_template("pages/login.html", phone="")
        accounts = bound_accounts(db, resident_id)
        balances = ledger.customer_balances(db, [account.id for account in accounts])
        today = beijing_date(services().clock())
        words = {account.id: standing_words(bill_explained.standing(db, account.id, on=today)) for account in accounts}
        manages = bool(managers_of(db, resident_id))
    return render_template("pages/home.html", resident=resident, accounts=accounts, balances=balances, words=words,
                           manages=manages)
