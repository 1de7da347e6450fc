"""Downloads (finance reports, a property manager's statement): one table of typed cells written
as CSV (UTF-8 with a BOM, so Excel reads the Chinese) or as XLSX (openpyxl), so the two files of a
report always hold the same figures.

A cell is ``(value, kind)``.  In the CSV money is text in yuan; in the XLSX it is an exact Decimal
(never a float) with a number format, so a clerk can add columns up in Excel.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

from flask import Response
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from billing.money import format_yuan, format_yuan_millifen
from portal.filters import percent

TEXT, COUNT, YUAN, MILLIFEN, RATE = "text", "count", "yuan", "millifen", "rate"
Cell = tuple[object, str]  # (value, kind); money in fen, millifen for MILLIFEN, basis points for RATE

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_NUMBER_FORMATS = {COUNT: "0", YUAN: "#,##0.00", MILLIFEN: "#,##0.00000", RATE: "0.00%"}
_SCALE = {YUAN: 100, MILLIFEN: 100_000, RATE: 10_000}


def text(value: object, kind: str, *, missing: str = "") -> str:
    """A cell as the CSV writes it."""
    if value is None:
        return missing
    if kind == YUAN:
        return format_yuan(value)
    if kind == MILLIFEN:
        return format_yuan_millifen(value)
    if kind == RATE:
        return percent(value, 10_000)
    return str(value)


def _typed(value: object, kind: str) -> object:
    if value is None or kind not in _SCALE:
        return value
    return Decimal(value) / _SCALE[kind]


def csv_download(header: Sequence[str], rows: Iterable[Sequence[Cell]], filename: str, *, missing: str = "") -> Response:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([text(value, kind, missing=missing) for value, kind in row] for row in rows)
    return _attachment(out.getvalue().encode("utf-8"), "text/csv", filename)


def xlsx_download(title: str, header: Sequence[str], rows: Iterable[Sequence[Cell]], filename: str,
                  widths: Sequence[int]) -> Response:
    book = Workbook()
    sheet = book.active
    sheet.title = title
    sheet.append(list(header))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_typed(value, kind) for value, kind in row])
        for column, (_value, kind) in enumerate(row, start=1):
            if kind in _NUMBER_FORMATS:
                sheet.cell(sheet.max_row, column).number_format = _NUMBER_FORMATS[kind]
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    out = io.BytesIO()
    book.save(out)
    return _attachment(out.getvalue(), XLSX_TYPE, filename)


def _attachment(body: bytes, mimetype: str, filename: str) -> Response:
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})
