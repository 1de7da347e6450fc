"""对账 from statement files written by hand in the channels' published formats: refusals that
write nothing, items across midnight, five-decimal fees, the counter's day from its cash closes."""

import io
import zipfile
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from billing.clock import from_beijing, to_beijing
from billing.db import read_session, unit_of_work
from billing.staff import add_staff
from payments import counter, reconciliation
from payments.checkout import Limits
from payments.gateways.base import PAID, Merchant, PaymentReport
from payments.orders import create_order
from payments.reconciliation import StatementNotYet, StatementRefused
from payments.reconciliation_records import Difference, Statement, StatementEntry
from payments.settlement import settle
from payments.statements import StatementInvalid
from tests.payment_helpers import new_account

WECHAT = Merchant("wechat", "wx8888888888888888", "1900000001")
ALIPAY = Merchant("alipay", "2021000000000001", "2088000000000001")
DAY = datetime(2026, 11, 27).date()
COLUMNS = ("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,"
           "应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,"
           "手续费,费率,订单金额,申请退款金额,费率备注")


def wechat_bill(rows: list[tuple[str, str, str, str]], *, mchid: str = WECHAT.merchant_id, summary: str | None = None) -> bytes:
    """A trade bill as WeChat Pay publishes it: (Beijing time, transaction id, order no, yuan) per payment."""
    lines = [COLUMNS]
    for at, txn, out_trade_no, yuan in rows:
        fee = f"{int(yuan.replace('.', '')) * 6 / 100000:.5f}"  # 0.6 %, five decimals
        lines.append(",".join(f"`{cell}" for cell in (
            at, WECHAT.app_id, mchid, "0", "", txn, out_trade_no, "oUser", "NATIVE", "SUCCESS", "OTHERS", "CNY", yuan,
            "0.00", "0", "0", "0.00", "0.00", "", "", "电费", "", fee, "0.60%", yuan, "0.00", "")))
    paid = sum(int(yuan.replace(".", "")) for *_, yuan in rows)
    fees = sum(int(yuan.replace(".", "")) * 6 for *_, yuan in rows)
    lines.append("总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额")
    lines.append(summary or ",".join(f"`{cell}" for cell in (
        str(len(rows)), f"{paid / 100:.2f}", "0.00", "0.00", f"{fees / 100000:.5f}", f"{paid / 100:.2f}", "0.00")))
    return ("\r\n".join(lines) + "\r\n").encode()


def alipay_bill(rows: list[tuple[str, str, str, str]]) -> bytes:
    """The 业务明细 zip as Alipay publishes it: GBK, ``#`` lines around the table, tab-padded fields."""
    header = ("支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,"
              "商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,"
              "商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注")
    body = [",".join(f"{cell}\t" for cell in (txn, out_trade_no, "交易", "电费", at, at, "", "", "", "", "138****0000", yuan,
                                               yuan, *["0.00"] * 5, "", "0.00", "0.00", "", "-0.01", "0.00", ""))
            for at, txn, out_trade_no, yuan in rows]
    text = "\n".join([
        "#支付宝业务明细查询", f"#账号：[{ALIPAY.merchant_id}0156]", "#-----------------------------------------业务明细列表----",
        header, *body, "#-----------------------------------------业务明细列表结束----",
        f"#交易合计：{len(rows)}笔，商家实收共0.00元，服务费共0.00元", "#退款合计：0笔，商家实收共0.00元，服务费共0.00元"]) + "\n"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(f"{ALIPAY.merchant_id}0156_20261127_业务明细.csv", text.encode("gbk"))
    return out.getvalue()


def booked(engine, clock, merchant: Merchant, txn: str, amount_fen: int, at: datetime) -> str:
    """An order paid and credited on a notification of ``txn`` at ``at``; returns its order number."""
    account = new_account(engine, clock)
    with unit_of_work(engine) as db:
        order = create_order(db, channel=merchant.channel, scene="h5", purpose="prepay", lines=[(account, amount_fen)],
                             description="电费预存", now=at, ttl=timedelta(minutes=30))
        report = PaymentReport(merchant.channel, order.out_trade_no, PAID, amount_fen, merchant.app_id,
                               merchant.merchant_id, channel_txn_id=txn, paid_at=at, source="notify")
        assert settle(db, report, merchant, now=at).outcome == "credited"
        return order.out_trade_no


