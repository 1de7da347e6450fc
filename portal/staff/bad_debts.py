"""坏账 at the collections desk (``billing.bad_debt``): the accounts whose dunning ladder is exhausted,
marking one bad with a reason, asking for its write-off, and a second person's approval or
rejection; written-off debts show what came back since (``billing.bad_debt_recovery``)."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from billing import bad_debt
from billing.clock import beijing_date
from billing.db import read_session, unit_of_work
from billing.errors import BillingError, NotFound, PermissionDenied
from portal.i18n import error_message, gettext as _
from portal.staff.access import blueprint, staff_required
from portal.staff.collections import account_by_number
from portal.staff.roles import COLLECTIONS, DECIDE_BAD_DEBT
from portal.wiring import services

DECISIONS = {"approve": True, "reject": False}
MAX_FORM_REASON = 1000  # longer is refused by the service, naming the field


def state_names() -> dict[str, str]:
    return {"marked": _("已标记坏账"), "written_off": _("已核销"), "recovered": _("已全部收回"), "paid": _("已缴清")}


def why_names() -> dict[str, str]:
    return {bad_debt.DISCONNECTED_LONG: _("停电后长期欠费"), bad_debt.MOVED_OUT: _("已销户，最终账单未缴")}


@blueprint.get("/collections/bad-debt")
@staff_required(COLLECTIONS)
def bad_debt_page():
    return _page()


def _page(status: int = 200):
    svc = services()
    after_days = svc.settings.BAD_DEBT_AFTER_DAYS
    today = beijing_date(svc.clock())
    with read_session(svc.engine) as db:
        found = bad_debt.candidates(db, on=today, after_days=after_days)
        debts = bad_debt.marked(db, on=today)
    return render_template("staff/bad_debt.html", candidates=found, debts=debts, after_days=after_days,
                           states=state_names(), whys=why_names()), status


def _acted(act, done: str):
    """Run ``act(db, now)`` in one transaction; the page again with the outcome, or the refusal naming the field."""
    svc = services()
    try:
        with unit_of_work(svc.engine) as db:
            act(db, svc.clock())
    except BillingError as error:
        flash(error_message(error), "error")
        return _page(403 if isinstance(error, PermissionDenied) else 404 if isinstance(error, NotFound) else 400)
    flash(done, "info")
    return redirect(url_for("staff.bad_debt_page"))


@blueprint.post("/collections/<account_no>/bad-debt")
@staff_required(COLLECTIONS)
def mark_bad_debt(account_no: str):
    def mark(db, now):
        bad_debt.mark(db, account_by_number(db, account_no).id, reason=request.form.get("reason", "")[:MAX_FORM_REASON],
                      staff_id=g.staff.id, now=now, after_days=services().settings.BAD_DEBT_AFTER_DAYS)

    return _acted(mark, _("户号 {account_no} 已标记为坏账，停止催费", account_no=account_no[:10]))


@blueprint.post("/collections/bad-debt/<int:bad_debt_id>/write-off")
@staff_required(COLLECTIONS)
def request_bad_debt_write_off(bad_debt_id: int):
    def ask(db, now):
        bad_debt.request_write_off(db, bad_debt_id, reason=request.form.get("reason", "")[:MAX_FORM_REASON],
                                   staff_id=g.staff.id, now=now)

    return _acted(ask, _("核销申请已提交，等待另一位工作人员审批"))


@blueprint.post("/collections/bad-debt/write-offs/<int:write_off_id>/<decision>")
@staff_required(DECIDE_BAD_DEBT)
def decide_bad_debt_write_off(write_off_id: int, decision: str):
    def decide(db, now):
        if decision not in DECISIONS:
            raise NotFound("no such decision", field="bad_debt_decision")
        bad_debt.decide(db, write_off_id, staff_id=g.staff.id, approve=DECISIONS[decision], now=now)

    return _acted(decide, _("已批准核销，欠费已转入坏账损失") if decision == "approve" else _("已驳回核销申请"))
