"""Alipay's daily trade statement (业务明细) as the real gateway serves it.

One zip named ``<seller_id>0156_<YYYYMMDD>.csv.zip`` holding two GBK-encoded CSV files: the detail
(one row per payment and per refund of the day) and the summary. Both start and end with ``#``
comment lines, and every data field is followed by a tab before its comma, as in the real files,
so that a merchant's parser meets the same quirks here as in production.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from billing.clock import beijing_date, to_beijing
from billing.money import format_yuan, round_half_up

PAYMENT, REFUND = "交易", "退款"
FEE_PER_MILLE = 6  # Alipay's 0.60 % service fee on the sandbox merchant's contract
ZERO = "0.00"

DETAIL_HEADER = (
    "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,"
    "商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,"
    "卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注"
)
SUMMARY_HEADER = (
    "门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,商家优惠（元）,"
    "卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）"
)
RULE = "#-----------------------------------------"
DASHES = "----------------------------------------"
TAIL = "------------------------------------"


@dataclass(frozen=True)
class BillEntry:
    """One statement row. ``amount_fen`` is negative for refunds, as Alipay writes it."""

    kind: str  # PAYMENT | REFUND
    trade_no: str
    out_trade_no: str
    subject: str
    created_at: datetime
    finished_at: datetime
    counterparty: str
    amount_fen: int
    request_no: str = ""

    @property
    def fee_fen(self) -> int:
        """Charged on a payment (negative); handed back pro rata on a refund (positive)."""
        return -round_half_up(self.amount_fen * FEE_PER_MILLE, 1000)


def bill_entries(trades: dict[str, dict], refunds: dict[tuple[str, str], dict], day: date) -> list[BillEntry]:
    """The rows of ``day`` (Beijing) from the sandbox's trades and refunds, in completion order."""
    payments = [
        BillEntry(PAYMENT, t["trade_no"], t["out_trade_no"], t["subject"], t["created_at"],
                  t.get("cleared_at") or t["paid_at"], t["buyer_logon_id"], t["amount_fen"])
        for t in trades.values()
        if t["paid_at"] and beijing_date(t.get("cleared_at") or t["paid_at"]) == day and not t.get("off_statement")
    ]
    refunded = [
        BillEntry(REFUND, r["trade_no"], r["out_trade_no"], trades[r["out_trade_no"]]["subject"],
                  trades[r["out_trade_no"]]["created_at"], r["at"], trades[r["out_trade_no"]]["buyer_logon_id"],
                  -r["amount_fen"], r["out_request_no"])
        for r in refunds.values() if beijing_date(r["at"]) == day
    ]
    return sorted(payments + refunded, key=lambda entry: entry.finished_at)


def bill_zip(seller_id: str, day: date, entries: list[BillEntry], *, exported_at: datetime) -> tuple[str, bytes]:
    """(file name, zip bytes) of the statement for ``day`` (a Beijing date)."""
    stem = f"{seller_id}0156_{day:%Y%m%d}"
    buffer = io.BytesIO()
    # The entries are stamped with the export time, not the wall clock (writestr's default): the same
    # day exported at the same time is the same file, byte for byte, however far apart the downloads.
    stamp = to_beijing(exported_at).timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for suffix, text in (("业务明细", detail_csv(seller_id, day, entries, exported_at)),
                             ("业务明细(汇总)", summary_csv(seller_id, day, entries, exported_at))):
            member = zipfile.ZipInfo(f"{stem}_{suffix}.csv", stamp)
            archive.writestr(member, text.encode("gbk", errors="replace"), zipfile.ZIP_DEFLATED)
    return f"{stem}.csv.zip", buffer.getvalue()


def detail_csv(seller_id: str, day: date, entries: list[BillEntry], exported_at: datetime) -> str:
    payments = [e for e in entries if e.kind == PAYMENT]
    refunds = [e for e in entries if e.kind == REFUND]
    lines = [
        "#支付宝业务明细查询",
        *_period(seller_id, day),
        f"{RULE}业务明细列表{DASHES}",
        DETAIL_HEADER,
        *(_detail_row(entry) for entry in entries),
        f"{RULE}业务明细列表结束{TAIL}",
        f"#交易合计：{_totals(payments)}",
        f"#退款合计：{_totals(refunds)}",
        f"#导出时间：[{_chinese(exported_at)}]",
    ]
    return "\n".join(lines) + "\n"


def summary_csv(seller_id: str, day: date, entries: list[BillEntry], exported_at: datetime) -> str:
    amount = sum(e.amount_fen for e in entries)
    fee = sum(e.fee_fen for e in entries)
    counts = [str(sum(e.kind == kind for e in entries)) for kind in (PAYMENT, REFUND)]
    figures = [*counts, format_yuan(amount), format_yuan(amount), ZERO, ZERO, ZERO, format_yuan(fee), ZERO,
               format_yuan(amount + fee)]
    lines = [
        "#支付宝业务汇总查询",
        *_period(seller_id, day),
        f"{RULE}业务汇总列表{DASHES}",
        SUMMARY_HEADER,
        _row(["", "", *figures]),  # the one (unnamed) store of a merchant without stores
        _row(["合计", "", *figures]),
        f"{RULE}业务汇总列表结束{TAIL}",
        f"#导出时间：[{_chinese(exported_at)}]",
    ]
    return "\n".join(lines) + "\n"


def _period(seller_id: str, day: date) -> list[str]:
    start = datetime(day.year, day.month, day.day)
    return [
        f"#账号：[{seller_id}0156]",
        f"#起始日期：[{_chinese(start)}]   终止日期：[{_chinese(start + timedelta(days=1))}]",
    ]


def _detail_row(entry: BillEntry) -> str:
    amount = format_yuan(entry.amount_fen)
    return _row([
        entry.trade_no, entry.out_trade_no, entry.kind, entry.subject, _plain(entry.created_at),
        _plain(entry.finished_at), "", "", "", "", entry.counterparty, amount, amount, ZERO, ZERO, ZERO, ZERO, ZERO,
        "", ZERO, ZERO, entry.request_no, format_yuan(entry.fee_fen), ZERO, "",
    ])


def _totals(entries: list[BillEntry]) -> str:
    received = format_yuan(sum(e.amount_fen for e in entries))
    fee = format_yuan(sum(e.fee_fen for e in entries))
    return f"{len(entries)}笔，商家实收共{received}元，服务费共{fee}元"


def _row(fields: list[str]) -> str:
    return ",".join(f"{field}\t" for field in fields)


def _plain(instant: datetime) -> str:
    return to_beijing(instant).strftime("%Y-%m-%d %H:%M:%S")


def _chinese(moment: datetime) -> str:
    """``2026年11月27日 00:00:00``; aware instants are shown in Beijing time, naive ones are already local."""
    local = to_beijing(moment) if moment.tzinfo else moment
    return f"{local.year}年{local.month:02d}月{local.day:02d}日 {local:%H:%M:%S}"
