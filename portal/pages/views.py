"""The resident's home: their bound 户号 with balances."""

from __future__ import annotations

from flask import Blueprint, render_template, session

from billing import ledger
from billing.managers import managers_of
from billing.residents import Resident, bound_accounts
from billing.db import read_session
from portal.auth import current_resident_id
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
        manages = bool(managers_of(db, resident_id))
    return render_template("pages/home.html", resident=resident, accounts=accounts, balances=balances, manages=manages)
