"""The daily channel report (渠道日报) for finance: per channel, one Beijing day, the count, gross,
refunds, fees and net from the ledger beside the statement's, and the settlement that should reach
the bank (``payments.daily_report``); and the same day as CSV for Excel (UTF-8 with a BOM)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

from flask import Response, render_template, request

from billing.clock import beijing_date
from billing.db import read_session
from billing.errors import InvalidInput
from billing.money import format_yuan, format_yuan_millifen
from payments.daily_report import ChannelDay, daily_report
from portal.i18n import gettext as _
from portal.staff.access import blueprint, staff_required
from portal.staff.roles import CHANNEL_REPORT
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


def _optional_yuan(fen: int | None) -> str:
    return "" if fen is None else format_yuan(fen)


@blueprint.get("/channel-report.csv")
@staff_required(CHANNEL_REPORT)
def channel_report_csv():
    day, lines = _report()
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_("日期"), _("渠道"), _("笔数"), _("收款"), _("其中挂账"), _("退款笔数"), _("退款"), _("手续费（精确）"),
                     _("手续费（入账）"), _("舍入差（毫分）"), _("净额"), _("对账单笔数"), _("对账单收款"), _("对账单退款"),
                     _("应到账"), _("差额")])
    for line in lines:
        fees = line.fees
        writer.writerow([
            day.isoformat(), _(CHANNEL_NAMES[line.channel]), line.count, format_yuan(line.gross_fen),
            format_yuan(line.held_fen), line.refunds, format_yuan(line.refunded_fen),
            format_yuan_millifen(fees.fee_millifen) if fees else "", format_yuan(line.fee_fen),
            fees.rounding_millifen if fees else "", format_yuan(line.net_fen),
            "" if fees is None or fees.statement_lines is None else fees.statement_lines,
            _optional_yuan(fees.statement_paid_fen if fees else None),
            _optional_yuan(fees.statement_refunded_fen if fees else None),
            _optional_yuan(line.settles_fen), _optional_yuan(line.difference_fen),
        ])
    return Response(out.getvalue().encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="channel-report-{day.isoformat()}.csv"'})
