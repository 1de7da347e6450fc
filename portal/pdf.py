"""What every PDF we print shares: A4 pages drawn by ReportLab in the Adobe CID font STSong-Light
(every PDF reader maps it to its own Song/Ming face: no font file is needed on the server and none
is embedded, so a document is a few kB and extracts back to its Chinese text), the margins, the
paragraph styles, the ruled tables, and Chinese-first texts translated through
portal/translations/en.json for ``lang="en"``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import BinaryIO
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

from billing.errors import InvalidInput
from portal.i18n import LANGUAGES, translate

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
MARGIN, PADDING = 15 * mm, 6  # the page's margin, then the padding of SimpleDocTemplate's frame inside it
LEFT, RIGHT = MARGIN + PADDING, A4[0] - MARGIN - PADDING
WIDTH = RIGHT - LEFT
WIDE = landscape(A4)[0] - 2 * (MARGIN + PADDING)  # the text width of a landscape page, for wide tables
GRID, SHADE = colors.HexColor("#b0b7c3"), colors.HexColor("#eef1f5")
Translate = Callable[..., str]


def style(size: float, **more) -> ParagraphStyle:
    return ParagraphStyle(f"pdf{size}", fontName=FONT, fontSize=size, leading=size * 1.35, wordWrap="CJK", **more)


TITLE, HEADING, BODY, SMALL = style(18), style(11.5, spaceBefore=9, spaceAfter=3), style(9.5), style(8)


def translator(lang: str) -> Translate:
    if lang not in LANGUAGES:
        raise InvalidInput("lang", f"{lang[:10]!r} is not one of {', '.join(LANGUAGES)}")
    return partial(translate, lang)


def document(out: BinaryIO, *, title: str, author: str, lang: str, wide: bool = False) -> SimpleDocTemplate:
    """An A4 document with our margins (landscape if ``wide``); ``invariant``: the same story renders
    to the same bytes."""
    return SimpleDocTemplate(out, pagesize=landscape(A4) if wide else A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                             bottomMargin=MARGIN + 6 * mm, invariant=True, lang=lang, title=title, author=author)


def cell(text: str, style_: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(escape(text), style_)


def table(rows: list, widths, *commands, heading: bool = False) -> Table:
    ruled = Table(rows, colWidths=widths, repeatRows=int(heading))  # a heading row repeats on the next page
    ruled.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), FONT, 9.5), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                               ("GRID", (0, 0), (-1, -1), 0.5, GRID), *commands]))
    return ruled


def footer(text: str, _: Translate, *, wide: bool = False):
    """A rule and ``text`` at the foot of every page, with the page number."""
    right = LEFT + (WIDE if wide else WIDTH)

    def draw(canvas, pdf) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.setStrokeColor(GRID)
        canvas.line(LEFT, MARGIN + 3 * mm, right, MARGIN + 3 * mm)
        canvas.drawString(LEFT, MARGIN, text)
        canvas.drawRightString(right, MARGIN, _("第 {page} 页", page=pdf.page))
        canvas.restoreState()
    return draw
