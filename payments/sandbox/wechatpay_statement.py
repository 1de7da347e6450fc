"""The WeChat Pay daily trade statement (交易账单) as the gateway serves it: a UTF-8 CSV whose
every data field starts with a back-tick (so spreadsheets keep long ids as text), detail rows,
then a summary header and a summary row.

Payment rows are dated by success_time, refund rows by when the refund was started (even if it
has not succeeded yet). The fee (手续费) is 0.60% of the line's amount, exact: written with five
decimals as WeChat Pay does (0.00600 on a 1 元 payment), and it comes back (negative) on a refund
row; the summary's 手续费总金额 is the exact sum.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import date, datetime

from billing.clock import beijing_date, to_beijing
from billing.money import MILLIFEN_PER_FEN, format_yuan, format_yuan_millifen

HEADER = ("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,"
          "应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,"
          "手续费,费率,订单金额,申请退款金额,费率备注").split(",")
SUMMARY_HEADER = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额".split(",")
AMOUNT_COLUMNS = frozenset({"应结订单金额", "代金券金额", "退款金额", "充值券退款金额", "订单金额", "申请退款金额"})
FEE_COLUMN = "手续费"  # in millifen, five decimals
FEE_RATE_TEXT = "0.60%"
FEE_PER_THOUSAND = 6


def fee_millifen(amount_fen: int) -> int:
    """0.60 % of the amount, exact: a fen is 1,000 millifen, so no rounding is ever needed."""
    return amount_fen * MILLIFEN_PER_FEN * FEE_PER_THOUSAND // 1000


def trade_bill_csv(day: date, bill_type: str, transactions: Mapping[str, dict],
                   refunds: Iterable[dict]) -> bytes | None:
    """The statement for ``day`` (Beijing) and ``bill_type`` ALL|SUCCESS|REFUND; None when it has no rows.

    ``transactions`` are the gateway's payment records by transaction_id; ``refunds`` its refund records.
    """
    rows = []
    if bill_type in ("ALL", "SUCCESS"):
        rows += [_payment_row(t) for t in transactions.values()
                 if beijing_date(cleared_at(t)) == day and not t.get("off_statement")]
    if bill_type in ("ALL", "REFUND"):
        rows += [_refund_row(transactions[r["transaction_id"]], r)
                 for r in refunds if beijing_date(r["create_time"]) == day]
    if not rows:
        return None
    rows.sort(key=lambda row: row["交易时间"])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows([_ticked(_cell(row, column) for column in HEADER) for row in rows])
    writer.writerow(SUMMARY_HEADER)
    writer.writerow(_ticked(_summary(rows)))
    return out.getvalue().encode("utf-8")


def cleared_at(txn: dict) -> datetime:
    """When the channel booked the payment on its statement: when it was paid, unless it was
    cleared later (paid in the last seconds of a day, listed on the next day's file)."""
    return txn.get("cleared_time") or txn["success_time"]


def _ticked(cells: Iterable[str]) -> list[str]:
    return [f"`{cell}" for cell in cells]


def _cell(row: dict, column: str) -> str:
    if column == FEE_COLUMN:
        return format_yuan_millifen(row[column])
    return format_yuan(row[column]) if column in AMOUNT_COLUMNS else row[column]


def _summary(rows: list[dict]) -> list[str]:
    def total(column: str) -> str:
        return _cell({column: sum(row[column] for row in rows)}, column)

    return [str(len(rows)), total("应结订单金额"), total("退款金额"), total("充值券退款金额"), total(FEE_COLUMN),
            total("订单金额"), total("申请退款金额")]


def _payment_row(txn: dict) -> dict:
    total = txn["total"]
    return _row(txn, cleared_at(txn), {"交易状态": "SUCCESS", "应结订单金额": total, FEE_COLUMN: fee_millifen(total),
                                           "订单金额": total})


def _refund_row(txn: dict, refund: dict) -> dict:
    amount = refund["refund"]
    return _row(txn, refund["create_time"], {
        "交易状态": "REFUND", "微信退款单号": refund["refund_id"], "商户退款单号": refund["out_refund_no"],
        "退款金额": amount, "退款类型": "ORIGINAL", "退款状态": refund["status"], FEE_COLUMN: -fee_millifen(amount),
        "申请退款金额": amount,
    })


def _row(txn: dict, at, cells: dict) -> dict:
    """A detail row with the payment's own columns; amounts in fen until written."""
    return {
        "交易时间": to_beijing(at).strftime("%Y-%m-%d %H:%M:%S"), "公众账号ID": txn["appid"], "商户号": txn["mchid"],
        "特约商户号": "0", "设备号": "", "微信订单号": txn["transaction_id"], "商户订单号": txn["out_trade_no"],
        "用户标识": txn["openid"], "交易类型": txn["trade_type"], "交易状态": "", "付款银行": "OTHERS", "货币种类": "CNY",
        "应结订单金额": 0, "代金券金额": 0, "微信退款单号": "0", "商户退款单号": "0", "退款金额": 0, "充值券退款金额": 0,
        "退款类型": "", "退款状态": "", "商品名称": txn["description"], "商户数据包": txn["attach"], "手续费": 0,
        "费率": FEE_RATE_TEXT, "订单金额": 0, "申请退款金额": 0, "费率备注": "",
    } | cells
