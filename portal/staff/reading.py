"""The reader's phone (抄表): the day's list of meters, one meter per page to enter its read, and the
photo of a meter face for whoever reviews it.  Role: reader (admin may stand in).

Plain forms that work without JavaScript; reading.js only shows the range check while typing.  An
unusual read comes back with the warning and a note to fill in, and is saved by the second post.
A photo, once accepted, is stored at once and travels to that second post (or back to a form with
a typo) as a signed token, so a reader on a weak connection never uploads it twice.
"""

from __future__ import annotations

from pathlib import Path

from flask import abort, current_app, flash, g, redirect, render_template, request, send_file, url_for
from itsdangerous import BadData, URLSafeTimedSerializer

from billing.clock import beijing_date
from billing.db import read_session, unit_of_work
from billing.errors import InvalidInput
from billing.kwh import format_kwh
from billing.manual_reads import (
    EntryInvalid, NoteMissing, RangeRule, Unconfirmed, expected_range, meter_registers, parse_entry, recent_reads,
    save_manual_read,
)
from billing.read_photos import MEDIA_TYPES, accept_photo, store_photo, stored_photo
from billing.reader_day import reader_day, stop_for
from billing.reads import Read, ReadConflict
from billing.review_queue import MAX_ID
from portal.i18n import error_message, gettext as _
from portal.staff.access import blueprint, staff_required
from portal.staff.roles import ADMIN, READ_METERS, READ_PHOTOS
from portal.wiring import services

PHOTO_TOKEN_SECONDS = 24 * 3600


def range_rule() -> RangeRule:
    settings = services().settings
    return RangeRule(low_percent=settings.READ_RANGE_LOW_PERCENT, high_percent=settings.READ_RANGE_HIGH_PERCENT,
                     min_band_wh=settings.READ_RANGE_MIN_KWH * 1000)


@blueprint.get("/reading")
@staff_required(READ_METERS)
def reading_day():
    svc = services()
    with read_session(svc.engine) as db:
        day = reader_day(db, g.staff.id, beijing_date(svc.clock()))
    return render_template("staff/reading.html", day=day)


@blueprint.get("/reading/meters/<int:meter_id>")
@staff_required(READ_METERS)
def reading_form(meter_id: int):
    return _entry_page(meter_id)


@blueprint.post("/reading/meters/<int:meter_id>")
@staff_required(READ_METERS)
def reading_save(meter_id: int):
    svc = services()
    day, form = beijing_date(svc.clock()), request.form
    with read_session(svc.engine) as db:
        stop = _stop(db, meter_id)
        registers = meter_registers(stop.meter, stop.last)
    problems, photo = {}, _kept_photo(meter_id)
    try:
        photo = _new_photo(day) or photo
    except InvalidInput as problem:
        problems["photo"] = error_message(problem)
    try:
        entry = parse_entry(form, registers)
    except EntryInvalid as invalid:
        problems |= {problem.field: error_message(problem) for problem in invalid.problems}
    if problems:  # a confirmation already given still holds for the same values
        return _entry_page(meter_id, problems=problems, photo=photo, confirm=form.get("confirmed"), status=400)
    try:
        with unit_of_work(svc.engine) as db:
            saved = save_manual_read(db, meter_id=meter_id, day=day, reader_id=g.staff.id, entry=entry,
                                     rule=range_rule(), now=svc.clock(), confirmed=form.get("confirmed"), photo=photo,
                                     checks=svc.settings.read_rules)
    except Unconfirmed as unusual:
        note = {"note": error_message(unusual)} if isinstance(unusual, NoteMissing) else {}
        return _entry_page(meter_id, problems=note, photo=photo, unusual=unusual.assessment.unusual,
                           confirm=entry.values_key, status=400 if note else 200)
    except ReadConflict as conflict:
        held = _("该表今日已有示数 {held} kWh，与录入的 {typed} kWh 不同，未保存。请再核对表盘，如今日示数有误请联系复核员。",
                 held=format_kwh(conflict.params["held_wh"]), typed=format_kwh(entry.total_wh))
        return _entry_page(meter_id, problems={"total": held}, photo=photo, status=409)
    flash(" · ".join(_saved_messages(stop.meter.meter_no, saved)), "info")
    return redirect(url_for("staff.reading_day"))


@blueprint.get("/reads/<int:read_id>/photo")
@staff_required(READ_PHOTOS)
def read_photo(read_id: int):
    """The photo a reader attached to a read: for readers and for whoever reviews reads."""
    with read_session(services().engine) as db:
        read = db.get(Read, read_id) if 0 < read_id <= MAX_ID else None
    path = stored_photo(Path(current_app.instance_path), read)
    if path is None:
        abort(404)
    response = send_file(path, mimetype=MEDIA_TYPES[path.suffix.lstrip(".")], max_age=3600)
    response.cache_control.private = True  # evidence about a household: not for shared caches
    return response


def _stop(db, meter_id: int):
    """The reader's stop at the meter; 404 for a meter that is not on their list."""
    return stop_for(db, g.staff.id, meter_id, beijing_date(services().clock()), any_meter=ADMIN in g.roles)


def _entry_page(meter_id: int, *, problems: dict[str, str] | None = None, photo: str | None = None,
                unusual: tuple[str, ...] = (), confirm: str | None = None, status: int = 200):
    svc = services()
    day = beijing_date(svc.clock())
    with read_session(svc.engine) as db:
        stop = _stop(db, meter_id)
        reads, expected = recent_reads(db, meter_id), expected_range(db, meter_id, day, range_rule())
    page = render_template(
        "staff/reading_meter.html", stop=stop, reads=reads, expected=expected, day=day,
        registers=meter_registers(stop.meter, stop.last), values=request.form if request.method == "POST" else {},
        problems=problems or {}, unusual=unusual, confirm=confirm, photo_token=_photo_token(meter_id, photo),
        photo_limit_mb=svc.settings.READ_PHOTO_MAX_MB)
    return page, status


def _new_photo(day) -> str | None:
    """The photo sent with this form, stored; None if none was sent."""
    upload = request.files.get("photo")
    if upload is None or not upload.filename:
        return None
    data, extension = accept_photo(upload.stream, services().settings.READ_PHOTO_MAX_MB * 1024 * 1024)
    return store_photo(Path(current_app.instance_path), data, extension, day)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="reading-photo")


def _photo_token(meter_id: int, photo: str | None) -> str | None:
    return _serializer().dumps([g.staff.id, meter_id, photo]) if photo else None


def _kept_photo(meter_id: int) -> str | None:
    """The photo an earlier post of this form stored, if its token is this reader's for this meter."""
    token = request.form.get("photo_token")
    if not token:
        return None
    try:
        staff_id, token_meter, photo = _serializer().loads(token, max_age=PHOTO_TOKEN_SECONDS)
    except (BadData, TypeError, ValueError):
        return None
    return photo if (staff_id, token_meter) == (g.staff.id, meter_id) and isinstance(photo, str) else None


def _saved_messages(meter_no: str, saved) -> list[str]:
    messages = [_("已保存 {meter_no}：{total} kWh", meter_no=meter_no, total=format_kwh(saved.read.total_wh))]
    if saved.outcome == "duplicate":
        messages.append(_("此前已录入相同示数，没有重复保存"))
    if saved.assessment.unusual:
        messages.append(_("示数异常，已连同说明提交复核"))
    if any(agrees for _, agrees in saved.rereads):
        messages.append(_("复抄单已完成"))
    if not all(agrees for _, agrees in saved.rereads):
        messages.append(_("复抄示数比复核员质疑的示数还小，已退回复核员处理"))
    return messages
