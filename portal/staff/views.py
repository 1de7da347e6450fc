"""Staff login, the dashboard, incidents (finance decides) and refunds (request, approve)."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from sqlmodel import select

from billing.db import read_session, unit_of_work
from billing.errors import BillingError, NotFound, RateLimited
from billing.incidents import open_incidents
from billing.logins import STAFF
from billing.money import format_yuan, parse_yuan
from billing.staff import authenticate_staff
from payments import decisions, refund_approval, refunds
from payments.orders import ChannelPayment
from payments.refunds import Refund
from portal.auth import log_in, log_out
from portal.i18n import error_message, gettext as _
from portal.security import client_address, local_path
from portal.staff.access import blueprint, staff_required
from portal.staff.dashboard import work_for
from portal.staff.incident_text import describe_all
from portal.staff.roles import DECIDE_REFUND, INCIDENTS, REQUEST_REFUND
from portal.wiring import services


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    target = local_path(request.values.get("next"))
    if request.method == "POST":
        svc = services()
        try:
            with unit_of_work(svc.engine) as db:
                staff = authenticate_staff(db, request.form.get("username", ""), request.form.get("password", ""),
                                           client=client_address(), now=svc.clock())
        except BillingError as error:
            flash(error_message(error), "error")
            return render_template("staff/login.html", next=target), 429 if isinstance(error, RateLimited) else 401
        log_in(STAFF, staff.id)
        return redirect(target or url_for("staff.dashboard"))
    return render_template("staff/login.html", next=target)


@blueprint.post("/logout")
def logout():
    log_out()
    return redirect(url_for("staff.login"))


@blueprint.get("/")
@staff_required()
def dashboard():
    svc = services()
    with read_session(svc.engine) as db:
        work = work_for(db, g.staff.id, g.roles, now=svc.clock())
    return render_template("staff/dashboard.html", work=work)


@blueprint.get("/incidents")
@staff_required(INCIDENTS)
def incidents():
    with read_session(services().engine) as db:
        rows = open_incidents(db)
        sentences = describe_all(db, rows)
    return render_template("staff/incidents.html", incidents=rows, sentences=sentences, choices=decisions.choices)


@blueprint.post("/incidents/<int:incident_id>")
@staff_required(INCIDENTS)
def decide_incident(incident_id: int):
    svc = services()
    try:
        with unit_of_work(svc.engine) as db:
            decisions.decide(db, incident_id, decision=request.form.get("decision", ""), staff_id=g.staff.id,
                             now=svc.clock(), account_no=request.form.get("account_no", "").strip(),
                             note=request.form.get("note", ""))
        flash(_("已处理"), "info")
    except BillingError as error:
        flash(error_message(error), "error")
    return redirect(url_for("staff.incidents"))


@blueprint.get("/refunds")
@staff_required(REQUEST_REFUND)
def refund_list():
    with read_session(services().engine) as db:
        rows = db.exec(select(Refund).order_by(Refund.id.desc()).limit(200)).all()
    return render_template("staff/refunds.html", refunds=rows, reasons=refunds.REASONS)


@blueprint.post("/refunds")
@staff_required(REQUEST_REFUND)
def request_refund():
    svc = services()
    try:
        with unit_of_work(svc.engine) as db:
            payment = db.exec(select(ChannelPayment).where(
                ChannelPayment.channel_txn_id == request.form.get("channel_txn_id", "").strip())).first()
            if payment is None:
                raise NotFound("no such payment", field="channel_txn_id")
            refund = refunds.request(db, staff_id=g.staff.id, payment=payment, now=svc.clock(),
                                     amount_fen=parse_yuan(request.form.get("amount", ""), "amount"),
                                     reason=request.form.get("reason", ""), note=request.form.get("note", ""))
        flash(_("退款申请 {refund_no} 已提交，等待财务审批", refund_no=refund.refund_no), "info")
    except BillingError as error:
        flash(error_message(error), "error")
    return redirect(url_for("staff.refund_list"))


@blueprint.post("/refunds/<refund_no>/<decision>")
@staff_required(DECIDE_REFUND)
def decide_refund(refund_no: str, decision: str):
    """Approve (and send to the channel at once) or reject; say what the channel answered."""
    svc = services()
    try:
        if decision not in ("approve", "reject"):
            raise NotFound("no such decision", field="decision")
        refund = refund_approval.decide_refund(svc.engine, svc.gateways, refund_no, staff_id=g.staff.id,
                                               approve=decision == "approve", now=svc.clock())
        flash(*_refund_outcome(refund))
    except BillingError as error:
        flash(error_message(error), "error")
    return redirect(url_for("staff.refund_list"))


def _refund_outcome(refund: Refund) -> tuple[str, str]:
    """The flash message and its category for a refund just decided."""
    values = {"refund_no": refund.refund_no, "amount": format_yuan(refund.amount_fen)}
    if refund.state == refunds.SUCCEEDED:
        return _("退款 {refund_no} 已成功，¥{amount} 已退回", **values), "info"
    if refund.state == refunds.SUBMITTED:
        return _("退款 {refund_no} 已提交渠道，处理中，结果待渠道确认", **values), "info"
    if refund.state == refunds.FAILED:
        return _("渠道拒绝了退款 {refund_no}：{failure}", failure=refund.failure, **values), "error"
    return _("已驳回退款申请 {refund_no}", **values), "info"
