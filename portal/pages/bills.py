"""A resident's bills: the list of a bound 户号's bills with their states, one bill explained (its
lines, reads, tier standing, forecast) and its PDF, and the account's standing in words for the home
page.  A resident reads the bills of the 户号 they bound and of those a property manager they act for
manages (its page links them); anyone else's 户号 or bill is a 404, as on the pay pages: nothing to probe."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template

from billing import bill_explained
from billing.accounts import Account
from billing.bill_explained import Standing
from billing.bill_status import bill_statuses
from billing.clock import beijing_date
from billing.db import read_session
from billing.managers import managers_of
from billing.money import format_yuan
from billing.residents import bound_accounts
from billing.review_queue import MAX_ID
from payments.bulk import managed_accounts
from portal.auth import current_resident_id, resident_required
from portal.bill_pdf import render_bill_pdf
from portal.bill_view import explained_document
from portal.i18n import current_language
from portal.wiring import services

blueprint = Blueprint("bills", __name__, url_prefix="/bills")


def _(text: str) -> str:
    """Marks a text for portal/translations/en.json; the template translates it."""
    return text


def standing_words(standing: Standing) -> tuple[str, dict[str, object]]:
    """The account in one phrase (untranslated, with its values): 余额, 欠费 overdue, or 本期应缴 by a date."""
    owed = {"owed": format_yuan(max(0, -standing.balance_fen))}
    if standing.balance_fen >= 0:
        return _("余额 {balance} 元"), {"balance": format_yuan(standing.balance_fen)}
    if standing.overdue_days:
        return _("欠费 {owed} 元（逾期 {days} 天）"), owed | {"days": standing.overdue_days}
    if standing.due_date is not None:
        return _("本期应缴 {owed} 元，截止 {due}"), owed | {"due": standing.due_date.isoformat()}
    return _("欠费 {owed} 元"), owed  # owed without a bill: an opening arrear


def _today():
    return beijing_date(services().clock())


def _bound(db, account_no: str) -> Account:
    resident_id = current_resident_id()
    account = next((a for a in bound_accounts(db, resident_id) if a.account_no == account_no), None)
    for manager in managers_of(db, resident_id) if account is None else ():
        account = account or managed_accounts(db, manager.id).get(account_no)
    if account is None:
        abort(404)
    return account


def _document(account_no: str, bill_id: int):
    with read_session(services().engine) as db:
        account = _bound(db, account_no)
        bill = bill_explained.account_bill(db, account.id, bill_id) if 0 < bill_id <= MAX_ID else None
        if bill is None:
            abort(404)
        return account, bill, explained_document(db, bill, _today())


@blueprint.get("/<account_no>")
@resident_required
def account_bills(account_no: str):
    today = _today()
    with read_session(services().engine) as db:
        account = _bound(db, account_no)
        found = bill_explained.account_bills(db, account.id, on=today)
        standing = bill_explained.standing(db, account.id, on=today)
    return render_template("pages/bills.html", account=account, bills=found, words=standing_words(standing),
                           balance=standing.balance_fen)


@blueprint.get("/<account_no>/<int:bill_id>")
@resident_required
def bill_page(account_no: str, bill_id: int):
    account, bill, document = _document(account_no, bill_id)
    with read_session(services().engine) as db:
        status = bill_statuses(db, on=_today(), bill_ids=[bill.id])[bill.id]
    return render_template("pages/bill.html", account=account, bill=bill, document=document, status=status)


@blueprint.get("/<account_no>/<int:bill_id>.pdf")
@resident_required
def bill_pdf(account_no: str, bill_id: int):
    _account, bill, document = _document(account_no, bill_id)
    return Response(render_bill_pdf(document, current_language()), mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{bill.number}.pdf"'})
