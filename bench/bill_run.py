"""How fast is the monthly bill run?  Accounts billed per second, reads in -> bills out.

N post-paid accounts are generated straight into the tables with bulk inserts (the demo county is
far too slow to build a million): a meter, its installation, a customer balance and 00:00 freezes on
1 January and on the 1st of the three months around the billed one; a fifth hold prepaid credit
(an opening transfer), a tenth are non-residential.  Each account uses the same kWh every month,
from a few hundred shapes (so the quote cache is warm, as it is for a real county, where most
residents share a tariff and a usage shape).  The month before is billed first, untimed, so that
the timed run of the month is nobody's first bill and issues: per account a bill, its lines, its
``bill:<id>`` transfer (with the ledger's cached totals), the allocation of the credit on the
balance, a ``bill_issued`` event and a run row, committed in chunks.  That is
``billing.bill_run.run_bills`` as ``dianfei bills run`` calls it.

Baseline, measured in the same run: a raw ``sqlite3.executemany`` of as many rows as the timed
run wrote, into a table of the same width in a fresh SQLite file with the app's pragmas.

    python bench/bill_run.py                       # 1,000,000 accounts on SQLite
    python bench/bill_run.py --quick               # 50,000 accounts
    python bench/bill_run.py --quick --db postgresql   # on a throwaway PostgreSQL cluster
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import migrations  # noqa: E402
from billing.accounts import Account, Customer, District, Meter  # noqa: E402
from billing.bill_records import Allocation, Bill, BillLine  # noqa: E402
from billing.bill_run import run_bills  # noqa: E402
from billing.bill_run_records import BillRunAccount  # noqa: E402
from billing.clock import beijing_date  # noqa: E402
from billing.db import bulk_insert, make_engine, read_session, timestamp_value, unit_of_work  # noqa: E402
from billing.events import Event  # noqa: E402
from billing.ledger import LedgerAccount, Transfer, account_ids, check_invariants  # noqa: E402
from billing.meters import MeterInstallation  # noqa: E402
from billing.reads import Read  # noqa: E402
from billing.review import ReviewItem  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

WRITTEN = (Bill, BillLine, Transfer, Allocation, Event, BillRunAccount, ReviewItem)
SHAPES = 600  # distinct monthly uses, in whole kWh
PER_DISTRICT = 5_000
OPENING = "equity:opening"


def add_months(day: date, months: int) -> date:
    """The 1st of the month ``months`` after ``day``'s."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def counts(engine) -> dict[str, int]:
    with read_session(engine) as db:
        return {model.__tablename__: db.execute(select(func.count()).select_from(model)).scalar() for model in WRITTEN}


