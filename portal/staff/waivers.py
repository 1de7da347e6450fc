"""违约金减免 at the back office: the waivers waiting for a decision (approve or refuse, never one's
own), the latest decided ones, and the form that asks for a waiver on a bill found by its id or
number, showing the late fee standing on it (``billing.waivers``)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import flash, g, redirect, render_template, request, url_for
from sqlalchemy import case, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from billing import late_fee_posting, waivers
from billing.accounts import Account
from billing.bill_records import Bill
from billing.db import read_session, unit_of_work
from billing.errors import BillingError, InvalidInput, NotFound
from billing.money import parse_yuan
from billing.review_queue import MAX_ID
from billing.staff import StaffUser
from billing.waivers import Waiver
from portal.bill_document import BILL_NUMBER
from portal.i18n import error_message, gettext as _
from portal.staff.access import blueprint, staff_required
from portal.staff.roles import DECIDE_WAIVER, REQUEST_WAIVER
from portal.wiring import services

SHOWN = 100
DECISIONS = {"approve": True, "refuse": False}


@dataclass(frozen=True)
class WaiverRow:
    waiver: Waiver
    number: str
    account_no: str
    requested_by: str
    decided_by: str | None


@dataclass(frozen=True)
class BillFee:
    """A bill found on the form, and the late fee standing on it."""

    bill: Bill
    account_no: str
    fee_bills: list[Bill]

    @property
    def standing_fen(self) -> int:
        return sum(fee.total_fen for fee in self.fee_bills)


def waiver_rows(session: Session) -> list[WaiverRow]:
    """Pending waivers first (oldest first), then the latest decided ones."""
    asker, decider = aliased(StaffUser), aliased(StaffUser)
    rows = session.execute(
        select(Waiver, Bill.number, Account.account_no, asker.name, decider.name)
        .join(Bill, Bill.id == Waiver.bill_id).join(Account, Account.id == Waiver.account_id)
        .join(asker, asker.id == Waiver.requested_by).outerjoin(decider, decider.id == Waiver.decided_by)
        .order_by(case((Waiver.state == waivers.PENDING, 0), else_=1), Waiver.id)
        .limit(SHOWN))
    return [WaiverRow(*row) for row in rows]


def find_bill(session: Session, text: str) -> BillFee:
    """The bill named by its id (``123``) or its number (``2026-000123``), with its fee bills; a fee
    bill stands for the bill it was posted for."""
    text = text.strip()
    if BILL_NUMBER.fullmatch(text):
        bill = session.execute(select(Bill).where(Bill.number == text)).scalar()
    elif text.isascii() and text.isdigit() and 0 < int(text) <= MAX_ID:
        bill = session.get(Bill, int(text))
    else:
        raise InvalidInput("bill_id", "a bill id (123) or a bill number (2026-000123)")
    if bill is None:
        raise NotFound(f"no bill {text[:40]}", field="bill_id")
    overdue_id = late_fee_posting.overdue_bill_id(session, bill.id)
    bill = session.get(Bill, overdue_id) if overdue_id else bill
    return BillFee(bill, session.get(Account, bill.account_id).account_no,
                   late_fee_posting.fee_bills(session, bill.id))


@blueprint.get("/waivers")
@staff_required(REQUEST_WAIVER)
def waiver_list():
    with read_session(services().engine) as db:
        rows = waiver_rows(db)
    return render_template("staff/waivers.html", rows=rows)


@blueprint.get("/waivers/new")
@staff_required(REQUEST_WAIVER)
def waiver_form():
    text, found, problem = request.args.get("bill_id", "")[:40], None, None
    if text.strip():
        try:
            with read_session(services().engine) as db:
                found = find_bill(db, text)
        except BillingError as error:
            problem = error_message(error)
    return render_template("staff/waiver_new.html", bill_text=text, found=found, problem=problem)


@blueprint.post("/waivers")
@staff_required(REQUEST_WAIVER)
def request_waiver():
    svc, found = services(), {}
    try:
        with unit_of_work(svc.engine) as db:
            bill = find_bill(db, request.form.get("bill_id", "")[:40]).bill
            found = {"bill_id": bill.id}
            waiver = waivers.request(db, bill_id=bill.id, amount_fen=parse_yuan(request.form.get("amount", ""),
                                                                                 "waiver_amount"),
                                     reason=request.form.get("reason", ""), staff_id=g.staff.id, now=svc.clock())
            number, waiver_id = bill.number, waiver.id
        flash(_("账单 {number} 的违约金减免申请已提交，等待另一位工作人员审批", number=number), "info")
        return redirect(url_for("staff.waiver_list", _anchor=f"waiver-{waiver_id}"))
    except BillingError as error:
        flash(error_message(error), "error")  # back to the bill found, by its id: no input goes into a URL
        return redirect(url_for("staff.waiver_form", **found))


@blueprint.post("/waivers/<int:waiver_id>/<decision>")
@staff_required(DECIDE_WAIVER)
def decide_waiver(waiver_id: int, decision: str):
    svc = services()
    try:
        if decision not in DECISIONS:
            raise NotFound("no such decision", field="decision")
        with unit_of_work(svc.engine) as db:
            waiver = waivers.decide(db, waiver_id, staff_id=g.staff.id, approve=DECISIONS[decision], now=svc.clock())
        flash(_("已批准减免，违约金已冲减") if waiver.state == waivers.APPROVED else _("已驳回减免申请"), "info")
    except BillingError as error:
        flash(error_message(error), "error")
    return redirect(url_for("staff.waiver_list"))