def beijing(text: str) -> datetime:
    return from_beijing(datetime.fromisoformat(text))


def nothing_written(engine) -> bool:
    with read_session(engine) as db:
        return all(db.execute(select(func.count()).select_from(t)).scalar() == 0
                   for t in (Statement, StatementEntry, Difference))


def test_a_wechat_file_with_five_decimal_fees_is_matched(engine, clock):
    order = booked(engine, clock, WECHAT, "4200000001", 2550, beijing("2026-11-27 12:00:00"))
    data = wechat_bill([("2026-11-27 12:00:01", "4200000001", order, "25.50"),
                        ("2026-11-27 13:00:00", "4200000002", "DF-UNKNOWN", "1.00")])
    result = reconciliation.reconcile(engine, None, "wechat", DAY, merchant=WECHAT, now=clock(), data=data)
    assert (result.lines, result.matched, dict(result.found), result.healed) == (2, 1, {"channel_only": 1}, 0)
    with read_session(engine) as db:
        statement = db.execute(select(Statement)).scalar_one()
        assert (statement.lines, statement.paid_fen, statement.fee_millifen) == (2, 2650, 15300 + 600)  # 0.15300 + 0.00600 元, exact


@pytest.mark.parametrize(("spoil", "says"), [
    (lambda bill: wechat_bill(bill, mchid="1900000999"), "merchant 1900000999's, not ours"),
    (lambda bill: wechat_bill(bill)[:-60], "no summary header and row at its end"),
    (lambda bill: wechat_bill(bill, summary="`1,`99.00,`0.00,`0.00,`0.00600,`99.00,`0.00"), "does not match its rows"),
    (lambda bill: wechat_bill([("2026-11-28 00:00:01", *bill[0][1:])]), "dated 2026-11-28, not 2026-11-27"),
], ids=["another merchant", "truncated", "summary does not add up", "another day"])
def test_a_bad_wechat_file_is_refused_and_nothing_is_written(engine, clock, spoil, says):
    bill = [("2026-11-27 12:00:01", "4200000001", "DF1", "1.00")]
    with pytest.raises((StatementRefused, StatementInvalid), match=says):
        reconciliation.reconcile(engine, None, "wechat", DAY, merchant=WECHAT, now=clock(), data=spoil(bill))
    assert nothing_written(engine)


def test_a_second_different_file_for_a_stored_day_is_refused(engine, clock):
    reconciliation.reconcile(engine, None, "wechat", DAY, merchant=WECHAT, now=clock(),
                             data=wechat_bill([("2026-11-27 12:00:01", "4200000001", "DF1", "1.00")]))
    with pytest.raises(StatementRefused, match="already stored"):
        reconciliation.reconcile(engine, None, "wechat", DAY, merchant=WECHAT, now=clock(),
                                 data=wechat_bill([("2026-11-27 12:00:01", "4200000001", "DF1", "2.00")]))
    with read_session(engine) as db:
        assert db.execute(select(func.count()).select_from(StatementEntry)).scalar() == 1


def test_an_item_across_midnight_is_matched_on_the_next_days_file_and_never_flagged(engine, clock):
    order = booked(engine, clock, WECHAT, "4200000009", 1000, beijing("2026-11-27 23:59:58"))
    first = reconciliation.reconcile(engine, None, "wechat", DAY, merchant=WECHAT, now=clock(), data=b"")
    assert (first.waiting, sum(first.found.values())) == (1, 0)
    next_day = reconciliation.reconcile(engine, None, "wechat", DAY + timedelta(days=1), merchant=WECHAT, now=clock(),
                                        data=wechat_bill([("2026-11-28 00:00:03", "4200000009", order, "10.00")]))
    assert (next_day.matched, sum(next_day.found.values())) == (1, 0)
    rerun = reconciliation.reconcile(engine, None, "wechat", DAY, merchant=WECHAT, now=clock(), data=b"")
    assert (rerun.waiting, sum(rerun.found.values())) == (0, 0)
    with read_session(engine) as db:
        assert db.execute(select(func.count()).select_from(Difference)).scalar() == 0


