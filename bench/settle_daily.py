"""How fast is the 智能交费 daily settlement?  Prepaid accounts settled per second, freezes in ->
charges, settlement rows, allocations and balance events out.

N prepaid residents are written directly with Core inserts (customer, meter, account, meter span,
customer balance, the 00:00 freezes of the day and the next, and an opening credit: most accounts
hold credit, some sit just above their 30 元 threshold, a few are in arrears).  The timed run is
``billing.daily_settlement.settle_day`` as ``dianfei bills settle-daily`` calls it.

Baseline, measured in the same run: a raw ``sqlite3.executemany`` of as many rows as the run wrote
(transfers, settlement rows, allocations, events), into a table of the same width in a fresh SQLite
file with the app's pragmas.

    python bench/settle_daily.py            # 100,000 accounts
    python bench/settle_daily.py --quick    # 5,000 accounts
    python bench/settle_daily.py --quick --db postgresql   # a throwaway cluster, or DATABASE_URL (an empty database)
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import migrations  # noqa: E402
from bench.bill_run import baseline  # noqa: E402
from bench.read_import import _server  # noqa: E402
from billing.accounts import Account, Customer, District, Meter  # noqa: E402
from billing.bill_records import Allocation  # noqa: E402
from billing.clock import beijing_date  # noqa: E402
from billing.daily_settlement import settle_day  # noqa: E402
from billing.daily_settlement_records import DailySettlement  # noqa: E402
from billing.db import make_engine, read_session  # noqa: E402
from billing.events import Event  # noqa: E402
from billing.ledger import LedgerAccount, Transfer, check_invariants  # noqa: E402
from billing.meters import MeterInstallation  # noqa: E402
from billing.reads import Read  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

WRITTEN = (Transfer, DailySettlement, Allocation, Event)
BATCH = 10_000
OPENED = date(2025, 1, 1)


def populate(engine, accounts: int, day: date, now: datetime) -> None:
    """``accounts`` prepaid residents, each with its freezes of ``day`` and the next day and an opening balance."""
    rng = random.Random(8)
    with engine.begin() as db:
        db.execute(insert(District.__table__), {"id": 1, "code": "TQ-BENCH", "name": "压测台区"})
        db.execute(insert(LedgerAccount.__table__), {"id": 1, "code": "equity:opening", "kind": "equity",
                                                     "debits_fen": 0, "credits_fen": 0})
    for first in range(1, accounts + 1, BATCH):
        numbers = range(first, min(first + BATCH, accounts + 1))
        balances = {n: rng.choice((20_000, 20_000, 20_000, 3_200, 300, -5_000)) for n in numbers}
        with engine.begin() as db:
            db.execute(insert(Customer.__table__), [{"id": n, "name": f"户主{n}", "created_at": now} for n in numbers])
            db.execute(insert(Meter.__table__), [{"id": n, "meter_no": f"B{n:010d}", "kind": "smart", "role": "customer",
                                                  "multiplier": 1, "tou": False, "installed_on": OPENED} for n in numbers])
            db.execute(insert(Account.__table__), [{
                "id": n, "account_no": f"55{n:08d}", "holder_name": f"户主{n}", "customer_id": n, "district_id": 1,
                "meter_id": n, "address": "", "category": "residential", "regime": "prepaid", "status": "active",
                "protected": False, "opened_on": OPENED, "tariff_id": "zj-residential", "balance_low_fen": 3_000,
            } for n in numbers])
            db.execute(insert(MeterInstallation.__table__), [{
                "account_id": n, "meter_id": n, "multiplier": 1, "installed_on": OPENED, "reason": "开户",
                "recorded_at": now} for n in numbers])
            db.execute(insert(LedgerAccount.__table__), [{
                "id": n + 1, "code": f"customer:55{n:08d}", "kind": "liability", "account_id": n,
                "debits_fen": max(0, -balances[n]), "credits_fen": max(0, balances[n])} for n in numbers])
            db.execute(insert(Read.__table__), [{
                "meter_id": n, "read_on": on, "source": "ami", "total_wh": total, "received_at": now}
                for n in numbers for on, total in ((day, 1_000_000 + n), (day + timedelta(days=1), 1_000_000 + n + rng.randint(0, 30_000)))])
            opening = [{"key": f"open:{n}", "debit_id": 1 if balances[n] > 0 else n + 1, "credit_id": n + 1 if balances[n] > 0 else 1,
                        "amount_fen": abs(balances[n]), "code": "opening", "memo": "", "posted_at": now,
                        "business_date": day} for n in numbers]
            db.execute(insert(Transfer.__table__), opening)
    with engine.begin() as db:  # the opening side of every balance; PostgreSQL's sequences past the ids given
        if db.dialect.name == "postgresql":
            for table in ("district", "customer", "meter", "account", "ledger_account"):
                db.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        debits = db.execute(select(func.sum(Transfer.amount_fen)).where(Transfer.debit_id == 1)).scalar() or 0
        credits = db.execute(select(func.sum(Transfer.amount_fen)).where(Transfer.credit_id == 1)).scalar() or 0
        db.execute(LedgerAccount.__table__.update().where(LedgerAccount.id == 1).values(debits_fen=int(debits),
                                                                                         credits_fen=int(credits)))


def counts(engine) -> dict[str, int]:
    with read_session(engine) as db:
        return {model.__tablename__: db.execute(select(func.count()).select_from(model)).scalar() for model in WRITTEN}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 accounts instead of 100,000")
    parser.add_argument("--accounts", type=int, default=None, help="how many prepaid accounts")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    accounts = args.accounts or (5_000 if args.quick else 100_000)
    now = datetime.now(UTC)
    day = beijing_date(now) - timedelta(days=2)
    with tempfile.TemporaryDirectory() as folder, _server(args.db, Path(folder)) as url:
        engine = make_engine(url)
        migrations.upgrade(engine)
        populate(engine, accounts, day, now)
        before = counts(engine)
        started = time.perf_counter()
        result = settle_day(engine, day, now=now)
        seconds = time.perf_counter() - started
        after = counts(engine)
        with read_session(engine) as db:
            assert check_invariants(db) == [], "the ledger does not balance"
        db_name = engine.dialect.name
        engine.dispose()
        rows = sum(after.values()) - sum(before.values())
        raw = baseline(Path(folder), rows)
    print(f"{day}: {result.accounts} prepaid accounts, {result.charged} charged ({result.amount_fen} fen), "
          f"{sum(result.not_charged.values())} not charged, {result.low} low, {result.negative} negative; "
          f"{rows} rows in {seconds:.2f} s")
    print(f"raw sqlite3 executemany of {rows} rows: {raw:,.0f} rows/s")
    value = result.charged / seconds
    print(json.dumps({"bench": "settle_daily", "value": round(value), "unit": "accounts/s", "baseline": round(raw),
                      "baseline_unit": "rows/s", "ratio": round(value / raw, 4), "n": result.charged, "db": db_name}))


if __name__ == "__main__":
    main()
