"""How fast does the demo county load?  10,000 户号 with 14 months of daily reads, on SQLite.

Baseline, measured in the same run: raw ``sqlite3.executemany`` of the same number of read rows
into an identical table (same columns, same unique index), with no generation work at all.

    python bench/demo_load.py            # 10,000 accounts (the issue's figure: < 60 s)
    python bench/demo_load.py --quick    # 1,000 accounts, well under a minute
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
from billing.db import make_engine  # noqa: E402
from demo.county import load_demo_county  # noqa: E402

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
CHUNK = 50_000


def measure_demo(folder: Path, accounts: int) -> tuple[float, int]:
    engine = make_engine(f"sqlite:///{folder / 'demo.sqlite3'}")
    migrations.upgrade(engine)
    started = time.perf_counter()
    summary = load_demo_county(engine, accounts=accounts, now=NOW)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed, summary.reads


def measure_raw_inserts(folder: Path, rows: int) -> float:
    """Seconds for raw executemany of ``rows`` read-shaped rows; row building is not timed."""
    connection = sqlite3.connect(folder / "raw.sqlite3", isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(
        "CREATE TABLE meter_read (id INTEGER PRIMARY KEY, meter_id INTEGER NOT NULL, read_on DATE NOT NULL, "
        "source VARCHAR(10) NOT NULL, total_wh BIGINT NOT NULL, sharp_wh BIGINT, peak_wh BIGINT, flat_wh BIGINT, "
        "valley_wh BIGINT, reader_id INTEGER, received_at DATETIME NOT NULL, UNIQUE (meter_id, read_on, source))"
    )
    sql = "INSERT INTO meter_read (meter_id, read_on, source, total_wh, sharp_wh, peak_wh, flat_wh, valley_wh, reader_id, received_at) VALUES (?,?,?,?,?,?,?,?,?,?)"
    days = [f"2025-{m:02d}-{d:02d}" for m in range(1, 13) for d in range(1, 29)]
    received = "2026-11-27 02:00:00.000000"
    elapsed, done = 0.0, 0
    connection.execute("BEGIN")
    while done < rows:
        size = min(CHUNK, rows - done)
        chunk = [(n // len(days), days[n % len(days)], "ami", n * 7, None, n * 4, None, n * 3, None, received)
                 for n in range(done, done + size)]
        started = time.perf_counter()
        connection.executemany(sql, chunk)
        elapsed += time.perf_counter() - started
        done += size
    started = time.perf_counter()
    connection.execute("COMMIT")
    elapsed += time.perf_counter() - started
    connection.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 accounts instead of 10,000")
    parser.add_argument("--accounts", type=int, default=None)
    args = parser.parse_args()
    accounts = args.accounts or (1_000 if args.quick else 10_000)
    with tempfile.TemporaryDirectory() as folder:
        seconds, reads = measure_demo(Path(folder), accounts)
        raw_seconds = measure_raw_inserts(Path(folder), reads)
    value, baseline = reads / seconds, reads / raw_seconds
    print(f"demo load: {accounts} accounts, {reads} reads in {seconds:.1f} s ({value:,.0f} reads/s, all work included)")
    print(f"baseline:  raw sqlite3 executemany of {reads} rows in {raw_seconds:.1f} s ({baseline:,.0f} rows/s, insert only)")
    print(json.dumps({
        "bench": "demo_load", "value": round(value), "unit": "reads/s", "baseline": round(baseline),
        "baseline_unit": "rows/s", "ratio": round(value / baseline, 2), "n": accounts, "db": "sqlite",
        "seconds": round(seconds, 1),
    }))


if __name__ == "__main__":
    main()
