"""Property-manager bulk payment: one payment for many 户号.

The manager ticks 户号 on a page or uploads a CSV of ``户号,金额``.  A file with any bad line is
refused whole, every bad line named; nothing is applied.  The order's lines say how the payment is
allocated; ``settle`` posts clearing -> manager float -> each 户号 in one commit.

What spreadsheets and input methods produce is read as meant: UTF-8 (with or without a BOM) or
GBK, CRLF, LF or CR alone, ``="3301000001"``, full-width digits and commas, thousands separators
in a quoted amount, a currency-formatted amount (``¥120.50``, ``120.50元``), rows padded with empty
columns, tab-separated lines (Excel's "文本文件（制表符分隔）" renamed to .csv).  What cannot be a bulk file is refused naming
the line: more than 256 KB, NUL bytes (an .xlsx or UTF-16 file), a line over 200 characters, an
unbalanced quote.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from sqlmodel import Session, select

from billing import ledger
from billing.accounts import Account, validate_account_no
from billing.errors import InvalidAmount, InvalidInput
from billing.money import format_yuan, parse_yuan
from billing.managers import ManagerAccount
from payments.errors import BulkFileInvalid

MAX_LINES = 2000
MAX_FILE_BYTES = 256 * 1024  # room for 2,000 lines of 户号,金额 in Excel's most verbose quoting
MAX_LINE_CHARS = 200
HEADER_WORDS = ("户号", "account_no", "account")
SHOWN_CHARS = 24  # a bad value is quoted back to the manager at most this long
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # \r alone: old Mac Excel
_LINE_BREAK_BYTES = re.compile(rb"\r\n|\r|\n")
# A Chinese input method types full-width digits and punctuation; they mean the ASCII ones.
_FULL_WIDTH = str.maketrans("０１２３４５６７８９，．＂＝\u3000", "0123456789,.\"= ")
_EXCEL_TEXT = re.compile(r'="(.*)"')  # ="3301000001": Excel's way to keep leading zeros as text
_CURRENCY = re.compile(r"^[¥￥]\s*|\s*元$")  # a cell formatted as currency in Excel keeps its sign
_THOUSANDS = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?")  # "5,000.00" from a number-formatted cell


def managed_accounts(session: Session, manager_id: int) -> dict[str, Account]:
    rows = session.exec(
        select(Account).join(ManagerAccount, ManagerAccount.account_id == Account.id)
        .where(ManagerAccount.manager_id == manager_id).order_by(Account.account_no)
    )
    return {account.account_no: account for account in rows}


def decode_upload(data: bytes) -> str:
    """Excel in China saves CSV as GBK; everything else sends UTF-8 (perhaps with a BOM).

    Refused, naming the line: a file too large to be a bulk payment, NUL bytes (an .xlsx or a
    UTF-16 "Unicode text" file renamed to .csv), bytes that are neither UTF-8 nor GBK."""
    if len(data) > MAX_FILE_BYTES:
        raise BulkFileInvalid([(_line_of(data, MAX_FILE_BYTES), "too_large", {"limit_kb": MAX_FILE_BYTES // 1024})])
    if b"\0" in data:
        raise BulkFileInvalid([(_line_of(data, data.index(b"\0")), "nul", {})])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("gbk")
        except UnicodeDecodeError as error:
            raise BulkFileInvalid([(_line_of(data, error.start), "encoding", {})]) from None


def _line_of(data: bytes, offset: int) -> int:
    return len(_LINE_BREAK_BYTES.findall(data, 0, offset)) + 1


def parse_lines(text: str, managed: dict[str, Account], *, max_line_fen: int) -> list[tuple[Account, int]]:
    """``户号,金额`` per line (a header line is allowed); all or nothing."""
    problems: list[tuple[int, str, dict]] = []
    rows: list[tuple[int, list[str]]] = []
    for number, line in enumerate(_LINE_BREAK.split(text), start=1):
        cells = _cells(line)
        if isinstance(cells, Problem):
            problems.append((number, cells.code, cells.values))
        elif cells:
            rows.append((number, cells))
    if rows and rows[0][1][0].lower() in HEADER_WORDS:
        rows = rows[1:]
    return _check_rows(rows, managed, max_line_fen, problems)


def _cells(line: str) -> list[str] | Problem:
    """The cleaned cells of one physical line; [] for a blank one."""
    if len(line) > MAX_LINE_CHARS:
        return Problem("line_too_long", {"limit": MAX_LINE_CHARS})
    try:
        line = line.lstrip("\ufeff").translate(_FULL_WIDTH)
        tabbed = "\t" in line and "," not in line
        rows = list(csv.reader([line], delimiter="\t" if tabbed else ",", strict=True))
    except csv.Error:  # an unterminated quote, or text after a closing one
        return Problem("quote", {})
    cells = [_clean(cell) for row in rows for cell in row]
    while cells and not cells[-1]:  # Excel pads every row to the widest one
        cells.pop()
    return cells


def _clean(cell: str) -> str:
    cell = cell.translate(_FULL_WIDTH).strip()
    excel = _EXCEL_TEXT.fullmatch(cell)
    return excel[1].strip() if excel else cell


def _check_rows(rows: list[tuple[int, list[str]]], managed: dict[str, Account], max_line_fen: int,
                problems: list[tuple[int, str, dict]]) -> list[tuple[Account, int]]:
    if not rows and not problems:
        raise BulkFileInvalid([(1, "empty", {})])
    if len(rows) > MAX_LINES:
        raise BulkFileInvalid([(rows[MAX_LINES][0], "too_many_lines", {"limit": MAX_LINES})])
    lines: list[tuple[Account, int]] = []
    seen: dict[str, int] = {}
    for number, row in rows:
        checked = _check_row(row, managed, seen, max_line_fen)
        if isinstance(checked, Problem):
            problems.append((number, checked.code, checked.values))
        else:
            seen[row[0]] = number
            lines.append(checked)
    if problems:
        raise BulkFileInvalid(sorted(problems, key=lambda problem: problem[0]))
    return lines


class Problem(NamedTuple):
    code: str
    values: dict


def _check_row(row: list[str], managed: dict[str, Account], seen: dict[str, int],
               max_line_fen: int) -> tuple[Account, int] | Problem:
    """The (account, fen) of a good row, or the problem with a bad one."""
    if len(row) != 2:
        return Problem("columns", {"found": len(row)})
    account_no, amount_text = row[0], _CURRENCY.sub("", row[1])
    shown = _shown(row[1])
    try:
        validate_account_no(account_no)
    except InvalidInput:
        return Problem("account_no_format", {"account_no": _shown(account_no)})
    if account_no not in managed:
        return Problem("account_not_managed", {"account_no": account_no})
    if account_no in seen:
        return Problem("account_repeated", {"account_no": account_no, "first_line": seen[account_no]})
    try:
        amount = parse_yuan(amount_text.replace(",", "") if _THOUSANDS.fullmatch(amount_text) else amount_text)
    except InvalidAmount:
        return Problem("amount_format", {"amount": shown})
    if not 0 < amount <= max_line_fen:
        return Problem("amount_range", {"amount": shown})
    return managed[account_no], amount


def _shown(text: str) -> str:
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"


class Row(NamedTuple):
    """One row of the manager's tick form as submitted."""

    account_no: str
    ticked: bool
    amount_text: str


