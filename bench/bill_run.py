"""How fast is the monthly bill run?  Accounts billed per second, reads in -> bills out.

A demo county (14 months of daily reads) is loaded and the month before last billed once, untimed,
so that the timed run of the last whole month issues most bills instead of holding first bills.
The timed run is ``billing.bill_run.run_bills`` as ``dianfei bills run`` calls it: the period's
energy from the reads, pricing, then per account the bill, its lines, its transfer, its allocation,
its ``bill_issued`` event and its run row, committed in chunks.

Baseline, measured in the same run: a raw ``sqlite3.executemany`` of as many rows as the run wrote
(bills, lines, transfers, allocations, events, run rows, review items), into a table of the same
width in a fresh SQLite file with the app's pragmas.

    python bench/bill_run.py            # 20,000 accounts
    python bench/bill_run.py --quick    # 1,000 accounts
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import migrations  # noqa: E402
from billing.bill_run import run_bills  # noqa: E402
from billing.bill_records import Allocation, Bill, BillLine  # noqa: E402
from billing.bill_run_records import BillRunAccount  # noqa: E402
from billing.db import make_engine, read_session  # noqa: E402
from billing.events import Event  # noqa: E402
from billing.ledger import Transfer, check_invariants  # noqa: E402
from billing.review import ReviewItem  # noqa: E402
from demo.county import load_demo_county  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

WRITTEN = (Bill, BillLine, Transfer, Allocation, Event, BillRunAccount, ReviewItem)


def months_back(now: datetime, months: int) -> tuple[int, int]:
    index = now.year * 12 + now.month - 1 - months
    return index // 12, index % 12 + 1


def counts(engine) -> dict[str, int]:
    with read_session(engine) as db:
        return {model.__tablename__: db.execute(select(func.count()).select_from(model)).scalar() for model in WRITTEN}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 accounts instead of 20,000")
    args = parser.parse_args()
    accounts = 1_000 if args.quick else 20_000
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'dianfei.sqlite3'}")
        migrations.upgrade(engine)
        load_demo_county(engine, accounts=accounts, now=now)
        run_bills(engine, months_back(now, 3), now=now)
        before = counts(engine)
        started = time.perf_counter()
        result = run_bills(engine, months_back(now, 2), now=now)
        seconds = time.perf_counter() - started
        after = counts(engine)
        with read_session(engine) as db:
            assert check_invariants(db) == [], "the ledger does not balance"
        engine.dispose()
        rows = sum(after.values()) - sum(before.values())
        raw = baseline(Path(folder), rows)
    billed = result.issued + result.held
    print(f"{result.period}: {result.accounts} post-paid accounts, {result.issued} issued, {result.held} held, "
          f"{sum(result.not_billed.values())} not billed; {rows} rows in {seconds:.2f} s")
    print(f"raw sqlite3 executemany of {rows} rows: {raw:,.0f} rows/s")
    value = billed / seconds
    print(json.dumps({"bench": "bill_run", "value": round(value), "unit": "accounts/s", "baseline": round(raw),
                      "baseline_unit": "rows/s", "ratio": round(value / raw, 4), "n": billed, "db": "sqlite"}))


if __name__ == "__main__":
    main()
