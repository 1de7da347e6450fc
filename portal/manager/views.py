"""Property-manager bulk payment: tick 户号 (or upload ``户号,金额`` CSV), check the preview with
its total, pay once by WeChat Pay Native QR or Alipay page pay, get one consolidated receipt."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, abort, g, redirect, render_template, request, session, url_for

from billing import manager_accounts, managers
from billing.db import read_session, unit_of_work
from billing.errors import BillingError, InvalidInput
from billing.money import format_yuan
from payments import bulk, checkout
from payments.errors import BulkFileInvalid
from payments.orders import PaymentOrder
from portal.auth import current_resident_id, resident_required
from portal.errors import status_for
from portal.i18n import BULK_PROBLEMS, bulk_problem, error_message, gettext as _
from portal.manager import selection as signed
from portal.pages.payments import public_url
from portal.receipts import POLL_LIMIT, POLL_SECONDS, check_with_channel, receipt_for, scan_to_pay
from portal.wiring import services

blueprint = Blueprint("manager", __name__, url_prefix="/manager")
CHOSEN = "manager_id"  # session key: the organisation a member of several acts for
OPEN_WITHOUT_CHOICE = {"manager.choose", "manager.chose", "manager.order", "manager.check",
                       "manager_documents.receipt_pdf"}  # an order is scoped by membership, not by the choice


@blueprint.before_request
@resident_required
def load_manager():
    with read_session(services().engine) as db:
        g.membership = managers.membership(db, current_resident_id(), session.get(CHOSEN))
    if not g.membership.choices:
        abort(403)
    g.manager = g.membership.acting
    if g.manager is None and request.endpoint not in OPEN_WITHOUT_CHOICE:
        return redirect(url_for("manager.choose"))


@blueprint.get("/choose")
def choose(error: str | None = None, status: int = 200):
    return render_template("manager/choose.html", membership=g.membership, error=error), status


@blueprint.post("/choose")
def chose():
    wanted = request.form.get("manager_id", "")
    try:
        with read_session(services().engine) as db:
            chosen = managers.choose_manager(db, current_resident_id(), int(wanted) if wanted.isdigit() else None)
    except BillingError as error:
        return choose(error_message(error), status_for(error))
    session[CHOSEN] = chosen.id
    return redirect(url_for("manager.home"))


def _filters(values) -> manager_accounts.Filters:
    """The list's filters from a query string or the hidden fields of a form that came from it."""
    district = values.get("district", "")
    if district and not district.isdigit():
        raise InvalidInput("district", "not a 台区 of this property manager")
    return manager_accounts.Filters(arrears_only=values.get("arrears") == "1", district_id=int(district) if district else None,
                                    search=values.get("q", "")[:manager_accounts.MAX_SEARCH_CHARS + 1],
                                    sort=values.get("sort") or manager_accounts.BY_ACCOUNT_NO)


def page_number(values) -> int:
    number = values.get("page", "1")
    if not number.isdigit() or not 1 <= int(number) <= 100_000:
        raise InvalidInput("page", "a page number")
    return int(number)


def _home(typed: dict[str, bulk.Row] | None = None, problems: list[str] | None = None,
          bad: dict[str, str] | None = None, status: int = 200):
    """The list and its tick form: the filtered page, arrears ticked and filled; after an error or
    返回修改, exactly the 户号 the manager had (``typed``), as they left them; ``bad`` names the rows
    at fault (户号 -> what is wrong), each listed and marked."""
    problems, typed = list(problems or []), typed or None  # nothing typed: the list as it comes
    try:
        filters, number = _filters(request.values), page_number(request.values)
    except BillingError as error:
        filters, number, status = manager_accounts.Filters(), 1, 400
        problems.append(error_message(error))
    if typed is not None:
        filters = replace(filters, account_nos=tuple(typed), arrears_only=False, district_id=None, search="")
    svc = services()
    with read_session(svc.engine) as db:
        listed = manager_accounts.page(db, g.manager.id, filters, 1 if typed is not None else number,
                                       max(len(typed or ()), manager_accounts.PER_PAGE))
        districts = manager_accounts.districts(db, g.manager.id)
    return render_template("manager/home.html", manager=g.manager, listed=listed, filters=filters,
                           districts=districts, typed=typed, problems=problems, bad=bad or {},
                           limits=svc.limits), status


@blueprint.get("/")
def home():
    return _home()


def _labelled(account_no: str) -> manager_accounts.Row:
    with read_session(services().engine) as db:
        found = manager_accounts.page(db, g.manager.id, manager_accounts.Filters(account_nos=(account_no,))).rows
    if not found:
        abort(404)
    return found[0]


@blueprint.get("/accounts/<account_no>/label")
def label(account_no: str, error: str | None = None, status: int = 200):
    """The manager's own name for a 户号 (3栋201, 物业办公室), shown on the list and searched."""
    return render_template("manager/label.html", manager=g.manager, row=_labelled(account_no), error=error), status


@blueprint.post("/accounts/<account_no>/label")
def save_label(account_no: str):
    _labelled(account_no)
    try:
        with unit_of_work(services().engine) as db:
            managers.set_label(db, g.manager.id, account_no, request.form.get("label", ""))
    except BillingError as error:
        return label(account_no, error_message(error), status_for(error))
    return redirect(url_for("manager.home", q=account_no))


