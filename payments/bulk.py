"""Property-manager bulk payment: one payment for many 户号.

The manager ticks 户号 on a page or uploads a CSV of ``户号,金额``.  A file with any bad line is
refused whole, every bad line named; nothing is applied.  The order's lines say how the payment is
allocated; ``settle`` posts clearing -> manager float -> each 户号 in one commit.
"""

from __future__ import annotations

import csv
import io
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
    """A page row goes through the file parser as a one-line file, so both are checked alike."""
    if row.account_no not in managed:
        return Problem("account_not_managed", {})
    if not row.amount_text.strip():
        return Problem("amount_missing", {})
    line = io.StringIO()
    csv.writer(line).writerow([row.account_no, row.amount_text.strip()])
    try:
        return parse_lines(line.getvalue(), managed, max_line_fen=max_line_fen)[0]
    except BulkFileInvalid as invalid:
        _, code, values = invalid.problems[0]
        return Problem(code, values)


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
    """The previewed (户号, fen) lines, checked again as a file: the page's copy is not trusted."""
    text = io.StringIO()
    csv.writer(text).writerows((account_no, format_yuan(amount)) for account_no, amount in selection)
    return parse_lines(text.getvalue(), managed, max_line_fen=max_line_fen)
