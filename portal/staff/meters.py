"""Meter changes at the desk (换表, 倍率变更): find the 户号, see its meter and history, record the
change with the old meter's final read and the new meter's initial read.  Role: reader (admin).

The forms post back to the account's page; a refusal re-renders it with the values as typed and a
sentence naming the field, and changes nothing.
"""

from __future__ import annotations

from datetime import date

from flask import flash, g, redirect, render_template, request, url_for
from sqlmodel import select

from billing.accounts import MANUAL, SMART, District, Meter, get_account
from billing.clock import beijing_date
from billing.db import read_session, unit_of_work
from billing.errors import BillingError, InvalidInput
from billing.kwh import parse_kwh
from billing.meter_changes import MAX_MULTIPLIER, Reading, change_meter, change_multiplier
from billing.meters import installations
from billing.reads import REGISTERS, VALID, Read
from portal.i18n import error_message, gettext as _
from portal.staff.access import blueprint, staff_required
from portal.staff.roles import CHANGE_METER
from portal.wiring import services

RECENT_READS = 5


@blueprint.get("/meters")
@staff_required(CHANGE_METER)
def find_meter():
    """Which 户号: then its meter page."""
    account_no = request.args.get("account_no", "").strip()
    if not account_no:
        return render_template("staff/meter_find.html", problem=None)
    try:
        with read_session(services().engine) as db:
            account = get_account(db, account_no)
    except BillingError as error:
        return render_template("staff/meter_find.html", problem=error_message(error)), 404
    return redirect(url_for("staff.account_meter", account_no=account.account_no))


@blueprint.get("/accounts/<account_no>/meter")
@staff_required(CHANGE_METER)
def account_meter(account_no: str):
    return _page(account_no)


@blueprint.post("/accounts/<account_no>/meter")
@staff_required(CHANGE_METER)
def record_meter_change(account_no: str):
    form, svc = request.form, services()
    try:
        with unit_of_work(svc.engine) as db:
            account = get_account(db, account_no)
            final = _reading(form, "old_final", optional=True)
            change_meter(db, account, on=_day(form), old_final=final, new_meter_no=form.get("new_meter_no", ""),
                         new_initial=_reading(form, "new_initial"), multiplier=_multiplier(form),
                         staff_id=g.staff.id, now=svc.clock(), reason=form.get("reason", "")[:200],
                         new_kind=form.get("new_kind") or None)
    except BillingError as error:
        return _page(account_no, problem=error_message(error), failed="meter", status=400)
    flash(_("已换表：新表 {meter_no} 自 {day} 起计量", meter_no=form.get("new_meter_no", "").strip(),
            day=form.get("on", "")) + ("" if final else _("。拆表示数未填写，已转复核估算")), "info")
    return redirect(url_for("staff.account_meter", account_no=account_no))


@blueprint.post("/accounts/<account_no>/multiplier")
@staff_required(CHANGE_METER)
def record_multiplier_change(account_no: str):
    form, svc = request.form, services()
    try:
        with unit_of_work(svc.engine) as db:
            account = get_account(db, account_no)
            change_multiplier(db, account, on=_day(form), reading=_reading(form, "reading", optional=True),
                              multiplier=_multiplier(form), staff_id=g.staff.id, now=svc.clock(),
                              reason=form.get("reason", "")[:200])
    except BillingError as error:
        return _page(account_no, problem=error_message(error), failed="multiplier", status=400)
    flash(_("已变更倍率：自 {day} 起为 {multiplier}", day=form.get("on", ""), multiplier=form.get("multiplier", "")),
          "info")
    return redirect(url_for("staff.account_meter", account_no=account_no))


def _page(account_no: str, *, problem: str | None = None, failed: str | None = None, status: int = 200):
    svc = services()
    with read_session(svc.engine) as db:
        try:
            account = get_account(db, account_no)
        except BillingError as error:
            return render_template("staff/meter_find.html", problem=error_message(error)), 404
        history = installations(db, account.id)
        meters = {m.id: m for m in db.exec(select(Meter).where(Meter.id.in_(
            [account.meter_id, *(i.meter_id for i in history)])))}
        meter = meters[account.meter_id]
        recent = db.exec(select(Read).where(Read.meter_id == meter.id, Read.status == VALID)
                         .order_by(Read.read_on.desc()).limit(RECENT_READS)).all()
        district = db.get(District, account.district_id)
    registers = [n for n in REGISTERS if recent and getattr(recent[0], f"{n}_wh") is not None]
    current = history[-1] if history else None
    return render_template("staff/meter.html", account=account, meter=meter, meters=meters, history=history,
                           current=current, recent=recent, district=district, registers=registers, kinds=(SMART, MANUAL),
                           today=beijing_date(svc.clock()), problem=problem, failed=failed,
                           values=request.form if failed else {}), status


def _day(form) -> date:
    try:
        return date.fromisoformat(form.get("on", "").strip())
    except ValueError:
        raise InvalidInput("on", "a day, YYYY-MM-DD") from None


def _multiplier(form) -> int:
    text = form.get("multiplier", "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 7:
        raise InvalidInput("multiplier", f"a whole number from 1 to {MAX_MULTIPLIER}", maximum=MAX_MULTIPLIER)
    return int(text)


def _reading(form, prefix: str, *, optional: bool = False) -> Reading | None:
    """A total and the 尖峰平谷 registers typed beside it (``<prefix>_<register>``), in kWh."""
    total = form.get(prefix, "").strip()
    if optional and not total:
        return None
    registers = {}
    for name in REGISTERS:
        value = form.get(f"{prefix}_{name}", "").strip()
        if value:
            registers[name] = parse_kwh(value, f"{prefix}_registers")
    return Reading(parse_kwh(total, prefix), registers)
