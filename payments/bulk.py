"""Property-manager bulk payment: one payment for many 户号.

The manager ticks 户号 on a page or uploads a CSV of ``户号,金额``.  A file with any bad line is
refused whole, every bad line named; nothing is applied.  The order's lines say how the payment is
allocated; ``settle`` posts clearing -> manager float -> each 户号 in one commit.
"""

from __future__ import annotations

import csv
import io
from typing import NamedTuple

from sqlmodel import Session, select

from billing.accounts import Account, validate_account_no
from billing.errors import InvalidAmount, InvalidInput
from billing.money import parse_yuan
from billing.managers import ManagerAccount
from payments.errors import BulkFileInvalid

MAX_LINES = 2000
HEADER_WORDS = ("户号", "account_no", "account")


def managed_accounts(session: Session, manager_id: int) -> dict[str, Account]:
    rows = session.exec(
        select(Account).join(ManagerAccount, ManagerAccount.account_id == Account.id)
        .where(ManagerAccount.manager_id == manager_id).order_by(Account.account_no)
    )
    return {account.account_no: account for account in rows}


def decode_upload(data: bytes) -> str:
    """Excel in China saves CSV as GBK; everything else sends UTF-8 (perhaps with a BOM)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("gbk")
        except UnicodeDecodeError:
            raise BulkFileInvalid([(1, "encoding", {})]) from None


def parse_lines(text: str, managed: dict[str, Account], *, max_line_fen: int) -> list[tuple[Account, int]]:
    """``户号,金额`` per line (a header line is allowed); all or nothing."""
    problems: list[tuple[int, str, dict]] = []
    lines: list[tuple[Account, int]] = []
    seen: dict[str, int] = {}
    rows = [(n, row) for n, row in enumerate(csv.reader(io.StringIO(text)), start=1) if any(c.strip() for c in row)]
    if rows and rows[0][1][0].strip().lower() in HEADER_WORDS:
        rows = rows[1:]
    if not rows:
        raise BulkFileInvalid([(1, "empty", {})])
    if len(rows) > MAX_LINES:
        raise BulkFileInvalid([(rows[MAX_LINES][0], "too_many_lines", {"limit": MAX_LINES})])
    for number, row in rows:
        checked = _check_row(row, managed, seen, max_line_fen)
        if isinstance(checked, Problem):
            problems.append((number, checked.code, checked.values))
        else:
            seen[row[0].strip()] = number
            lines.append(checked)
    if problems:
        raise BulkFileInvalid(problems)
    return lines


class Problem(NamedTuple):
    code: str
    values: dict


def _check_row(row: list[str], managed: dict[str, Account], seen: dict[str, int],
               max_line_fen: int) -> tuple[Account, int] | Problem:
    """The (account, fen) of a good row, or the problem with a bad one."""
    if len(row) != 2:
        return Problem("columns", {"found": len(row)})
    account_no, amount_text = row[0].strip(), row[1].strip()
    try:
        validate_account_no(account_no)
    except InvalidInput:
        return Problem("account_no_format", {"account_no": account_no})
    if account_no not in managed:
        return Problem("account_not_managed", {"account_no": account_no})
    if account_no in seen:
        return Problem("account_repeated", {"account_no": account_no, "first_line": seen[account_no]})
    try:
        amount = parse_yuan(amount_text)
    except InvalidAmount:
        return Problem("amount_format", {"amount": amount_text})
    if not 0 < amount <= max_line_fen:
        return Problem("amount_range", {"amount": amount_text})
    return managed[account_no], amount


def check_selection(managed: dict[str, Account], chosen: dict[str, str], *, max_line_fen: int) -> list[tuple[Account, int]]:
    """The page's ticked 户号 and amounts, checked like a file (line = position on the page)."""
    text = "\n".join(f"{account_no},{amount}" for account_no, amount in chosen.items())
    return parse_lines(text, managed, max_line_fen=max_line_fen)