@dataclass(frozen=True)
class Preview:
    """What the manager is about to pay, shown before they choose the channel and pay."""

    lines: list[tuple[Account, int]]
    ticked_for_them: tuple[str, ...] = ()  # 户号 with an amount typed in a row left unticked
    balances_fen: dict[int, int] = field(default_factory=dict)  # by Account.id, before this payment

    @property
    def total_fen(self) -> int:
        return sum(amount for _, amount in self.lines)


def check_selection(managed: dict[str, Account], rows: list[Row], prefilled_fen: dict[str, int], *,
                    max_line_fen: int) -> Preview:
    """The tick form's rows, each checked like a file line; problems are named by 户号.

    A typed amount is never ignored: an unticked row with an amount is taken as ticked (and the
    preview says so), unless the amount is the one the page pre-filled (its arrears), which only
    means the manager unticked it.
    """
    chosen: list[Row] = []
    for row in rows:
        typed = row.amount_text.strip()
        if row.ticked or (typed and _fen_or_none(typed) != prefilled_fen.get(row.account_no)):
            chosen.append(row)
    if not chosen:
        raise InvalidInput("pick", "tick at least one account")
    problems: list[tuple[int, str, dict]] = []
    lines: list[tuple[Account, int]] = []
    for number, row in enumerate(chosen, start=1):
        checked = _check_page_row(managed, row, max_line_fen)
        if isinstance(checked, Problem):
            problems.append((number, checked.code, {"account_no": row.account_no} | checked.values))
        else:
            lines.append(checked)
    if problems:
        raise BulkFileInvalid(problems)
    return Preview(lines, tuple(row.account_no for row in chosen if not row.ticked))


