"""A property manager's papers: the consolidated receipts of its bulk payments (a list, each as a
page and a PDF) and the monthly statement (a page, PDF and XLSX).  Scoped like the desk: the list
and the statement are the acting organisation's, a receipt any of the member's organisations';
anything else is a 404."""

from __future__ import annotations

from flask import Blueprint, Response, abort, g, render_template, request

from billing import manager_statement
from billing.clock import beijing_date
from billing.db import read_session
from billing.errors import BillingError
from billing.privacy import mask_name
from payments import bulk_receipts
from payments.orders import PAID
from portal.i18n import current_language, error_message, gettext as _
from portal.manager.documents_pdf import STATEMENT_COLUMNS, render_receipt_pdf, render_statement_pdf, statement_cells
from portal.manager.views import load_manager, page_number
from portal.receipts import receipt_for
from portal.spreadsheet import TEXT, YUAN, xlsx_download
from portal.wiring import services

blueprint = Blueprint("manager_documents", __name__, url_prefix="/manager")
blueprint.before_request(load_manager)


@blueprint.get("/receipts")
def receipts():
    try:
        page, error, status = page_number(request.args), None, 200
    except BillingError as refused:
        page, error, status = 1, error_message(refused), 400
    with read_session(services().engine) as db:
        found = bulk_receipts.receipts(db, g.manager.id, page)
    return render_template("manager/receipts.html", manager=g.manager, found=found, error=error), status


@blueprint.get("/receipts/<out_trade_no>.pdf")
def receipt_pdf(out_trade_no: str):
    """As the receipt page: an order of any organisation the member belongs to, once it is paid."""
    shown = receipt_for(out_trade_no, lambda order: g.membership.includes(order.manager_id))
    if shown.order.state != PAID:  # nothing to prove yet
        abort(404)
    payer = next(manager for manager in g.membership.choices if manager.id == shown.order.manager_id)
    body = render_receipt_pdf(shown, payer, current_language())
    return Response(body, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="receipt-{shown.order.out_trade_no}.pdf"'})


def _statement():
    """The statement of ``?month=`` (this month by default), or the page's answer to a bad month."""
    svc = services()
    today = beijing_date(svc.clock())
    try:
        month = manager_statement.month_of(request.args.get("month") or f"{today:%Y-%m}")
    except BillingError as error:
        return None, (render_template("manager/statement.html", manager=g.manager, made=None, month_text="",
                                      error=error_message(error), columns=STATEMENT_COLUMNS), 400)
    with read_session(svc.engine) as db:
        return manager_statement.statement(db, g.manager, month), None


@blueprint.get("/statement")
def statement():
    made, refused = _statement()
    if refused:
        return refused
    return render_template("manager/statement.html", manager=g.manager, made=made, month_text=f"{made.month:%Y-%m}",
                           error=None, columns=STATEMENT_COLUMNS, cells=statement_cells)


@blueprint.get("/statement.pdf")
def statement_pdf():
    made, refused = _statement()
    if refused:
        return refused
    return Response(render_statement_pdf(made, current_language()), mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="statement-{made.month:%Y-%m}.pdf"'})


@blueprint.get("/statement.xlsx")
def statement_xlsx():
    made, refused = _statement()
    if refused:
        return refused
    header = [_("户号"), _("户名"), _("地址"), *(_(name) for name in STATEMENT_COLUMNS)]
    rows = [[(account.account_no, TEXT), (mask_name(account.holder_name), TEXT), (account.address, TEXT),
             *((fen, YUAN) for fen in statement_cells(figures))] for account, figures in made.lines]
    rows.append([(_("合计 {count} 户", count=len(made.lines)), TEXT), ("", TEXT), ("", TEXT),
                 *((fen, YUAN) for fen in statement_cells(made.totals))])
    return xlsx_download(f"{made.month:%Y-%m}", header, rows, f"statement-{made.month:%Y-%m}.xlsx",
                         widths=(14, 10, 28, *(13,) * len(STATEMENT_COLUMNS)))
