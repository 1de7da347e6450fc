"""营销财务月报 at the desk: the month's statement (``billing.finance_statement``) with a month picker,
the figures marketing and finance both hold and whether the two books agree, charts drawn in the
browser (static/js/finance-charts.js with chart.js from static/vendor, data in data- attributes: the
CSP allows no inline script), and the same rows as CSV (UTF-8 with a BOM for Excel) and XLSX."""

from __future__ import annotations

import json
from datetime import date

from flask import render_template

from billing.db import read_session
from billing.finance_statement import AGING_LABELS, LARGE_UNITS, MANAGED, NOT_DUE, RESIDENTS, Statement, statement
from portal.i18n import gettext as _
from portal.staff.access import blueprint, staff_required
from portal.staff.months import asked_month, recent_months
from portal.staff.roles import FINANCE_REPORTS
from portal.spreadsheet import COUNT, RATE, TEXT, YUAN, csv_download, xlsx_download
from portal.wiring import services

MONTHS_OFFERED = 24


def group_names() -> dict[str, str]:
    return {LARGE_UNITS: _("大工业及非居民"), MANAGED: _("物业代管"), RESIDENTS: _("居民")}


def bucket_names() -> dict[str, str]:
    return {NOT_DUE: _("未到期"), "0-30": _("逾期 0-30 天"), "31-90": _("逾期 31-90 天"),
            "91-180": _("逾期 91-180 天"), "181-365": _("逾期 181-365 天"), ">365": _("逾期 365 天以上")}


def check_names() -> dict[str, str]:
    return {"billed": _("本月电费发行"), "late_fee_assessed": _("违约金发生"), "cancelled": _("本月作废"),
            "late_fee_waived": _("违约金减免"), "owed": _("月末欠费"), "prepaid_held": _("预收电费余额"),
            "bad_debt_written_off": _("坏账核销")}


def channel_name(channel: str) -> str:
    names = {"wechat": _("微信支付"), "alipay": _("支付宝"), "counter": _("营业厅柜台"), "bulk": _("物业代缴")}
    return names.get(channel, channel)


def _statement() -> tuple[Statement, date]:
    month, current = asked_month()
    with read_session(services().engine) as db:
        return statement(db, month), current


def rows(found: Statement) -> list[tuple[str, str, int | None, str]]:
    """The statement as (section, item, value, kind) rows: what the CSV and the XLSX hold."""
    billing, collected, rates = _("发行"), _("回收"), _("回收率")
    out = [(billing, _("本月电费发行"), found.billed_fen, YUAN), (billing, _("账单张数"), found.bills_issued, COUNT),
           (billing, _("本月作废"), found.cancelled_fen, YUAN),
           (billing, _("智能交费日结电费"), found.prepaid_settled_fen, YUAN)]
    out += [(collected, channel_name(channel), fen, YUAN) for channel, fen in found.collected_fen.items()]
    out.append((collected, _("合计"), found.total_collected_fen, YUAN))
    rate = found.collection
    out += [(rates, _("本月电费"), rate.billed_fen, YUAN), (rates, _("月末已收"), rate.paid_fen, YUAN),
            (rates, _("电费回收率（金额）"), rate.rate_bp, RATE), (rates, _("出账户数"), rate.households, COUNT),
            (rates, _("结清户数"), rate.paid_households, COUNT),
            (rates, _("电费回收率（户数）"), rate.household_rate_bp, RATE)]
    groups, buckets = group_names(), bucket_names()
    for group, by_label in found.aging.items():
        out += [(_("欠费账龄") + " · " + groups[group], buckets[label], by_label[label], YUAN) for label in AGING_LABELS]
    out += [(_("重点欠费"), f"{groups[debtor.group]} {debtor.name}", debtor.owed_fen, YUAN) for debtor in found.debtors]
    other = _("其他")
    out += [(other, _("预收电费余额（负债）"), found.prepaid_held_fen, YUAN),
            (other, _("违约金发生"), found.late_fee_assessed_fen, YUAN),
            (other, _("违约金减免"), found.late_fee_waived_fen, YUAN),
            (other, _("违约金实收"), found.late_fee_collected_fen, YUAN),
            (other, _("退款"), found.refunds_fen, YUAN), (other, _("挂账（待查）"), found.suspense_fen, YUAN),
            (other, _("核销（短款计入支出）"), found.write_offs_fen, YUAN),
            (other, _("无主长款（计入收入）"), found.unclaimed_fen, YUAN),
            (other, _("坏账核销（计入坏账损失）"), found.bad_debt_written_off_fen, YUAN),
            (other, _("已核销坏账收回"), found.bad_debt_recovered_fen, YUAN)]
    names = check_names()
    for check in found.checks:
        out += [(_("账实核对"), names[check.name] + " · " + _("按账单"), check.from_bills_fen, YUAN),
                (_("账实核对"), names[check.name] + " · " + _("按总账"), check.from_ledger_fen, YUAN)]
    return out


def chart_data(found: Statement) -> dict[str, str]:
    """The charts' figures as JSON for data- attributes: labels translated here, rates in basis points
    and money in fen (integers; the script scales them for display)."""
    trend = {"labels": [point.month.strftime("%Y-%m") for point in found.trend],
             "amount": [point.rate_bp for point in found.trend],
             "households": [point.household_rate_bp for point in found.trend],
             "names": [_("按金额"), _("按户数")]}
    groups, buckets = group_names(), bucket_names()
    aging = {"labels": [buckets[label] for label in AGING_LABELS],
             "series": [{"name": groups[group], "fen": [by_label[label] for label in AGING_LABELS]}
                        for group, by_label in found.aging.items()]}
    return {"trend": json.dumps(trend, ensure_ascii=False), "aging": json.dumps(aging, ensure_ascii=False)}


def _filename(found: Statement, suffix: str) -> str:
    return f"finance-{found.month.strftime('%Y-%m')}.{suffix}"


@blueprint.get("/finance")
@staff_required(FINANCE_REPORTS)
def finance_page():
    found, current = _statement()
    return render_template("staff/finance.html", found=found, months=recent_months(current, MONTHS_OFFERED),
                           groups=group_names(), buckets=bucket_names(), checks=check_names(), channel_name=channel_name,
                           labels=AGING_LABELS, charts=chart_data(found))


@blueprint.get("/finance.csv")
@staff_required(FINANCE_REPORTS)
def finance_csv():
    found, _current = _statement()
    month = found.month.strftime("%Y-%m")
    return csv_download([_("月份"), _("栏目"), _("项目"), _("数值")],
                        ([(month, TEXT), (section, TEXT), (item, TEXT), (value, kind)]
                         for section, item, value, kind in rows(found)),
                        _filename(found, "csv"), missing="—")


@blueprint.get("/finance.xlsx")
@staff_required(FINANCE_REPORTS)
def finance_xlsx():
    found, _current = _statement()
    return xlsx_download(found.month.strftime("%Y-%m"), [_("栏目"), _("项目"), _("数值")],
                         ([(section, TEXT), (item, TEXT), (value, kind)] for section, item, value, kind in rows(found)),
                         _filename(found, "xlsx"), widths=(24, 32, 18))
