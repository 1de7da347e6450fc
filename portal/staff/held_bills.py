"""Held bills at the reviewer's desk: what the item page shows of the bill the run held (its lines,
the hold rules that fired), the two decisions (``billing.bill_review``), and any bill of any state
as its PDF for the staff who answer questions about it."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Response, abort
from sqlmodel import Session

from billing import bill_review
from billing.bill_records import Bill
from billing.bill_run import BILL_REVIEW
from billing.clock import beijing_date
from billing.db import read_session
from billing.errors import InvalidInput
from billing.review import OPEN, ReviewItem
from billing.review_queue import MAX_ID
from portal.bill_document import BillDocument
from portal.bill_pdf import render_bill_pdf
from portal.bill_view import explained_document
from portal.i18n import current_language
from portal.staff.access import blueprint, staff_required
from portal.staff.roles import BILL_PDF
from portal.wiring import services

BILL_ACTIONS = (bill_review.APPROVE, bill_review.CANCEL)
MAX_REASON = 400
SUMMARISED = ("bill_id", "rules", "total_fen", "energy_wh")  # details the bill's own summary already shows


@dataclass(frozen=True)
class HeldBill:
    bill: Bill
    document: BillDocument
    rules: tuple[str, ...]  # every hold rule that fired, in the order the run checks them
    evidence: dict  # the rest of the run's detail: the average it compared with, open findings ...


def held_bill(session: Session, item: ReviewItem) -> HeldBill | None:
    """The bill a ``bill`` item is about, or None for any other item."""
    bill_id = item.details.get("bill_id") if item.kind == BILL_REVIEW else None
    bill = session.get(Bill, bill_id) if isinstance(bill_id, int) else None
    if bill is None:
        return None
    today = beijing_date(services().clock())
    evidence = {key: value for key, value in item.details.items() if key not in SUMMARISED}
    return HeldBill(bill, explained_document(session, bill, today), tuple(item.details.get("rules") or (item.rule,)),
                    evidence)


def bill_actions(item: ReviewItem) -> tuple[str, ...]:
    return BILL_ACTIONS if item.kind == BILL_REVIEW and item.status == OPEN else ()


def approve(session: Session, item_id: int, form, **who) -> Bill:
    return bill_review.approve(session, item_id, note=form.get("note", ""), **who)


def cancel(session: Session, item_id: int, form, **who) -> Bill:
    # Named apart from a read correction's reason: the message says what this reason is for.
    reason = form.get("reason", "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise InvalidInput("cancel_reason", f"a cancellation needs a reason of 1 to {MAX_REASON} characters")
    return bill_review.cancel(session, item_id, reason=reason, **who)


@blueprint.get("/bills/<int:bill_id>.pdf")
@staff_required(BILL_PDF)
def bill_pdf(bill_id: int):
    svc = services()
    with read_session(svc.engine) as db:
        bill = db.get(Bill, bill_id) if 0 < bill_id <= MAX_ID else None
        if bill is None:
            abort(404)
        document = explained_document(db, bill, beijing_date(svc.clock()))  # what the resident gets
    filename = f"{document.number or f'bill-{bill_id}'}.pdf"
    return Response(render_bill_pdf(document, current_language()), mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{filename}"'})