def _check_page_row(managed: dict[str, Account], row: Row, max_line_fen: int) -> tuple[Account, int] | Problem:
    """A page row is checked cell by cell by the rules of a file line (never re-read as CSV, so a
    comma or a quote typed in the amount cannot shift the columns)."""
    if row.account_no not in managed:
        return Problem("account_not_managed", {})
    if not row.amount_text.strip():
        return Problem("amount_missing", {})
    return _check_row([_clean(row.account_no), _clean(row.amount_text)], managed, {}, max_line_fen)


def _fen_or_none(text: str) -> int | None:
    try:
        return parse_yuan(text)
    except InvalidAmount:
        return None


def preview_selection(session: Session, manager_id: int, rows: list[Row], *, max_line_fen: int) -> Preview:
    """The tick form's rows as the preview shows them (the page pre-filled each arrears)."""
    managed = managed_accounts(session, manager_id)
    balances = ledger.customer_balances(session, [account.id for account in managed.values()])
    prefilled = {no: -balances[a.id] for no, a in managed.items() if balances.get(a.id, 0) < 0}
    return _with_balances(session, check_selection(managed, rows, prefilled, max_line_fen=max_line_fen))


def preview_upload(session: Session, manager_id: int, data: bytes, *, max_line_fen: int) -> Preview:
    """An uploaded ``户号,金额`` file as the preview shows it; a bad file is refused whole."""
    managed = managed_accounts(session, manager_id)
    return _with_balances(session, Preview(parse_lines(decode_upload(data), managed, max_line_fen=max_line_fen)))


def preview_confirmed(session: Session, manager_id: int, selection: list[tuple[str, int]], *,
                      max_line_fen: int) -> Preview:
    """A previewed selection shown again (to edit it, or after a refusal at the channel)."""
    managed = managed_accounts(session, manager_id)
    return _with_balances(session, Preview(confirmed_lines(managed, selection, max_line_fen=max_line_fen)))


def _with_balances(session: Session, preview: Preview) -> Preview:
    ids = [account.id for account, _ in preview.lines]
    return replace(preview, balances_fen=ledger.customer_balances(session, ids))


def confirmed_lines(managed: dict[str, Account], selection: list[tuple[str, int]], *,
                    max_line_fen: int) -> list[tuple[Account, int]]:
    """The previewed (户号, fen) lines, checked again like a file: the page's copy is not trusted."""
    rows = [(number, [account_no, format_yuan(amount)]) for number, (account_no, amount) in enumerate(selection, 1)]
    return _check_rows(rows, managed, max_line_fen, [])