@blueprint.post("/arrears")
def preview_arrears():
    """全选欠费户: every 户号 in arrears under the list's filters (on every page), at what it owes."""
    svc = services()
    try:
        with read_session(svc.engine) as db:
            owed = manager_accounts.arrears_fen(db, g.manager.id, _filters(request.form))
            rows = [bulk.Row(account_no, True, format_yuan(fen)) for account_no, fen in owed.items()]
            if not rows:
                raise InvalidInput("owing", "no account in arrears")
            preview = bulk.preview_selection(db, g.manager.id, rows, max_line_fen=svc.limits.maximum_fen)
    except BulkFileInvalid as invalid:  # an arrears beyond the single-payment limit
        return _home(problems=[_selection_problem(line, code, values) for line, code, values in invalid.problems],
                     status=400)
    except BillingError as error:
        return _home(problems=[error_message(error)], status=400)
    return _preview_page(preview)


def _page_rows() -> dict[str, bulk.Row]:
    """The tick form's rows in page order: every amount box, ticked or not."""
    ticked = set(request.form.getlist("pick"))
    numbers = [key.removeprefix("amount-") for key in request.form if key.startswith("amount-")]
    return {no: bulk.Row(no, no in ticked, request.form.get(f"amount-{no}", ""))
            for no in dict.fromkeys([*numbers, *request.form.getlist("pick")])}


def _selection_problem(number: int, code: str, values: dict) -> str:
    """A tick-form problem names the 户号 (the row), not a line number."""
    text = _(BULK_PROBLEMS[code], **values)
    return text if "{account_no}" in BULK_PROBLEMS[code] else _("户号 {account_no}：{problem}",
                                                                 account_no=values["account_no"], problem=text)


@blueprint.post("/preview")
def preview_selection():
    rows = _page_rows()
    svc = services()
    try:
        with read_session(svc.engine) as db:
            preview = bulk.preview_selection(db, g.manager.id, list(rows.values()), max_line_fen=svc.limits.maximum_fen)
    except BulkFileInvalid as invalid:
        return _home(rows, bad={values["account_no"]: _selection_problem(line, code, values)
                                for line, code, values in invalid.problems}, status=400)
    except BillingError as error:
        return _home(rows, [error_message(error)], status=400)
    return _preview_page(preview)


@blueprint.post("/upload")
def preview_upload():
    upload = request.files.get("file")
    svc = services()
    try:
        with read_session(svc.engine) as db:
            preview = bulk.preview_upload(db, g.manager.id, upload.read() if upload else b"",
                                          max_line_fen=svc.limits.maximum_fen)
    except BulkFileInvalid as invalid:
        return _home(problems=[bulk_problem(line, code, values) for line, code, values in invalid.problems],
                     status=400)
    return _preview_page(preview)


def _preview_page(preview: bulk.Preview, error: str | None = None, channel: str = "", status: int = 200):
    svc = services()
    return render_template("manager/preview.html", manager=g.manager, preview=preview, error=error,
                           selection=signed.seal(g.manager.id, preview.lines), channels=list(svc.gateways),
                           channel=channel), status


def _sealed_preview() -> tuple[list[tuple[str, int]], bulk.Preview]:
    """The selection the preview page carried, unsealed and checked again against the 户号 and limits."""
    lines = signed.unseal(request.form.get("selection", ""), g.manager.id)
    svc = services()
    with read_session(svc.engine) as db:
        return lines, bulk.preview_confirmed(db, g.manager.id, lines, max_line_fen=svc.limits.maximum_fen)


def _stale_selection(error: BillingError):
    """The preview no longer holds: expired, altered, or a 户号 has left the organisation since."""
    if isinstance(error, BulkFileInvalid):
        return _home(problems=[bulk_problem(line, code, values) for line, code, values in error.problems], status=400)
    return _home(problems=[error_message(error)], status=400)


@blueprint.post("/edit")
def edit():
    """返回修改: the previewed selection back in the tick form."""
    try:
        _, preview = _sealed_preview()
    except BillingError as error:
        return _stale_selection(error)
    return _home({a.account_no: bulk.Row(a.account_no, True, format_yuan(amount)) for a, amount in preview.lines})


@blueprint.post("/pay")
def pay():
    svc = services()
    channel = request.form.get("channel", "")
    try:
        lines, preview = _sealed_preview()
    except BillingError as error:
        return _stale_selection(error)
    try:
        started = checkout.start_bulk(
            svc.engine, svc.gateways, g.manager, channel, lines, limits=svc.limits, now=svc.clock(),
            resident_id=current_resident_id(),
            return_url=lambda out_trade_no: public_url("manager.order", out_trade_no=out_trade_no),
        )
    except BillingError as error:
        return _preview_page(preview, error_message(error), channel, 400)
    if started.checkout.kind == "qr":
        return redirect(url_for("manager.order", out_trade_no=started.order.out_trade_no))
    return redirect(started.checkout.url)


def _ours(order: PaymentOrder) -> bool:
    return g.membership.includes(order.manager_id)


@blueprint.get("/orders/<out_trade_no>")
def order(out_trade_no: str):
    shown = receipt_for(out_trade_no, _ours)
    scan = scan_to_pay(shown, public_url("manager.order", out_trade_no=out_trade_no))
    return render_template("manager/order.html", order=shown.order, lines=shown.lines, progress=shown.progress,
                           qr_image=scan and scan.qr_image, demo_scan=scan and scan.demo_scan,
                           check_endpoint="manager.check",
                           poll_seconds=POLL_SECONDS, poll_limit=POLL_LIMIT)


@blueprint.post("/orders/<out_trade_no>/check")
def check(out_trade_no: str):
    return check_with_channel(out_trade_no, _ours, "manager.order")
