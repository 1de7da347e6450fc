"""How fast is 对账?  Statement lines reconciled per second: a WeChat Pay trade bill parsed and
checked, stored with its lines, matched against the orders, channel payments and ledger transfers,
and the differences stored (``payments.reconciliation.reconcile`` as ``dianfei reconcile --file``).

N orders paid and credited are written directly with Core inserts (payment order, channel payment,
its ``pay:wechat:<txn>`` transfer); the bill lists every one of them, in the published format.

Baseline, measured in the same run: ``csv.reader`` over the same file (back-ticks stripped) and a
dict join of its lines against the same channel payment and transfer rows read with one query.

    python bench/reconcile.py            # 1,000,000 lines
    python bench/reconcile.py --quick    # 50,000 lines
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import migrations  # noqa: E402
from bench.bill_run import database  # noqa: E402
from billing.clock import beijing_date, from_beijing, to_beijing  # noqa: E402
from billing.db import bulk_insert, make_engine, timestamp_value  # noqa: E402
from billing.ledger import LedgerAccount, Transfer  # noqa: E402
from payments.gateways.base import Merchant  # noqa: E402
from payments.orders import ChannelPayment, PaymentOrder  # noqa: E402
from payments.reconciliation import reconcile  # noqa: E402
from payments.sandbox.wechatpay_statement import HEADER, SUMMARY_HEADER  # noqa: E402
from sqlalchemy import insert, literal, select  # noqa: E402
from sqlalchemy.orm import configure_mappers  # noqa: E402

MERCHANT = Merchant("wechat", "wx8888888888888888", "1900000001")
BATCH = 50_000


def amount_fen(n: int) -> int:
    return 1_000 + n % 50_000


def txn_id(n: int) -> str:
    return f"42000{n:015d}"


def order_no(n: int) -> str:
    return f"DF20261127{n:016X}"


def paid_at(day, n: int, lines: int) -> datetime:
    """Spread over the day (Beijing), keeping clear of midnight."""
    return from_beijing(datetime.combine(day, datetime.min.time())) + timedelta(seconds=600 + n * 84_000 // lines)


def populate(engine, lines: int, day, now: datetime) -> None:
    with engine.begin() as db:
        db.execute(insert(LedgerAccount.__table__), [
            {"id": 1, "code": "clearing:wechat", "kind": "asset", "debits_fen": 0, "credits_fen": 0},
            {"id": 2, "code": "customer:5500000001", "kind": "liability", "debits_fen": 0, "credits_fen": 0}])
    for first in range(0, lines, BATCH):
        numbers = range(first, min(first + BATCH, lines))
        with engine.begin() as db:
            at = {n: timestamp_value(db, paid_at(day, n, lines)) for n in numbers}
            created = timestamp_value(db, now)
            bulk_insert(db, PaymentOrder.__table__, [
                "id", "out_trade_no", "channel", "scene", "purpose", "amount_fen", "state", "description",
                "channel_txn_id", "created_at", "expires_at", "paid_at"],
                ((n + 1, order_no(n), "wechat", "h5", "prepay", amount_fen(n), "paid", "电费预存", txn_id(n), at[n],
                  at[n], at[n]) for n in numbers))
            bulk_insert(db, ChannelPayment.__table__, [
                "id", "channel", "channel_txn_id", "out_trade_no", "order_id", "amount_fen", "payer", "paid_at", "source",
                "outcome"],
                ((n + 1, "wechat", txn_id(n), order_no(n), n + 1, amount_fen(n), "", at[n], "notify", "credited")
                 for n in numbers))
            bulk_insert(db, Transfer.__table__, [
                "id", "key", "debit_id", "credit_id", "amount_fen", "code", "memo", "posted_at", "business_date"],
                ((n + 1, f"pay:wechat:{txn_id(n)}", 1, 2, amount_fen(n), "payment", order_no(n), created,
                  day.isoformat()) for n in numbers))
    total = sum(amount_fen(n) for n in range(lines))
    with engine.begin() as db:
        db.execute(LedgerAccount.__table__.update().where(LedgerAccount.id == 1).values(debits_fen=total))
        db.execute(LedgerAccount.__table__.update().where(LedgerAccount.id == 2).values(credits_fen=total))


def trade_bill(day, lines: int) -> bytes:
    """The day's bill in WeChat Pay's format: every field back-ticked, fees with five decimals."""
    out = io.StringIO()
    out.write(",".join(HEADER) + "\r\n")
    for n in range(lines):
        fen = amount_fen(n)
        at = to_beijing(paid_at(day, n, lines)).strftime("%Y-%m-%d %H:%M:%S")
        out.write(f"`{at},`{MERCHANT.app_id},`{MERCHANT.merchant_id},`0,`,`{txn_id(n)},`{order_no(n)},`oUser{n % 997},"
                  f"`H5,`SUCCESS,`OTHERS,`CNY,`{fen // 100}.{fen % 100:02d},`0.00,`0,`0,`0.00,`0.00,`,`,`电费,`,"
                  f"`{fen * 6 // 100_000}.{fen * 6 % 100_000:05d},`0.60%,`{fen // 100}.{fen % 100:02d},`0.00,`\r\n")
    paid, fees = sum(amount_fen(n) for n in range(lines)), sum(amount_fen(n) * 6 for n in range(lines))
    out.write(",".join(SUMMARY_HEADER) + "\r\n")
    out.write(f"`{lines},`{paid // 100}.{paid % 100:02d},`0.00,`0.00,`{fees // 100_000}.{fees % 100_000:05d},"
              f"`{paid // 100}.{paid % 100:02d},`0.00\r\n")
    return out.getvalue().encode()


def raw_baseline(engine, data: bytes) -> tuple[float, int]:
    """Seconds for csv parse of the file + a dict join against the same rows; and how many joined."""
    started = time.perf_counter()
    rows = [[field.lstrip("`") for field in row] for row in csv.reader(io.StringIO(data.decode()))]
    payments, transfers = ChannelPayment.__table__, Transfer.__table__
    with engine.connect() as db:
        booked = {txn: (amount, posted) for txn, amount, posted in db.execute(
            select(payments.c.channel_txn_id, payments.c.amount_fen, transfers.c.amount_fen)
            .outerjoin(transfers, transfers.c.key == literal("pay:wechat:") + payments.c.channel_txn_id)
            .where(payments.c.channel == "wechat"))}
    joined = sum(1 for row in rows[1:-2] if row[5] in booked)
    return time.perf_counter() - started, joined


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 lines instead of 1,000,000")
    parser.add_argument("--lines", type=int, default=None)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    lines = args.lines or (50_000 if args.quick else 1_000_000)
    now = datetime.now(UTC)
    day = beijing_date(now) - timedelta(days=2)
    with tempfile.TemporaryDirectory() as folder, database(args.db, Path(folder)) as url:
        engine = make_engine(url)
        migrations.upgrade(engine)
        populate(engine, lines, day, now)
        configure_mappers()  # once per process, like the imports: not the reconciliation's work (populate is Core only)
        data = trade_bill(day, lines)
        base_seconds, joined = raw_baseline(engine, data)
        started = time.perf_counter()
        result = reconcile(engine, None, "wechat", day, merchant=MERCHANT, now=now, data=data)
        seconds = time.perf_counter() - started
        db_name = engine.dialect.name
        engine.dispose()
    assert result.matched == joined == lines, (result, joined)
    print(f"{day}: {lines} lines ({len(data) / 1e6:.1f} MB), matched {result.matched}, differences "
          f"{sum(result.found.values())}; reconciled in {seconds:.2f} s")
    print(f"raw csv parse + dict join of the same file and rows: {base_seconds:.2f} s")
    value, raw = lines / seconds, lines / base_seconds
    print(json.dumps({"bench": "reconcile", "value": round(value), "unit": "lines/s", "baseline": round(raw),
                      "baseline_unit": "lines/s", "ratio": round(value / raw, 4), "n": lines, "db": db_name}))


if __name__ == "__main__":
    main()
