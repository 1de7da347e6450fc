"""The resident's home: one card per bound 户号 with its label, the balance in words, the due date,
where the tier year stands, this month's forecast, the last payment and, for a prepaid 户号, the days
the balance lasts.  A resident with nothing bound is shown how to bind their first 户号."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, session

from billing.account_summary import AccountSummary, summaries
from billing.bill_explained import Standing
from billing.bindings import BindingNotFound, BoundAccount, bound_account
from billing.clock import beijing_date
from billing.db import read_session
from billing.managers import managers_of
from billing.residents import Resident
from portal.auth import current_resident_id
from portal.pages.bills import standing_words
from portal.wiring import services

blueprint = Blueprint("pages", __name__)


def today():
    return beijing_date(services().clock())


def own_account(db, account_no: str) -> BoundAccount:
    """One of the logged-in resident's 户号; anyone else's (or none) is a 404, never a hint."""
    try:
        return bound_account(db, current_resident_id(), account_no)
    except BindingNotFound:
        abort(404)


def summary_words(summary: AccountSummary) -> tuple[str, dict[str, object]]:
    return standing_words(Standing(summary.balance_fen, summary.overdue_days, summary.due_date))


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
        found = summaries(db, resident_id, on=today(), kept=services().summaries)
        manages = bool(managers_of(db, resident_id))
    return render_template("pages/home.html", resident=resident, summaries=found, manages=manages,
                           words={s.account.account_id: summary_words(s) for s in found},
                           max_bindings=services().settings.MAX_BINDINGS)
