"""A bill as an A4 PDF: the header with its number, who and what period, the balance in words, the
lines tier by tier, the reads it used (估抄 marked), the tier progress and the forecast.

Drawn as every PDF of ours is (portal/pdf.py).  Texts are Chinese first; ``lang="en"`` translates
ours (the resident's own data, an address or a tariff's surcharge name, stays as written).
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

from billing.kwh import format_kwh
from billing.money import format_yuan
from portal.bill_document import BillDocument, TierStanding
from portal.pdf import (BODY, FONT, GRID, HEADING, SHADE, SMALL, TITLE, WIDTH, Translate, cell as _cell,
                        document as a4_document, footer as page_footer, style as _style, table as _table,
                        translator as _translator)

LINE_COLUMNS = (WIDTH - 96 * mm, 30 * mm, 30 * mm, 36 * mm)  # 项目 | kWh | 元/kWh | 元
MARK = colors.HexColor("#fff1d6")
TIER_COLOURS = tuple(map(colors.HexColor, ("#d6eedb", "#fbe6ae", "#f5c1b3")))
BODY_RIGHT = _style(9.5, alignment=TA_RIGHT)


def render_bill_pdf(document: BillDocument, lang: str = "zh") -> bytes:
    """The bill as PDF bytes; the same document renders to the same bytes."""
    _ = _translator(lang)
    out = io.BytesIO()
    pdf = a4_document(out, title=_("电费账单 {number}", number=document.number), author=_("县供电公司"), lang=lang)
    story = [_header(document, _), Spacer(0, 4 * mm), _who_and_when(document, _), Spacer(0, 3 * mm),
             _summary(document, _), Paragraph(escape(_("电费明细")), HEADING), _lines(document, _),
             Paragraph(escape(_("抄表示数")), HEADING), *_reads(document, _)]
    if document.tiers:
        story += [Paragraph(escape(_("阶梯用电")), HEADING), Paragraph(escape(_tier_sentence(document.tiers, _)), BODY)]
        story += [Spacer(0, 2 * mm), _tier_bar(document.tiers, _)] if document.tiers.thresholds_wh else []
    if document.forecast:
        forecast = document.forecast
        story += [Paragraph(escape(_("本期预测")), HEADING), Paragraph(escape(_(
            "{start} 至 {end} 预计用电 {kwh} kWh，电费约 {amount} 元（按近期日均用电估算，仅供参考）",
            start=forecast.start, end=forecast.end, kwh=format_kwh(forecast.wh), amount=format_yuan(forecast.amount_fen))), BODY)]
    footer = _footer(document, _)
    pdf.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


def _header(document: BillDocument, _: Translate) -> Table:
    left = [_cell(_("县供电公司"), SMALL), Paragraph(escape(_("电费账单")), TITLE)]
    right = [_cell(_("账单号"), _style(8, alignment=TA_RIGHT)), _cell(document.number or "—", _style(14, alignment=TA_RIGHT))]
    if document.state_words:  # a held or cancelled bill must not pass for one to pay
        right.append(_cell(_(document.state_words), _style(12, alignment=TA_RIGHT, textColor=colors.HexColor("#b42318"))))
    table = Table([[left, right]], colWidths=(WIDTH * 0.6, WIDTH * 0.4))
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "BOTTOM"), ("LINEBELOW", (0, 0), (-1, 0), 1.2, colors.black)]))
    return table


def _who_and_when(document: BillDocument, _: Translate) -> Table:
    label = _style(9.5, textColor=colors.HexColor("#4a5363"))
    period = _("{start} 至 {end}", start=document.period_start, end=document.period_end)
    rows = [[_cell(_("户号"), label), _cell(document.account_no), _cell(_("户名"), label), _cell(document.holder_masked)],
            [_cell(_("用电地址"), label), _cell(document.address), "", ""],
            [_cell(_("计费周期"), label), _cell(period), _cell(_("出账日期"), label), _cell(str(document.issue_date))],
            [_cell(_("缴费截止日期"), label), _cell(str(document.due_date)), _cell(_("本期电费"), label),
             _cell(_("{amount} 元", amount=document.total_text))]]
    widths = (WIDTH * 0.17, WIDTH * 0.33, WIDTH * 0.17, WIDTH * 0.33)
    return _table(rows, widths, ("SPAN", (1, 1), (3, 1)), ("BACKGROUND", (0, 0), (0, -1), SHADE),
                  ("BACKGROUND", (2, 0), (2, -1), SHADE))


def _summary(document: BillDocument, _: Translate) -> Table:
    sentence, values = document.balance_words()
    rows = [[_cell(_("本期电费合计 {amount} 元，缴费截止日期 {due}", amount=document.total_text, due=document.due_date),
                   _style(11))],
            [_cell(_(sentence, **values))]]
    return _table(rows, (WIDTH,), ("GRID", (0, 0), (-1, -1), 0, colors.white), ("BOX", (0, 0), (-1, -1), 1, GRID),
                  ("BACKGROUND", (0, 0), (-1, -1), SHADE))


def _lines(document: BillDocument, _: Translate) -> Table:
    rows = [[_cell(_("项目")), _cell(_("电量（kWh）"), BODY_RIGHT), _cell(_("单价（元/kWh）"), BODY_RIGHT),
             _cell(_("金额（元）"), BODY_RIGHT)]]
    for line in document.lines:
        name = [_cell(_(line.name))] + ([_cell(line.note, SMALL)] if line.note else [])
        rows.append([name, line.kwh_text, line.price_text, line.amount_text])
    rows.append([_cell(_("合计")), "", "", document.total_text])
    return _table(rows, LINE_COLUMNS, ("ALIGN", (1, 1), (-1, -1), "RIGHT"), ("BACKGROUND", (0, 0), (-1, 0), SHADE),
                  ("BACKGROUND", (0, -1), (-1, -1), SHADE), ("FONT", (3, -1), (3, -1), FONT, 10.5), heading=True)


def _reads(document: BillDocument, _: Translate) -> list:
    if not document.reads:
        return [_cell(_("本期没有使用示数") if document.reads_kept else _("账单未保存所用示数，请以户号的抄表记录为准"))]
    rows = [[_cell(_("抄表日期")), _cell(_("表号")), _cell(_("示数（kWh）"), BODY_RIGHT), _cell(_("来源"))]]
    marks = []
    for row, read in enumerate(document.reads, start=1):
        rows.append([str(read.on), read.meter_no, read.kwh_text, _cell(_(read.source_name))])
        marks += [("BACKGROUND", (0, row), (-1, row), MARK)] if read.estimated else []
    widths = (WIDTH * 0.22, WIDTH * 0.3, WIDTH * 0.24, WIDTH * 0.24)
    table = _table(rows, widths, ("ALIGN", (2, 1), (2, -1), "RIGHT"), ("BACKGROUND", (0, 0), (-1, 0), SHADE), *marks,
                   heading=True)
    note = (_("本期含估抄示数：估抄电量按日均用电推算，实际抄表后多退少补。") if document.any_estimated
            else _("本期示数均为实际抄表或采集所得。"))
    return [table, Spacer(0, 1.5 * mm), _cell(note, SMALL)]


def _tier_sentence(tiers: TierStanding, _: Translate) -> str:
    used = _("本年累计用电 {kwh} kWh", kwh=format_kwh(tiers.used_wh)) if tiers.yearly \
        else _("本月累计用电 {kwh} kWh", kwh=format_kwh(tiers.used_wh))
    if tiers.left_in_tier_wh is None:
        return _("{used}，处于第 {tier} 档（最高档）", used=used, tier=tiers.tier)
    return _("{used}，处于第 {tier} 档，本档还剩 {left} kWh", used=used, tier=tiers.tier,
             left=format_kwh(tiers.left_in_tier_wh))


def _tier_bar(tiers: TierStanding, _: Translate) -> Drawing:
    """The tiers side by side to scale, each threshold in kWh, and a mark where this bill left the year."""
    top = tiers.thresholds_wh[-1]
    end_wh = max(tiers.used_wh, top + top // 3, 1)  # the open top tier drawn a third as wide as the rest

    def x(wh: int) -> float:
        return WIDTH * min(max(wh, 0), end_wh) / end_wh

    drawing = Drawing(WIDTH, 40)
    bounds = (0, *tiers.thresholds_wh, end_wh)
    for tier, (low, high) in enumerate(zip(bounds, bounds[1:]), start=1):
        drawing.add(Rect(x(low), 12, x(high) - x(low), 12, fillColor=TIER_COLOURS[min(tier, 3) - 1],
                         strokeColor=colors.white))
        drawing.add(String((x(low) + x(high)) / 2, 15.5, _("第 {tier} 档", tier=tier), fontName=FONT, fontSize=7.5,
                           textAnchor="middle"))
    for wh in tiers.thresholds_wh:
        drawing.add(String(x(wh), 3, f"{format_kwh(wh)} kWh", fontName=FONT, fontSize=7, textAnchor="middle"))
    used = x(tiers.used_wh)
    drawing.add(Line(used, 9, used, 27, strokeWidth=1.5))
    drawing.add(String(min(max(used, 45), WIDTH - 45), 30, _("已用 {kwh} kWh", kwh=format_kwh(tiers.used_wh)),
                       fontName=FONT, fontSize=8, textAnchor="middle"))
    return drawing


def _footer(bill: BillDocument, _: Translate):
    return page_footer(_("账单号 {number}  户号 {account_no}  供电服务热线 95598", number=bill.number or "—",
                         account_no=bill.account_no), _)
