"""Parsers for the channels' daily statement files, in their own formats, into ``StatementLine``s.

WeChat Pay: UTF-8 CSV, every field prefixed with a back-tick, detail rows, then a summary header
and a summary row whose totals we check against the rows, the fees exactly.  Alipay: a zip of
GBK CSV files whose detail file (业务明细) wraps its table in ``#`` comment lines and pads fields
with tabs.

``fee_millifen`` is what the channel charged us on the line, exact (WeChat Pay writes fees with
up to five decimals: 0.6 % of 1 元 is 0.00600 元): positive on a payment, negative on a refund (the
fee comes back).  Fees are rounded to the fen only when booked.  Anything a parser cannot read
raises ``StatementInvalid`` naming the line.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from itertools import compress, count, repeat
from operator import eq, itemgetter, methodcaller

from billing.errors import InvalidAmount
from billing.money import format_yuan, format_yuan_millifen, parse_yuan, parse_yuan_millifen
from payments.errors import PaymentError
from payments.gateways.base import StatementLine

WECHAT_SUMMARY_HEADER = "总交易单数"
BEIJING_OFFSET = timezone(timedelta(hours=8))  # statement times are Beijing wall time; UTC+8 all year since 1991
WECHAT_COLUMNS = ("交易时间", "微信订单号", "商户订单号", "交易状态", "应结订单金额", "退款金额", "商户退款单号", "手续费")
WECHAT_TOTALS = ("总交易单数", "应结订单总金额", "退款总金额", "手续费总金额")
ALIPAY_COLUMNS = ("支付宝交易号", "商户订单号", "业务类型", "创建时间", "完成时间", "订单金额（元）", "退款批次号/请求号",
                  "服务费（元）")


class StatementInvalid(PaymentError):
    code = "statement_invalid"


def _time(text: str, where: str) -> datetime:
    """``YYYY-MM-DD HH:MM:SS`` Beijing time (``fromisoformat`` is many times faster than ``strptime``;
    the shape check keeps it as strict)."""
    try:
        if not _TIMES.fullmatch(f"{text}\n"):
            raise ValueError(text)
        return datetime.fromisoformat(text).replace(tzinfo=BEIJING_OFFSET)
    except ValueError:
        raise StatementInvalid(f"{where}: '{text[:40]}' is not a time") from None


def _amount(parse: Callable[[str], int], text: str, where: str) -> int:
    try:
        return parse(text or "0")
    except InvalidAmount:
        raise StatementInvalid(f"{where}: '{text[:40]}' is not an amount") from None


def _table(rows: list[tuple[int, list[str]]], columns: tuple[str, ...], what: str) -> list[tuple[str, dict]]:
    """(where, row as a dict) for a header row and the rows under it; every row as wide as the header."""
    header, body = _columns(rows, columns, what)
    return [(f"line {number}", dict(zip(header, row))) for number, row in body]


def _columns(rows: list[tuple[int, list[str]]], columns: tuple[str, ...], what: str) -> tuple[list[str], list]:
    """The header and the rows under it, once checked: the columns are there, every row is as wide."""
    if not rows:
        raise StatementInvalid(f"{what} has no header")
    (_, header), body = rows[0], rows[1:]
    _check_header(header, columns, what)
    _check_widths(header, [number for number, _ in body], [row for _, row in body])
    return header, body


def _check_header(header: list[str], columns: tuple[str, ...], what: str) -> None:
    missing = [column for column in columns if column not in header]
    if missing:
        raise StatementInvalid(f"{what} lacks the columns {', '.join(missing)}")


def _check_widths(header: list[str], numbers: Sequence[int], rows: list[list[str]]) -> None:
    if set(map(len, rows)) - {len(header)}:  # one pass in C; the line is named only when one is off
        number, row = next((number, row) for number, row in zip(numbers, rows) if len(row) != len(header))
        raise StatementInvalid(f"line {number}: {len(row)} fields, the header has {len(header)}")


def _csv_rows(lines: Iterable[str]) -> list[tuple[int, list[str]]]:
    return list(zip(*_csv_lines(lines)))


def _csv_lines(lines: Iterable[str]) -> tuple[Sequence[int], list[list[str]]]:
    """The line numbers and the rows of a CSV text, blank lines skipped (and counted)."""
    try:
        rows = list(csv.reader(lines))
    except csv.Error as error:
        raise StatementInvalid(f"not a CSV file: {error}") from None
    if [] not in rows:  # the usual file: no list of a million numbers to make
        return range(1, len(rows) + 1), rows
    return [number for number, row in enumerate(rows, start=1) if row], [row for row in rows if row]


@dataclass
class StatementLines:
    """A statement's lines as columns: a million lines are checked, stored and matched a column at a
    time, and a ``StatementLine`` is made only for the line someone looks at."""

    channel: str
    kinds: list[str] = field(default_factory=list)
    txn_ids: list[str] = field(default_factory=list)
    out_trade_nos: list[str] = field(default_factory=list)
    refund_nos: list[str] = field(default_factory=list)
    amounts: list[int] = field(default_factory=list)
    fees: list[int] = field(default_factory=list)
    ats: list[datetime] = field(default_factory=list)
    merchant_ids: set[str] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.kinds)

    def line(self, index: int) -> StatementLine:
        return StatementLine(self.channel, self.kinds[index], self.txn_ids[index], self.out_trade_nos[index],
                             self.amounts[index], self.fees[index], self.ats[index], self.refund_nos[index],
                             next(iter(self.merchant_ids), ""))

    def where(self, kind: str) -> list[int]:
        """The indices of the lines of a kind (payment, refund)."""
        return list(compress(count(), map(eq, self.kinds, repeat(kind))))

    def lines(self) -> list[StatementLine]:
        return [self.line(index) for index in range(len(self))]

    def total(self, kind: str) -> int:
        return sum(compress(self.amounts, map(eq, self.kinds, repeat(kind))))

    @classmethod
    def of(cls, channel: str, lines: list[StatementLine]) -> StatementLines:
        columns = cls(channel)
        for line in lines:
            columns.kinds.append(line.kind)
            columns.txn_ids.append(line.channel_txn_id)
            columns.out_trade_nos.append(line.out_trade_no)
            columns.refund_nos.append(line.refund_no)
            columns.amounts.append(line.amount_fen)
            columns.fees.append(line.fee_millifen)
            columns.ats.append(line.at)
            columns.merchant_ids.add(line.merchant_id)
        columns.merchant_ids.discard("")
        return columns


def parse_wechat_tradebill(data: bytes) -> list[StatementLine]:
    return read_wechat_tradebill(data).lines()


def read_wechat_tradebill(data: bytes) -> StatementLines:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise StatementInvalid(f"WeChat statement is not UTF-8 (byte {error.start})") from None
    numbers, rows = _csv_lines(io.StringIO(text))
    firsts = list(map(_UNTICK, map(itemgetter(0), rows)))
    split = firsts.index(WECHAT_SUMMARY_HEADER) if WECHAT_SUMMARY_HEADER in firsts else None
    if split is None or split + 2 != len(rows):
        raise StatementInvalid("WeChat statement has no summary header and row at its end")
    header = list(map(_UNTICK, rows[0]))
    _check_header(header, WECHAT_COLUMNS, "WeChat statement")
    _check_widths(header, numbers[1:split], rows[1:split])
    lines = _wechat_columns(header, numbers[1:split], rows[1:split])
    summary_rows = [(numbers[n], list(map(_UNTICK, rows[n]))) for n in range(split, len(rows))]
    ((_, summary),) = _table(summary_rows, WECHAT_TOTALS, "WeChat statement summary")
    _check_wechat_summary(lines, summary)
    return lines


_UNTICK = methodcaller("lstrip", "`")
_NO_POINT = methodcaller("replace", ".", "")
_TIMES = re.compile(r"(?:[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\n)*")
_DECIMALS = {2: re.compile(r"(?:-?[0-9]+\.[0-9]{2}\n)*"), 5: re.compile(r"(?:-?[0-9]+\.[0-9]{5}\n)*")}


def _wechat_columns(header: list[str], numbers: Sequence[int], rows: list[list[str]]) -> StatementLines:
    def column(name: str) -> list[str]:
        return list(map(_UNTICK, map(itemgetter(header.index(name)), rows))) if name in header else [""] * len(rows)

    paid = _fixed_column(column("应结订单金额"), 2, parse_yuan, numbers)
    refunded = _fixed_column(column("退款金额"), 2, parse_yuan, numbers)
    lines = StatementLines(
        "wechat", kinds=["payment"] * len(rows), txn_ids=column("微信订单号"), out_trade_nos=column("商户订单号"),
        refund_nos=[""] * len(rows), amounts=paid, fees=_fixed_column(column("手续费"), 5, parse_yuan_millifen, numbers),
        ats=_time_column(column("交易时间"), numbers), merchant_ids=set(column("商户号")) - {""})
    refund_nos = column("商户退款单号")
    # refund lines are few: the columns are made for payments, then each refund line is set apart
    for index in compress(count(), map(eq, column("交易状态"), repeat("REFUND"))):
        lines.kinds[index], lines.amounts[index], lines.refund_nos[index] = "refund", refunded[index], refund_nos[index]
    return lines


def _every(shape: re.Pattern, texts: Iterable[str]) -> bool:
    """Whether every text has the shape (a pattern of newline-ended items): one match in C over them
    all joined, instead of a match per text; a text that holds a newline itself fails."""
    texts = list(texts)
    joined = "\n".join(texts) + "\n"
    return not texts or (joined.count("\n") == len(texts) and shape.fullmatch(joined) is not None)


def _fixed_column(texts: list[str], decimals: int, parse: Callable[[str], int], numbers: Sequence[int]) -> list[int]:
    """A column of amounts with exactly ``decimals`` decimals, checked by one regular expression and
    read by ``int`` (a million of them); any other shape goes through the full parser, line by line."""
    if _every(_DECIMALS[decimals], texts):
        return list(map(int, map(_NO_POINT, texts)))
    return [_amount(parse, text, f"line {number}") for text, number in zip(texts, numbers)]


def _time_column(texts: list[str], numbers: Sequence[int]) -> list[datetime]:
    """A day has 86,400 seconds: a million lines share them, and each distinct time is read once
    (into one shared time zone object, which keeps comparing them cheap)."""
    distinct = set(texts)
    if _every(_TIMES, distinct):
        try:
            instants = {text: datetime.fromisoformat(text).replace(tzinfo=BEIJING_OFFSET) for text in distinct}
            return list(map(instants.__getitem__, texts))
        except ValueError:
            pass  # a well-shaped impossible time (month 13): name its line below
    return [_time(text, f"line {number}") for text, number in zip(texts, numbers)]


def _check_wechat_summary(lines: StatementLines, summary: dict[str, str]) -> None:
    if not summary["总交易单数"].isascii() or not summary["总交易单数"].isdigit():
        raise StatementInvalid(f"WeChat statement summary: '{summary['总交易单数'][:40]}' is not a count")
    stated = (int(summary["总交易单数"]), _amount(parse_yuan, summary["应结订单总金额"], "summary"),
              _amount(parse_yuan, summary["退款总金额"], "summary"),
              _amount(parse_yuan_millifen, summary["手续费总金额"], "summary"))
    summed = (len(lines), lines.total("payment"), lines.total("refund"), sum(lines.fees))
    if stated != summed:
        raise StatementInvalid(f"WeChat statement summary ({_totals(*stated)}) does not match its rows ({_totals(*summed)})")


def _totals(count: int, paid_fen: int, refunded_fen: int, fee_millifen: int) -> str:
    return (f"{count} lines, paid {format_yuan(paid_fen)}, refunded {format_yuan(refunded_fen)}, "
            f"fees {format_yuan_millifen(fee_millifen)}")


def parse_alipay_bill(zipped: bytes) -> list[StatementLine]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(zipped))
        names = [name for name in archive.namelist() if name.endswith("_业务明细.csv")]
        if len(names) != 1:
            raise StatementInvalid(f"Alipay statement zip holds {archive.namelist()}, expected one 业务明细 file")
        text = archive.read(names[0]).decode("gbk")
    except (zipfile.BadZipFile, OSError, EOFError):
        raise StatementInvalid("Alipay statement is not a readable zip file") from None
    except UnicodeDecodeError as error:
        raise StatementInvalid(f"Alipay statement is not GBK (byte {error.start})") from None
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip() and not line.startswith("#")]
    rows = [(numbered[index - 1][0], [field.strip() for field in row])
            for index, row in _csv_rows([line for _, line in numbered])]
    merchant_id = _alipay_merchant(text)
    lines = [_alipay_line(row, where, merchant_id) for where, row in _table(rows, ALIPAY_COLUMNS, "Alipay statement")]
    _check_alipay_totals(text, lines)
    return lines


_ALIPAY_ACCOUNT = re.compile(r"^#账号：\[(\d+?)0156\]", re.MULTILINE)  # the seller id, then Alipay's 0156
_ALIPAY_TOTAL = re.compile(r"^#(交易|退款)合计：(\d+)笔", re.MULTILINE)


def _alipay_merchant(text: str) -> str:
    found = _ALIPAY_ACCOUNT.search(text)
    return found.group(1) if found else ""


def _check_alipay_totals(text: str, lines: list[StatementLine]) -> None:
    """The ``#交易合计`` and ``#退款合计`` trailer lines are the file's summary: missing, the file is
    cut short; not matching the rows, it does not add up."""
    stated = {kind: int(count) for kind, count in _ALIPAY_TOTAL.findall(text)}
    if set(stated) != {"交易", "退款"} or "业务明细列表结束" not in text:
        raise StatementInvalid("Alipay statement has no 业务明细列表结束 and 合计 lines at its end: the file is cut short")
    counted = {"交易": sum(line.kind == "payment" for line in lines), "退款": sum(line.kind == "refund" for line in lines)}
    if stated != counted:
        raise StatementInvalid(f"Alipay statement totals ({stated['交易']} payments, {stated['退款']} refunds) "
                               f"do not match its rows ({counted['交易']}, {counted['退款']})")


def _alipay_line(row: dict[str, str], where: str, merchant_id: str) -> StatementLine:
    refund = row["业务类型"] == "退款"
    return StatementLine(
        channel="alipay", kind="refund" if refund else "payment", channel_txn_id=row["支付宝交易号"],
        out_trade_no=row["商户订单号"], amount_fen=abs(_amount(parse_yuan, row["订单金额（元）"], where)),
        fee_millifen=-_amount(parse_yuan_millifen, row["服务费（元）"], where),
        at=_time(row["完成时间"] or row["创建时间"], where), refund_no=row["退款批次号/请求号"] if refund else "",
        merchant_id=merchant_id,
    )
