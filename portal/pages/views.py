"""The resident's home: one card per bound 户号 with its label, the balance in words, the due date,
where the tier year stands, this month's forecast, the last payment and, for a prepaid 户号, the days
the balance lasts.  A resident with nothing bound is shown how to bind their first 户号.

Every visit reads what the page is made of in one query (``billing.resident_home``) and the page
rendered from those facts is kept per process: it is rendered again only when a figure, a label,
the day or the language changes."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, session

from billing.account_summary import AccountSummary, summaries_of
from billing.bill_explained import Standing
from billing.bindings import BindingNotFound, BoundAccount, bound_account
from billing.clock import beijing_date
from billing.db import session_on
from billing.resident_home import home_facts
from portal.auth import current_resident_id
from portal.i18n import current_language
from portal.pages.bills import standing_words
from portal.wiring import reading_connection, services

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
    svc, on, connection = services(), today(), reading_connection()
    facts = home_facts(connection, resident_id)
    if facts is None:  # the database was reset under a live session
        session.clear()
        return render_template("pages/login.html", phone="")

    def render() -> str:
        with session_on(connection) as db:
            found = summaries_of(db, facts.accounts, on=on, kept=svc.summaries)
        return render_template("pages/home.html", phone=facts.phone, summaries=found, manages=facts.manages,
                               words={s.account.account_id: summary_words(s) for s in found},
                               max_bindings=svc.settings.MAX_BINDINGS)

    form_token = session.get(current_app.config["WTF_CSRF_FIELD_NAME"])  # the raw one, signed on the page
    if form_token is None or "_flashes" in session:  # a first page, or a message shown once: not kept
        return render()
    # kept while what it shows is unchanged (billing.resident_home); its form tokens never expire
    return svc.pages.get((resident_id, facts, on, current_language(), form_token), render)