def generate(engine, accounts: int, month: date, now: datetime) -> None:
    """``accounts`` post-paid accounts with freezes around ``month``, written by bulk inserts."""
    first = add_months(month, -1)  # billed untimed before
    days = sorted({date(first.year, 1, 1), date(month.year, 1, 1), first, month, add_months(month, 1)})
    opened = date(first.year - 1, 1, 1)
    with unit_of_work(engine) as db:
        (opening_id,) = account_ids(db, [OPENING]).values()
        connection = db.connection()
        at = timestamp_value(connection, now)
        bulk_insert(connection, District.__table__, ["id", "code", "name"],
                    [(d + 1, f"B{d:05d}", f"台区 {d}") for d in range(-(-accounts // PER_DISTRICT))])
        bulk_insert(connection, Customer.__table__, ["id", "name", "phone", "created_at"],
                    [(n, "李小荣", None, at) for n in range(1, accounts + 1)])
        bulk_insert(connection, Meter.__table__, ["id", "meter_no", "kind", "role", "multiplier", "tou", "installed_on"],
                    [(n, f"B{n:010d}", "smart", "customer", 1, False, opened.isoformat()) for n in range(1, accounts + 1)])
        bulk_insert(connection, Account.__table__, [
            "id", "account_no", "holder_name", "customer_id", "district_id", "meter_id", "address", "category",
            "tariff_id", "regime", "status", "protected", "opened_on"], [
            (n, f"{n:010d}", "李小荣", n, (n - 1) // PER_DISTRICT + 1, n, "", *_category(n), "postpaid", "active", False,
             opened.isoformat()) for n in range(1, accounts + 1)])
        bulk_insert(connection, MeterInstallation.__table__, [
            "id", "account_id", "meter_id", "multiplier", "installed_on", "reason", "recorded_at"],
            [(n, n, n, 1, opened.isoformat(), "开户", at) for n in range(1, accounts + 1)])
        for day in days:
            bulk_insert(connection, Read.__table__, ["meter_id", "read_on", "source", "total_wh", "received_at",
                                                     "status", "note"],
                        [(n, day.isoformat(), "ami", _register(n, day), at, "valid", "") for n in range(1, accounts + 1)])
        credited = {n: 10_000 + n * 37 % 40_000 for n in range(1, accounts + 1) if n % 5 == 0}
        bulk_insert(connection, LedgerAccount.__table__, ["id", "code", "kind", "account_id", "debits_fen", "credits_fen"],
                    [(opening_id + n, f"customer:{n:010d}", "liability", n, 0, credited.get(n, 0))
                     for n in range(1, accounts + 1)])
        bulk_insert(connection, Transfer.__table__, ["key", "debit_id", "credit_id", "amount_fen", "code", "memo",
                                                     "posted_at", "business_date"],
                    [(f"opening:{n:010d}", opening_id, opening_id + n, fen, "opening", "", at,
                      beijing_date(now).isoformat()) for n, fen in credited.items()])
        opening = LedgerAccount.__table__
        connection.execute(opening.update().where(opening.c.id == opening_id).values(debits_fen=sum(credited.values())))
    if engine.dialect.name == "postgresql":  # ids given above: move the sequences past them
        with engine.begin() as connection:
            for table in ("district", "customer", "meter", "account", "meter_installation", "ledger_account"):
                connection.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                           f"(SELECT max(id) FROM {table}))")
            connection.exec_driver_sql("ANALYZE")


def _category(n: int) -> tuple[str, str]:
    return ("non_residential", "zj-commercial") if n % 10 == 0 else ("residential", "zj-residential")


def _register(n: int, day: date) -> int:
    """The 00:00 freeze of account ``n`` on ``day``: the same whole kWh every month since 1 January."""
    monthly_wh = (50 + n * 7919 % SHAPES) * 1000
    return 1_000_000 + monthly_wh * (day.year * 12 + day.month - 2025 * 12)


def baseline(folder: Path, rows: int) -> float:
    """Rows per second of a raw executemany of ``rows`` eight-column rows, committed once."""
    connection = sqlite3.connect(folder / "baseline.sqlite3", isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER, c TEXT, d TEXT, e INTEGER,"
                       " f INTEGER, g TEXT)")
    data = [(n, n % 977, n * 7, "2026-10-01", "2026-10-31", n * 13, 0, "issued") for n in range(rows)]
    started = time.perf_counter()
    connection.execute("BEGIN")
    connection.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?)", data)
    connection.execute("COMMIT")
    seconds = time.perf_counter() - started
    connection.close()
    return rows / seconds


@contextmanager
def database(kind: str, folder: Path):
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'dianfei.sqlite3'}"
        return
    from tests.pg_cluster import throwaway_database

    with throwaway_database("bench_bill_run") as url:
        yield url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 accounts instead of 1,000,000")
    parser.add_argument("--accounts", type=int, help="how many accounts (overrides --quick)")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--chunk", type=int, default=None, help="accounts per transaction (default: the run's)")
    args = parser.parse_args()
    accounts = args.accounts or (50_000 if args.quick else 1_000_000)
    now = datetime.now(UTC)
    month = add_months(beijing_date(now), -2)
    options = {"chunk": args.chunk} if args.chunk else {}
    with tempfile.TemporaryDirectory() as folder, database(args.db, Path(folder)) as url:
        engine = make_engine(url)
        migrations.upgrade(engine)
        started = time.perf_counter()
        generate(engine, accounts, month, now)
        before_month = add_months(month, -1)
        run_bills(engine, (before_month.year, before_month.month), now=now, **options)
        print(f"generated {accounts:,} accounts and billed {before_month:%Y-%m} untimed in "
              f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
        before = counts(engine)
        started = time.perf_counter()
        result = run_bills(engine, (month.year, month.month), now=now, **options)
        seconds = time.perf_counter() - started
        after = counts(engine)
        with read_session(engine) as db:
            assert check_invariants(db) == [], "the ledger does not balance"
        engine.dispose()
        rows = sum(after.values()) - sum(before.values())
        raw = baseline(Path(folder), rows)
    billed = result.issued + result.held
    written = ", ".join(f"{after[name] - before[name]:,} {name}" for name in after)
    print(f"{result.period} on {args.db}: {result.accounts:,} post-paid accounts, {result.issued:,} issued, "
          f"{result.held:,} held, {sum(result.not_billed.values())} not billed in {seconds:.2f} s; {written}")
    value = billed / seconds
    print(f"bill run: {value:,.0f} accounts/s ({rows / seconds:,.0f} rows/s); "
          f"raw sqlite3 executemany of {rows:,} rows: {raw:,.0f} rows/s")
    print(json.dumps({"bench": "bill_run", "value": round(value), "unit": "accounts/s", "baseline": round(raw),
                      "baseline_unit": "rows/s", "ratio": round(value / raw, 4), "n": billed, "db": args.db}))


if __name__ == "__main__":
    main()
