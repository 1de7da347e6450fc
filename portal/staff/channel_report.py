"""The daily channel report (渠道日报) for finance: per channel, one Beijing day, the count, gross,
refunds, fees and net from the ledger beside the statement's, and the settlement that should reach
the bank (``payments.daily_report``); and the same day, with a total row, as CSV and XLSX."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import render_template, request

from billing.clock import beijing_date
from billing.db import read_session
from billing.errors import InvalidInput
from billing.money import format_yuan_millifen
from payments.daily_report import ChannelDay, daily_report
from portal.i18n import gettext as _
from portal.staff.access import blueprint, staff_required
from portal.staff.roles import CHANNEL_REPORT
from portal.spreadsheet import COUNT, MILLIFEN, TEXT, YUAN, Cell, csv_download, xlsx_download
from portal.wiring import services

CHANNEL_NAMES = {"wechat": "微信支付", "alipay": "支付宝", "counter": "柜台"}


def _day() -> date:
    """The day asked for (``?date=2026-11-30``), else yesterday in Beijing: today's statement is not out."""
    asked = request.args.get("date", "").strip()
    if not asked:
        return beijing_date(services().clock()) - timedelta(days=1)
    try:
        day = datetime.strptime(asked, "%Y-%m-%d").date()
    except ValueError:
        day = None
    if day is None or not 2000 <= day.year <= 2999:  # a day with a day before and after it, in this system's life
        raise InvalidInput("date", f"{asked[:20]!r} is not a date such as 2026-11-30")
    return day


def _report() -> tuple[date, list[ChannelDay]]:
    day = _day()
    with read_session(services().engine) as db:
        return day, daily_report(db, day)


@blueprint.get("/channel-report")
@staff_required(CHANNEL_REPORT)
def channel_report_page():
    day, lines = _report()
    return render_template("staff/channel_report.html", day=day, lines=lines, names=CHANNEL_NAMES,
                           millifen=format_yuan_millifen, previous=day - timedelta(days=1), next=day + timedelta(days=1))


def _header() -> list[str]:
    return [_("日期"), _("渠道"), _("笔数"), _("收款"), _("其中挂账"), _("退款笔数"), _("退款"), _("手续费（精确）"),
            _("手续费（入账）"), _("舍入差（毫分）"), _("净额"), _("对账单笔数"), _("对账单收款"), _("对账单退款"),
            _("应到账"), _("差额"), _("未结差异")]


def _row(day: date, name: str, line: ChannelDay) -> list[Cell]:
    fees = line.fees
    return [(day.isoformat(), TEXT), (name, TEXT), (line.count, COUNT), (line.gross_fen, YUAN), (line.held_fen, YUAN),
            (line.refunds, COUNT), (line.refunded_fen, YUAN), (fees and fees.fee_millifen, MILLIFEN),
            (line.fee_fen, YUAN), (fees and fees.rounding_millifen, COUNT), (line.net_fen, YUAN),
            (fees and fees.statement_lines, COUNT), (fees and fees.statement_paid_fen, YUAN),
            (fees and fees.statement_refunded_fen, YUAN), (line.settles_fen, YUAN), (line.difference_fen, YUAN),
            (line.open_differences, COUNT)]


def _total(rows: list[list[Cell]]) -> list[Cell]:
    """Each numeric column summed over the channels that have a figure (blank where none has)."""
    def column_sum(index: int) -> Cell:
        values = [row[index][0] for row in rows if row[index][0] is not None]
        return (sum(values) if values else None), rows[0][index][1]

    return [rows[0][0], (_("合计"), TEXT), *map(column_sum, range(2, len(rows[0])))]


def _table() -> tuple[date, list[list[Cell]]]:
    day, lines = _report()
    rows = [_row(day, _(CHANNEL_NAMES[line.channel]), line) for line in lines]
    return day, [*rows, _total(rows)]


@blueprint.get("/channel-report.csv")
@staff_required(CHANNEL_REPORT)
def channel_report_csv():
    day, rows = _table()
    return csv_download(_header(), rows, f"channel-report-{day.isoformat()}.csv")


@blueprint.get("/channel-report.xlsx")
@staff_required(CHANNEL_REPORT)
def channel_report_xlsx():
    day, rows = _table()
    return xlsx_download(day.isoformat(), _header(), rows, f"channel-report-{day.isoformat()}.xlsx",
                         widths=(12, 10, *[14] * 15))