def test_a_day_first_answered_with_no_statement_takes_the_file_published_later(engine, clock):
    order = booked(engine, clock, WECHAT, "4200000011", 1000, beijing("2026-11-27 12:00:00"))
    empty = reconciliation.reconcile(engine, None, "wechat", DAY, merchant=WECHAT, now=clock(), data=b"")
    assert dict(empty.found) == {"ledger_only": 1}
    late = reconciliation.reconcile(engine, None, "wechat", DAY, merchant=WECHAT, now=clock(),
                                    data=wechat_bill([("2026-11-27 12:00:01", "4200000011", order, "10.00")]))
    assert (late.rerun, late.lines, late.matched) == (False, 1, 1)
    with read_session(engine) as db:
        assert db.execute(select(Statement.lines)).scalar_one() == 1
        # the 短款 of the empty answer stays on record, healed by the file
        assert db.execute(select(Difference.kind, Difference.status)).all() == [("ledger_only", "healed")]


def test_an_item_before_midnight_missing_from_both_days_is_ledger_only_once(engine, clock):
    booked(engine, clock, WECHAT, "4200000010", 1000, beijing("2026-11-27 23:59:58"))
    reconciliation.reconcile(engine, None, "wechat", DAY, merchant=WECHAT, now=clock(), data=b"")
    reconciliation.reconcile(engine, None, "wechat", DAY + timedelta(days=1), merchant=WECHAT, now=clock(), data=b"")
    reconciliation.reconcile(engine, None, "wechat", DAY, merchant=WECHAT, now=clock(), data=b"")
    with read_session(engine) as db:
        assert db.execute(select(Difference.kind, Difference.ref)).all() == [("ledger_only", "4200000010")]


def test_an_alipay_file_by_hand(engine, clock):
    order = booked(engine, clock, ALIPAY, "2026112722001400000001", 10000, beijing("2026-11-27 09:30:00"))
    data = alipay_bill([("2026-11-27 09:30:00", "2026112722001400000001", order, "100.00"),
                        ("2026-11-27 10:30:00", "2026112722001400000002", "DF-OTHER", "5.00")])
    result = reconciliation.reconcile(engine, None, "alipay", DAY, merchant=ALIPAY, now=clock(), data=data)
    assert (result.matched, dict(result.found)) == (1, {"channel_only": 1})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:  # the same file, cut before its trailer
        (name,) = archive.namelist()
        text = archive.read(name).decode("gbk")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(name, text.split("#-----------------------------------------业务明细列表结束")[0].encode("gbk"))
    with pytest.raises(StatementInvalid, match="cut short"):
        reconciliation.reconcile(engine, None, "alipay", DAY + timedelta(days=1), merchant=ALIPAY, now=clock(),
                                 data=out.getvalue())


@pytest.fixture
def cashier(engine):
    with unit_of_work(engine) as db:
        return add_staff(db, username="cashier1", name="张丽", password="pw", roles=["cashier"]).id


def test_the_counters_day_from_its_cash_closes(engine, clock, cashier):
    account = new_account(engine, clock)
    day = to_beijing(clock()).date()
    with unit_of_work(engine) as db:
        counter.take_payment(db, receipt_no=counter.new_receipt_no(clock()), cashier_id=cashier, method="cash",
                             rows=[(account.account_no, "100")], limits=Limits(), now=clock())
    with pytest.raises(StatementNotYet, match="not counted their drawer"):
        reconciliation.reconcile_counter(engine, day, now=clock())
    with unit_of_work(engine) as db:
        counter.close_day(db, cashier_id=cashier, counted_fen=9950, now=clock())  # 0.50 元 short
    result = reconciliation.reconcile_counter(engine, day, now=clock())
    again = reconciliation.reconcile_counter(engine, day, now=clock())
    assert (result.matched, dict(result.found)) == (0, {"ledger_only": 1})
    assert again.rerun and dict(again.found) == {"ledger_only": 1}
    with read_session(engine) as db:
        (difference,) = db.execute(select(Difference)).scalars()
        assert (difference.amount_fen, difference.ref) == (50, f"drawer:{cashier}:{day}")
