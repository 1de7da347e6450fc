"""The review queue (复核) at a reviewer's desk: every open item, oldest first, filtered by district,
rule, kind and age; an item with the rule that fired, its evidence, the meter's history as a chart
and the photo of the meter face; and the four decisions (``billing.review_actions``), or for a held
bill its lines and the two decisions of ``billing.bill_review`` (portal/staff/held_bills.py).

Each view reads the request, calls one service and renders; a refused decision shows the item
again with the reason and the values as typed.
"""

from __future__ import annotations

from pathlib import Path

from flask import abort, flash, g, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from billing import estimation, review_actions, review_queue
from billing.clock import beijing_date
from billing.db import read_session, unit_of_work
from billing.errors import BillingError, InvalidInput, NotFound
from billing.kwh import parse_kwh
from billing.read_photos import stored_photo
from billing.reads import REGISTERS
from billing.review_actions import ESTIMATE, REREAD, ItemNotOpen
from billing.review_queue import QueueFilter
from portal.i18n import error_message, gettext as _
from portal.staff.access import blueprint, staff_required
from portal.staff.evidence import audit_rows, detail_rows, loss_chart, use_chart
from portal.staff.held_bills import approve, bill_actions, cancel, held_bill
from portal.staff.roles import REVIEW
from portal.wiring import services

AGES = (1, 3, 7, 30)  # "waiting at least N days" choices


def whole_number(args, name: str, allowed=None) -> int | None:
    """A whole-number query or form field (a filter, a page, a choice), or None if left empty."""
    text = args.get(name, "").strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 9 or (allowed and int(text) not in allowed):
        raise InvalidInput(name, f"{name} must be one of the choices")
    return int(text)


def _filters(args) -> tuple[QueueFilter, int]:
    rule, kind = args.get("rule", "").strip(), args.get("kind", "").strip()
    if len(rule) > 40 or len(kind) > 20:
        raise InvalidInput("rule", "no such rule or kind")
    filters = QueueFilter(district_id=whole_number(args, "district"), rule=rule or None, kind=kind or None,
                          min_age_days=whole_number(args, "age", AGES))
    return filters, whole_number(args, "page") or 1


@blueprint.get("/review")
@staff_required(REVIEW)
def review_queue_page():
    svc = services()
    filters, page = _filters(request.args)
    with read_session(svc.engine) as db:
        found = review_queue.queue(db, filters, today=beijing_date(svc.clock()), page=page)
        options = review_queue.choices(db)
        names = review_queue.staff_names(db, [row.item.assigned_to for row in found.rows if row.item.assigned_to])
    shown = {key: value for key, value in (("district", filters.district_id), ("rule", filters.rule),
                                           ("kind", filters.kind), ("age", filters.min_age_days)) if value}
    return render_template("staff/review_queue.html", found=found, options=options, shown=shown, ages=AGES,
                           names=names)


@blueprint.get("/review/<int:item_id>")
@staff_required(REVIEW)
def review_item(item_id: int):
    return _item_page(item_id)


def _item_page(item_id: int, problem: str | None = None, form=None, status: int = 200):
    svc = services()
    with read_session(svc.engine) as db:
        item = review_queue.find_item(db, item_id)
        day = review_actions.subject_day(db, item)
        found = review_queue.evidence(db, item, day)
        actions = review_actions.actions_for(item) + bill_actions(item)
        bill = held_bill(db, item)
        readers = review_actions.readers(db) if REREAD in actions else []
        guess, guess_problem = _estimate_preview(db, item, day) if ESTIMATE in actions else (None, None)
        next_id = review_queue.next_open(db, item)
        trail = audit_rows(db, found.trail)
    return render_template(
        "staff/review_item.html", item=item, found=found, actions=actions, readers=readers, guess=guess,
        guess_problem=guess_problem, next_id=next_id, trail=trail, chart=use_chart(found), problem=problem,
        losses=loss_chart(found), bill=bill,
        details=detail_rows(bill.evidence if bill else item.details),
        form=form or MultiDict(),
        photos=[read for read in {read.id: read for read in (found.flagged, found.held) if read}.values()
                if stored_photo(Path(services().settings.INSTANCE_PATH), read)],
        registers=[name for name in REGISTERS if found.held and getattr(found.held, f"{name}_wh") is not None],
    ), status


def _estimate_preview(db, item, day):
    """The estimate the button would write, or why it cannot be made or would be refused."""
    try:
        guess = estimation.estimate(db, item.meter_id, day)
        review_actions.check_neighbours(db, item.meter_id, day, guess.total_wh, guess.registers_wh, field="estimate")
    except BillingError as error:
        return None, error_message(error)
    return guess, None


def _accept(db, item_id: int, form, **who):
    return review_actions.accept(db, item_id, note=form.get("note", ""), **who)


def _correct(db, item_id: int, form, **who):
    registers = {name: parse_kwh(form.get(f"register-{name}", ""), "register")
                 for name in REGISTERS if form.get(f"register-{name}", "").strip()}
    return review_actions.correct(db, item_id, total_wh=parse_kwh(form.get("value", ""), "value"),
                                  registers_wh=registers, reason=form.get("reason", ""), **who)


def _reread(db, item_id: int, form, **who):
    reader = whole_number(form, "reader")
    if reader is None:
        raise InvalidInput("reader", "choose a reader")
    return review_actions.order_reread(db, item_id, reader_id=reader, note=form.get("note", ""), **who)


def _estimate(db, item_id: int, form, **who):
    return review_actions.estimate(db, item_id, note=form.get("note", ""), **who)


DECIDE = {"accept": _accept, "correct": _correct, "reread": _reread, "estimate": _estimate, "approve": approve,
          "cancel": cancel}
DONE = {"accept": "已确认：示数无误", "correct": "已更正示数", "reread": "已派发复抄，复抄示数到达后自动结案",
        "estimate": "已按估抄替换示数", "approve": "已批准出账", "cancel": "账单已作废，下次出账时按当时的示数重新计算"}


@blueprint.post("/review/<int:item_id>/<action>")
@staff_required(REVIEW)
def review_decide(item_id: int, action: str):
    if action not in DECIDE:
        abort(404)
    svc = services()
    try:
        with unit_of_work(svc.engine) as db:
            DECIDE[action](db, item_id, request.form, staff_id=g.staff.id, now=svc.clock())
    except NotFound:
        raise
    except BillingError as error:
        # Another reviewer decided first: their decision stands, shown with ours refused.
        status = 409 if isinstance(error, ItemNotOpen) else 400
        return _item_page(item_id, problem=error_message(error), form=request.form, status=status)
    flash(_(DONE[action]), "info")
    return redirect(url_for("staff.review_item", item_id=item_id))
