"""催费 at the desk: the collections worklist (``billing.collections``), the form that agrees a
promise to pay or an instalment plan (``billing.payment_plans``), which holds the dunning ladder, and
the SMS delivery log (the evidence the ladder cites)."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from billing import collections, payment_plans
from billing.accounts import Account
from billing.clock import beijing_date
from billing.db import read_session, unit_of_work
from billing.errors import BillingError, InvalidInput
from billing.money import parse_yuan
from notifications.delivery_log import delivery_log
from notifications.records import STATUSES
from portal.i18n import error_message, gettext as _
from portal.staff.access import blueprint, staff_required
from portal.staff.roles import COLLECTIONS
from portal.wiring import services

PLAN_LINES = 6  # instalment lines on the form


def stage_names() -> dict[str, str]:
    return {"bill_overdue": _("已逾期"), "disconnection_notice": _("已发停电通知"), "call_task": _("待电话告知"),
            "pre_cut_notice": _("已发停电前提醒"), "disconnection_ordered": _("已下停电指令"),
            "protected_hold": _("保护用户，待人工处理"), "notice_undelivered": _("通知未送达，待人工处理"),
            "on_plan": _("还款计划中"), "bad_debt": _("已标记坏账")}


def status_names() -> dict[str, str]:
    return {"queued": _("排队中"), "sending": _("发送中"), "sent": _("已发出"), "delivered": _("已送达"),
            "failed": _("失败")}


def kind_names() -> dict[str, str]:
    return {"bill_issued": _("账单通知"), "due_soon": _("到期提醒"), "overdue": _("逾期提醒"),
            "late_fee_started": _("违约金通知"), "balance_low": _("余额不足"), "balance_negative": _("欠费通知"),
            "disconnection_notice": _("停电通知"), "pre_cut_notice": _("停电前提醒"), "disconnected": _("已停电"),
            "reconnected": _("已复电"), "payment_received": _("缴费到账"), "refund_done": _("退款到账"),
            "bulk_receipt": _("代缴回单"), "login_code": _("登录验证码")}


def group_names() -> dict[str, str]:
    return {collections.LARGE_UNITS: _("大工业及非居民"), collections.MANAGED: _("物业代管"),
            collections.RESIDENTS: _("居民")}


@blueprint.get("/collections")
@staff_required(COLLECTIONS)
def collections_page():
    svc = services()
    with read_session(svc.engine) as db:
        rows = collections.worklist(db, on=beijing_date(svc.clock()))
    return render_template("staff/collections.html", rows=rows, attention=collections.needing_a_person(rows),
                           total_fen=sum(row.owed_fen for row in rows), stages=stage_names(), groups=group_names())


def account_by_number(db, account_no: str) -> Account:
    account = db.execute(select(Account).where(Account.account_no == account_no[:10])).scalar()
    if account is None:
        abort(404)
    return account


@blueprint.get("/collections/<account_no>/plan")
@staff_required(COLLECTIONS)
def plan_form(account_no: str):
    return _plan_page(account_no, {})


def _plan_page(account_no: str, form, status: int = 200):
    """The plan form for the 户号 (or the plan it already has), filled with ``form``."""
    with read_session(services().engine) as db:
        account = account_by_number(db, account_no)
        plan = payment_plans.active_plan(db, account.id)
    return render_template("staff/plan_new.html", account=account, plan=plan, lines=range(1, PLAN_LINES + 1),
                           form=form), status


@blueprint.post("/collections/<account_no>/plan")
@staff_required(COLLECTIONS)
def agree_plan(account_no: str):
    svc = services()
    try:
        promises = _promises(request.form)
        with unit_of_work(svc.engine) as db:
            account = account_by_number(db, account_no)
            payment_plans.agree(db, account.id, promises, staff_id=g.staff.id, note=request.form.get("note", "")[:200],
                                now=svc.clock())
        flash(_("户号 {account_no} 的还款计划已登记，计划内暂停催费", account_no=account.account_no), "info")
        return redirect(url_for("staff.collections_page"))
    except BillingError as error:
        flash(error_message(error), "error")
        return _plan_page(account_no, request.form, 400)


def _promises(form) -> list[payment_plans.Promise]:
    """The filled lines of the form, each a day and an amount; a half-filled line is an error naming it."""
    promises = []
    for line in range(1, PLAN_LINES + 1):
        day, amount = form.get(f"due_on-{line}", "").strip(), form.get(f"amount-{line}", "").strip()
        if not day and not amount:
            continue
        try:
            due_on = date.fromisoformat(day[:10])
        except ValueError:
            raise InvalidInput("due_on", f"line {line}: a date like 2027-01-15") from None
        promises.append(payment_plans.Promise(due_on, parse_yuan(amount, "amount")))
    return promises


@blueprint.get("/messages")
@staff_required(COLLECTIONS)
def message_log():
    """The delivery log: what reached whom, or why not (the evidence dunning cites), newest first."""
    status = request.args.get("status", "")
    status = status if status in STATUSES else ""
    account_no = request.args.get("account_no", "").strip()[:10]
    with read_session(services().engine) as db:
        rows = delivery_log(db, status=status or None, account_no=account_no or None)
    return render_template("staff/messages.html", rows=rows, status=status, account_no=account_no,
                           statuses=status_names(), kinds=kind_names())
