"""Parsers for the channels' daily statement files, in their own formats, into ``StatementLine``s.

WeChat Pay: UTF-8 CSV, every field prefixed with a back-tick, detail rows, then a summary header
and a summary row whose totals we check against the rows.  Alipay: a zip of GBK CSV files whose
detail file (业务明细) wraps its table in ``#`` comment lines and pads fields with tabs.

``fee_fen`` is what the channel charged us on the line: positive on a payment, negative on a
refund (the fee comes back).
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime

from billing.clock import from_beijing
from billing.errors import InvalidAmount
from billing.money import parse_yuan
from payments.errors import PaymentError
from payments.gateways.base import StatementLine

WECHAT_SUMMARY_HEADER = "总交易单数"


class StatementInvalid(PaymentError):
    code = "statement_invalid"


def _time(text: str) -> datetime:
    return from_beijing(datetime.strptime(text, "%Y-%m-%d %H:%M:%S"))


def _yuan(text: str, where: str) -> int:
    try:
        return parse_yuan(text or "0")
    except InvalidAmount:
        raise StatementInvalid(f"{where}: '{text}' is not an amount") from None


def parse_wechat_tradebill(text: str) -> list[StatementLine]:
    rows = [[field.lstrip("`") for field in row] for row in csv.reader(io.StringIO(text)) if row]
    if not rows:
        raise StatementInvalid("empty WeChat statement")
    header, body = rows[0], rows[1:]
    try:
        split = next(n for n, row in enumerate(body) if row[0] == WECHAT_SUMMARY_HEADER)
    except StopIteration:
        raise StatementInvalid("WeChat statement has no summary") from None
    lines = [_wechat_line(dict(zip(header, row)), f"line {n + 2}") for n, row in enumerate(body[:split])]
    summary = dict(zip(body[split], body[split + 1])) if len(body) > split + 1 else {}
    _check_wechat_summary(lines, summary)
    return lines


def _wechat_line(row: dict[str, str], where: str) -> StatementLine:
    refund = row["交易状态"] == "REFUND"
    amount = _yuan(row["退款金额"] if refund else row["应结订单金额"], where)
    return StatementLine(
        channel="wechat", kind="refund" if refund else "payment", channel_txn_id=row["微信订单号"],
        out_trade_no=row["商户订单号"], amount_fen=amount, fee_fen=_yuan(row["手续费"], where),
        at=_time(row["交易时间"]), refund_no=row["商户退款单号"] if refund else "",
    )


def _check_wechat_summary(lines: list[StatementLine], summary: dict[str, str]) -> None:
    if not summary:
        raise StatementInvalid("WeChat statement summary row missing")
    paid = sum(line.amount_fen for line in lines if line.kind == "payment")
    refunded = sum(line.amount_fen for line in lines if line.kind == "refund")
    expected = (int(summary["总交易单数"]), _yuan(summary["应结订单总金额"], "summary"), _yuan(summary["退款总金额"], "summary"))
    if expected != (len(lines), paid, refunded):
        raise StatementInvalid(f"WeChat statement summary {expected} does not match its rows {(len(lines), paid, refunded)}")


def parse_alipay_bill(zipped: bytes) -> list[StatementLine]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(zipped))
    except zipfile.BadZipFile:
        raise StatementInvalid("Alipay statement is not a zip file") from None
    names = [name for name in archive.namelist() if name.endswith("_业务明细.csv")]
    if len(names) != 1:
        raise StatementInvalid(f"Alipay statement zip holds {archive.namelist()}, expected one 业务明细 file")
    text = archive.read(names[0]).decode("gbk")
    table = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    rows = [[field.strip() for field in row] for row in csv.reader(table)]
    header = rows[0]
    return [_alipay_line(dict(zip(header, row)), f"line {n + 2}") for n, row in enumerate(rows[1:])]


def _alipay_line(row: dict[str, str], where: str) -> StatementLine:
    refund = row["业务类型"] == "退款"
    return StatementLine(
        channel="alipay", kind="refund" if refund else "payment", channel_txn_id=row["支付宝交易号"],
        out_trade_no=row["商户订单号"], amount_fen=abs(_yuan(row["订单金额（元）"], where)),
        fee_fen=-_yuan(row["服务费（元）"], where), at=_time(row["完成时间"] or row["创建时间"]),
        refund_no=row["退款批次号/请求号"] if refund else "",
    )
