"""A property manager's papers as PDF: the consolidated receipt of one bulk payment (every 户号,
its amount and its balance after, with the total) and the monthly statement (每户 opening,
billed, paid, other, closing, with totals).  Drawn as every PDF of ours is (portal/pdf.py)."""

from __future__ import annotations

import io

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.units import mm
from reportlab.platypus import Spacer, Table, TableStyle

from billing.clock import to_beijing
from billing.manager_statement import Figures, Statement
from billing.managers import Manager
from billing.money import format_yuan
from billing.privacy import mask_name
from portal.filters import NAMES
from portal.pdf import FONT, SHADE, SMALL, TITLE, WIDE, WIDTH, Translate, cell, document, footer, style, table, translator
from portal.receipts import Receipt

RIGHT_SMALL = style(8, alignment=TA_RIGHT)


def _header(title: str, manager: Manager, facts: list[str], _: Translate, width: float = WIDTH) -> Table:
    left = [cell(_("县供电公司"), SMALL), cell(title, TITLE), cell(manager.name)]
    header = Table([[left, [cell(fact, RIGHT_SMALL) for fact in facts]]], colWidths=(width * 0.6, width * 0.4))
    header.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                                ("LINEBELOW", (0, 0), (-1, 0), 1.2, colors.black)]))
    return header


def _build(story: list, title: str, foot: str, _: Translate, lang: str, wide: bool = False) -> bytes:
    out = io.BytesIO()
    pdf = document(out, title=title, author=_("县供电公司"), lang=lang, wide=wide)
    draw = footer(foot, _, wide=wide)
    pdf.build(story, onFirstPage=draw, onLaterPages=draw)
    return out.getvalue()


def render_receipt_pdf(receipt: Receipt, manager: Manager, lang: str = "zh") -> bytes:
    """The consolidated receipt of a paid bulk payment."""
    _ = translator(lang)
    order = receipt.order
    paid_at = f"{to_beijing(order.paid_at):%Y-%m-%d %H:%M}" if order.paid_at else "—"
    facts = [_("订单号 {number}", number=order.out_trade_no),
             _("支付方式 {channel}", channel=_(NAMES["channel_names"].get(order.channel, order.channel))),
             _("支付时间 {paid_at}", paid_at=paid_at)]
    rows = [[cell(_("户号")), cell(_("户名")), cell(_("地址")), cell(_("入账金额（元）")), cell(_("入账后余额（元）"))]]
    for account, amount, after in receipt.lines:
        rows.append([account.account_no, cell(mask_name(account.holder_name)), cell(account.address),
                     format_yuan(amount), format_yuan(after) if after is not None else "—"])
    rows.append([cell(_("合计 {count} 户", count=len(receipt.lines))), "", "", format_yuan(order.amount_fen), ""])
    widths = (26 * mm, 20 * mm, WIDTH - 118 * mm, 34 * mm, 38 * mm)
    lines = table(rows, widths, ("ALIGN", (3, 1), (-1, -1), "RIGHT"), ("BACKGROUND", (0, 0), (-1, 0), SHADE),
                  ("BACKGROUND", (0, -1), (-1, -1), SHADE), ("SPAN", (0, -1), (2, -1)), heading=True)
    title = _("物业代缴电费回单")
    story = [_header(title, manager, facts, _), Spacer(0, 5 * mm), lines]
    return _build(story, f"{title} {order.out_trade_no}", _("订单号 {number}  供电服务热线 95598",
                                                            number=order.out_trade_no), _, lang)


STATEMENT_COLUMNS = ("期初余额", "本月电费", "本月缴费", "其中物业代缴", "其他调整", "期末余额")


def statement_cells(figures: Figures) -> tuple[int, ...]:
    """A line's money in the order of STATEMENT_COLUMNS (the page, the PDF and the XLSX agree)."""
    return (figures.opening_fen, figures.billed_fen, figures.paid_fen, figures.by_manager_fen, figures.other_fen,
            figures.closing_fen)


def render_statement_pdf(made: Statement, lang: str = "zh") -> bytes:
    _ = translator(lang)
    month = f"{made.month:%Y-%m}"
    rows = [[cell(_("户号")), cell(_("地址")), *(cell(_(name), RIGHT_SMALL) for name in STATEMENT_COLUMNS)]]
    for account, figures in made.lines:
        rows.append([account.account_no, cell(account.address, SMALL), *map(format_yuan, statement_cells(figures))])
    rows.append([cell(_("合计 {count} 户", count=len(made.lines))), "", *map(format_yuan, statement_cells(made.totals))])
    widths = (26 * mm, WIDE - 26 * mm - 6 * 25 * mm, *(25 * mm,) * 6)  # landscape: six money columns
    lines = table(rows, widths, ("FONT", (0, 0), (-1, -1), FONT, 8.5), ("ALIGN", (2, 1), (-1, -1), "RIGHT"),
                  ("BACKGROUND", (0, 0), (-1, 0), SHADE), ("BACKGROUND", (0, -1), (-1, -1), SHADE),
                  ("SPAN", (0, -1), (1, -1)), heading=True)
    title = _("物业月度电费对账单")
    note = _("期末余额 = 期初余额 - 本月电费 + 本月缴费 + 其他调整；负数为欠费。按入账的业务日期（北京时间）统计。")
    story = [_header(title, made.manager, [_("对账月份 {month}", month=month)], _, WIDE), Spacer(0, 5 * mm), lines,
             Spacer(0, 3 * mm), cell(note, SMALL)]
    return _build(story, f"{title} {month}", _("{name}  {month} 对账单", name=made.manager.name, month=month), _, lang,
                  wide=True)
