"""对账 exceptions queue at the back office: the open differences by day, channel and class (oldest
first), one difference with its evidence and the actions on it (query and heal, refund, write off,
note), and the write-offs waiting for a second person (``payments.differences``,
``payments.write_offs``).  Every action is audited; a refused one says why and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from flask import abort, flash, g, redirect, render_template, request, url_for
from sqlmodel import Session
from werkzeug.datastructures import MultiDict

from billing import four_eyes
from billing.db import read_session, unit_of_work
from billing.errors import BillingError, InvalidInput, NotFound
from billing.money import parse_yuan
from payments import differences, write_offs
from payments.daily_report import CHANNELS
from payments.differences import Filter
from payments.reconciliation_days import channel_days
from payments.reconciliation_records import CLASSES, STATUSES
from portal.i18n import error_message, gettext as _
from portal.staff.access import blueprint, staff_required
from portal.staff.difference_evidence import action_detail, read as read_evidence
from portal.staff.roles import RECONCILE
from portal.wiring import services

DECISIONS = {"approve": True, "reject": False}


def queue_filter(args: MultiDict) -> Filter:
    """The filter the queue's form asks for; an unknown value is refused naming its field."""
    text = args.get("day", "").strip()[:10]
    try:
        day = date.fromisoformat(text) if text else None
    except ValueError:
        raise InvalidInput("day", "YYYY-MM-DD") from None
    channel = args.get("channel", "")[:10] or None
    if channel is not None and channel not in CHANNELS:
        raise InvalidInput("filter_channel", f"one of {', '.join(CHANNELS)}")
    status = args.get("status", "open")[:12]
    return Filter(day=day, channel=channel, kind=args.get("kind", "")[:20] or None,
                  status=None if status == "all" else status)


@blueprint.get("/reconciliation")
@staff_required(RECONCILE)
def reconciliation_queue():
    problem, wanted = None, Filter()
    try:
        wanted = queue_filter(request.args)
    except BillingError as error:
        problem = error_message(error)
    with read_session(services().engine) as db:
        rows, groups = differences.queue(db, wanted), differences.groups(db, wanted)
        days = channel_days(db, wanted.day, CHANNELS) if wanted.day else []
        waiting = len(write_offs.waiting(db))
    return render_template("staff/reconciliation.html", rows=rows, groups=groups, days=days, wanted=wanted,
                           problem=problem, waiting=waiting, channels=CHANNELS, kinds=CLASSES, statuses=STATUSES)


@blueprint.get("/reconciliation/<int:difference_id>")
@staff_required(RECONCILE)
def difference_page(difference_id: int):
    with read_session(services().engine) as db:
        try:
            difference = differences.get(db, difference_id)
        except NotFound:
            abort(404)
        trail = [(entry, name, action_detail(entry.after)) for entry, name in differences.trail(db, difference.id)]
        write_off = write_offs.of_difference(db, difference.id)
    return render_template("staff/difference.html", difference=difference, evidence=read_evidence(difference.evidence),
                           trail=trail, write_off=write_off, gateways=services().gateways)


def _done(difference_id: int, message: str):
    flash(message, "info")
    return redirect(url_for("staff.difference_page", difference_id=difference_id))


def _refused(error: BillingError, difference_id: int):
    """Back to the difference (to the queue if it does not exist), the reason on top."""
    flash(error_message(error), "error")
    if isinstance(error, NotFound) and error.field == "difference_id":
        return redirect(url_for("staff.reconciliation_queue"))
    return redirect(url_for("staff.difference_page", difference_id=difference_id))


@blueprint.post("/reconciliation/<int:difference_id>/heal")
@staff_required(RECONCILE)
def heal_difference(difference_id: int):
    svc = services()
    try:
        differences.heal(svc.engine, svc.gateways, difference_id, staff_id=g.staff.id, now=svc.clock())
    except BillingError as error:
        return _refused(error, difference_id)
    return _done(difference_id, _("已向渠道查询并入账，差异已平账"))


def _in_one_transaction(difference_id: int, act: Callable[[Session, datetime], str]):
    """Do ``act`` (it answers the message to show) and go back to the difference's page."""
    svc = services()
    try:
        with unit_of_work(svc.engine) as db:
            message = act(db, svc.clock())
    except BillingError as error:
        return _refused(error, difference_id)
    return _done(difference_id, message)


@blueprint.post("/reconciliation/<int:difference_id>/refund")
@staff_required(RECONCILE)
def refund_difference(difference_id: int):
    def refund(db: Session, now: datetime) -> str:
        refund_no = differences.refund(db, difference_id, staff_id=g.staff.id, now=now).refund_no
        return _("退款 {refund_no} 已发起，等待另一位工作人员在“退款”中审批；渠道确认退款后差异即为已退款",
                 refund_no=refund_no)

    return _in_one_transaction(difference_id, refund)


@blueprint.post("/reconciliation/<int:difference_id>/note")
@staff_required(RECONCILE)
def note_difference(difference_id: int):
    def note(db: Session, now: datetime) -> str:
        differences.note(db, difference_id, text=request.form.get("note", "")[:1000], staff_id=g.staff.id, now=now)
        return _("备注已保存")

    return _in_one_transaction(difference_id, note)


@blueprint.post("/reconciliation/<int:difference_id>/write-off")
@staff_required(RECONCILE)
def request_write_off(difference_id: int):
    def ask(db: Session, now: datetime) -> str:
        amount_fen = parse_yuan(request.form.get("amount", "")[:40], "write_off_amount")
        write_offs.request(db, difference_id, amount_fen=amount_fen, reason=request.form.get("reason", "")[:1000],
                           staff_id=g.staff.id, now=now)
        return _("核销申请已提交，等待另一位工作人员审批")

    return _in_one_transaction(difference_id, ask)


@blueprint.get("/reconciliation/write-offs")
@staff_required(RECONCILE)
def write_off_list():
    with read_session(services().engine) as db:
        rows = [(write_off, db.get(differences.Difference, write_off.difference_id))
                for write_off in write_offs.waiting(db)]
    return render_template("staff/write_offs.html", rows=rows)


@blueprint.post("/reconciliation/write-offs/<int:write_off_id>/<decision>")
@staff_required(RECONCILE)
def decide_write_off(write_off_id: int, decision: str):
    svc = services()
    try:
        if decision not in DECISIONS:
            raise NotFound("no such decision", field="decision")
        with unit_of_work(svc.engine) as db:
            write_off = write_offs.decide(db, write_off_id, staff_id=g.staff.id, approve=DECISIONS[decision],
                                          now=svc.clock())
        flash(_("已批准核销，差异已核销") if write_off.status == four_eyes.APPROVED else _("已驳回核销申请"), "info")
    except BillingError as error:
        flash(error_message(error), "error")
    return redirect(url_for("staff.write_off_list"))
