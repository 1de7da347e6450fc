"""The statement parsers on files as the channels write them (made by the sandboxes' own writers):
WeChat Pay's sub-fen fees are kept exact and checked exactly against the summary; anything a
parser cannot read is refused naming the line, never a crash."""

import io
import zipfile
from datetime import UTC, date, datetime

import pytest

from billing.money import format_yuan_millifen
from payments.sandbox.alipay_bill import PAYMENT, BillEntry, bill_zip
from payments.sandbox.wechatpay_statement import trade_bill_csv
from payments.statements import StatementInvalid, parse_alipay_bill, parse_wechat_tradebill

DAY = date(2026, 11, 27)
PAID_AT = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


def _transaction(n: int, total_fen: int) -> dict:
    return {"transaction_id": f"42000000002026112700000000{n:02d}", "out_trade_no": f"DF20261127ORDER{n:011d}",
            "success_time": PAID_AT, "total": total_fen, "appid": "wx8888888888888888", "mchid": "1900000001",
            "openid": "oPayer", "trade_type": "MWEB", "description": "电费预存", "attach": ""}


def _wechat_bill(*totals_fen: int) -> str:
    transactions = {t["transaction_id"]: t for t in (_transaction(n, total) for n, total in enumerate(totals_fen, 1))}
    return trade_bill_csv(DAY, "ALL", transactions, []).decode()


def test_wechat_sub_fen_fees_are_exact_on_each_line():
    lines = parse_wechat_tradebill(_wechat_bill(100, 1, 2550).encode())
    assert [(line.amount_fen, line.fee_millifen) for line in lines] == [(100, 600), (1, 6), (2550, 15300)]
    assert format_yuan_millifen(sum(line.fee_millifen for line in lines)) == "0.15906"


def _summary_fee_changed(text: str, fee: str) -> str:
    *body, summary = text.rstrip("\r\n").split("\r\n")
    cells = summary.split(",")
    cells[4] = f"`{fee}"
    return "\r\n".join([*body, ",".join(cells)]) + "\r\n"


@pytest.mark.parametrize("stated", ["0.01", "0.00612", "0.00"])
def test_a_summary_fee_total_that_is_not_the_exact_sum_is_refused(stated):
    text = _wechat_bill(100, 1)  # fees 0.00600 + 0.00006 = 0.00606
    assert len(parse_wechat_tradebill(_summary_fee_changed(text, "0.00606").encode())) == 2
    with pytest.raises(StatementInvalid, match=r"fees 0\.00606"):
        parse_wechat_tradebill(_summary_fee_changed(text, stated).encode())


@pytest.mark.parametrize(("spoil", "says"), [
    (lambda text: text.replace("`0.00600", "`0.006001"), "line 2: '0.006001' is not an amount"),
    (lambda text: text.replace("`2026-11-27 10:00:00", "`2026-11-27 25:00:00", 1), "line 2: .* is not a time"),
    (lambda text: text.replace("`2026-11-27 10:00:00", "`2026-11-27 10:00+08", 1), "line 2: .* is not a time"),
    (lambda text: text.replace("`1.00,", "`1.00`,", 1), "line 2: .* is not an amount"),
    (lambda text: text.replace("`1.00,", '"`1.00\n2.00",', 1), r"line 2: '1\.00\s2\.00' is not an amount"),
    (lambda text: text.replace("\r\n", "\r\n\r\n", 1).replace("`1.00,", "`1.00`,", 1), "line 3: .* is not an amount"),
    (lambda text: text.split("\r\n", 1)[0] + "\r\n`x\r\n" + text.split("\r\n", 1)[1], "line 2: 1 fields"),
    (lambda text: "\r\n".join(text.split("\r\n")[:-3]), "no summary"),
    (lambda text: text.replace("手续费,", "fee,", 1), "lacks the columns 手续费"),
    (lambda text: text.replace("\r\n`1,", "\r\n`一,", 1), "'一' is not a count"),
    (lambda text: text.replace("`1.00", '"`1.00' + "x" * 200_000, 1), "not a CSV file"),
    (lambda text: "", "no summary"),
], ids=["six decimals", "bad time", "time with an offset", "bad amount", "newline in an amount", "after a blank line",
        "short row", "no summary", "missing column", "bad count", "200 KB field", "empty"])
def test_unreadable_wechat_statements_are_refused_naming_the_line(spoil, says):
    with pytest.raises(StatementInvalid, match=says):
        parse_wechat_tradebill(spoil(_wechat_bill(100)).encode())


def test_a_wechat_statement_that_is_not_utf8_is_refused():
    with pytest.raises(StatementInvalid, match="not UTF-8"):
        parse_wechat_tradebill(_wechat_bill(100).encode().replace("电费".encode(), "电费".encode("gbk")))


def _alipay_zip(entries: list[BillEntry]) -> bytes:
    return bill_zip("2088000000000001", DAY, entries, exported_at=PAID_AT)[1]


def test_alipay_service_fees_use_the_same_exact_type():
    entry = BillEntry(PAYMENT, "2026112722001400000000000001", "DF20261127ORDER00000000001", "电费", PAID_AT, PAID_AT,
                      "138****0000", 2550)
    (line,) = parse_alipay_bill(_alipay_zip([entry]))
    assert (line.amount_fen, line.fee_millifen) == (2550, 15000)  # Alipay rounds its 服务费 to the fen


@pytest.mark.parametrize(("zipped", "says"), [
    (b"not a zip", "not a readable zip"),
    (b"PK\x03\x04" + b"\x00" * 30, "not a readable zip"),
], ids=["not a zip", "truncated zip"])
def test_unreadable_alipay_statements_are_refused(zipped, says):
    with pytest.raises(StatementInvalid, match=says):
        parse_alipay_bill(zipped)


def test_an_alipay_row_with_a_bad_amount_is_refused_naming_the_line():
    entry = BillEntry(PAYMENT, "2026112722001400000000000001", "DF20261127ORDER00000000001", "电费", PAID_AT, PAID_AT,
                      "138****0000", 2550)
    archive = zipfile.ZipFile(io.BytesIO(_alipay_zip([entry])))
    spoiled = io.BytesIO()
    with zipfile.ZipFile(spoiled, "w") as out:
        for name in archive.namelist():
            data = archive.read(name)
            out.writestr(name, data.replace(b"25.50", b"25.5x", 1) if name.endswith("_业务明细.csv") else data)
    with pytest.raises(StatementInvalid, match=r"line 6: '25.5x' is not an amount"):
        parse_alipay_bill(spoiled.getvalue())
