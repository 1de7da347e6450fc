"""How fast is an AMI read import?  A head-end file of daily freezes: parse, check, insert.

A county's meters (two in three with 峰谷 registers, one in twenty-five with 尖峰平谷, the rest total
only) are put in the database first; the file holds 30 days of their 00:00 freezes, in the
head-end's layout.  ``billing.read_import.import_reads`` imports it: decode, SHA-256, parse and check
every row, look for reads already held, insert (executemany on SQLite, COPY on PostgreSQL), commit.

Baseline, measured in the same run on the same file: decode and ``csv.reader`` over it, then insert
the very rows the import wrote into the same table of a copy of the same database, the raw way
(``sqlite3.executemany`` with the pragmas the app uses, foreign keys on; psycopg COPY on PostgreSQL).
Import and baseline run in turns, three times each, each on a fresh copy; the best of each counts.

    python bench/read_import.py                  # 1,000,000 rows on SQLite
    python bench/read_import.py --quick          # 100,000 rows
    python bench/read_import.py --db postgresql  # a throwaway cluster, or DATABASE_URL (an empty database)
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import migrations  # noqa: E402
from billing.accounts import Meter  # noqa: E402
from billing.db import make_engine  # noqa: E402
from billing.read_file import COLUMNS  # noqa: E402
from billing.read_import import INSERTED, import_reads  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
DAYS = 30
FIRST_DAY = date(2026, 11, 1)
READ_BACK = f"SELECT {', '.join(INSERTED)} FROM meter_read ORDER BY id"
BATCH = ("INSERT INTO read_batch (id, kind, filename, sha256, rows_total, rows_written, rows_duplicate, rows_bad, "
         "imported_by, imported_at, report) VALUES (1, 'ami', 'b', 'b', 0, 0, 0, 0, 'b', '2026-12-01 02:00:00', '')")


def meter_layout(n: int) -> tuple[str, ...]:
    """Which registers meter ``n`` has besides the total."""
    return () if n % 3 == 0 else ("sharp", "peak", "flat", "valley") if n % 25 == 1 else ("peak", "valley")


def add_meters(engine, count: int) -> None:
    rows = [{"meter_no": f"M{3300000000 + n:010d}", "kind": "smart", "role": "customer", "multiplier": 1,
             "tou": bool(meter_layout(n)), "installed_on": date(2025, 1, 1)} for n in range(count)]
    with engine.begin() as connection:
        connection.execute(insert(Meter.__table__), rows)


def write_file(path: Path, meters: int, rows: int) -> None:
    """``rows`` freezes, day by day, every meter each day (the last day may be partial)."""
    rng = random.Random(7)
    registers = [{name: rng.randrange(0, 500_000) for name in meter_layout(n) or ("total",)} for n in range(meters)]
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(COLUMNS) + "\n")
        for written in range(rows):
            n, day = written % meters, FIRST_DAY + timedelta(days=written // meters)
            held = registers[n]
            for name in held:
                held[name] += rng.randrange(0, 800)  # up to 8 kWh a day, in units of 10 Wh
            cells = [held.get(name) for name in ("sharp", "peak", "flat", "valley")]
            total = sum(held.values())
            out.write(f"M{3300000000 + n:010d},{day} 00:00,{total // 100}.{total % 100:02d},"
                      + ",".join("" if cell is None else f"{cell // 100}.{cell % 100:02d}" for cell in cells) + "\n")


def measure_import(url: str, data: bytes) -> tuple[float, int]:
    engine = make_engine(url)
    try:
        started = time.perf_counter()
        result = import_reads(engine, data, filename="bench.csv", imported_by="bench", now=NOW)
        elapsed = time.perf_counter() - started
    finally:
        engine.dispose()
    assert result.outcome == "imported" and result.bad == 0, result.report[:2000]
    return elapsed, result.written


def parse_baseline(data: bytes) -> float:
    started = time.perf_counter()
    for _ in csv.reader(io.StringIO(data.decode("utf-8-sig"))):
        pass
    return time.perf_counter() - started


def sqlite_baseline(url: str, rows: list[tuple]) -> float:
    """The same rows into the same table, raw: one transaction, executemany in the import's chunks."""
    connection = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        connection.execute(f"PRAGMA {pragma}")
    connection.execute(BATCH)
    statement = f"INSERT INTO meter_read ({', '.join(INSERTED)}) VALUES ({', '.join('?' for _ in INSERTED)})"
    started = time.perf_counter()
    connection.execute("BEGIN IMMEDIATE")
    for start in range(0, len(rows), 50_000):
        connection.executemany(statement, rows[start:start + 50_000])
    connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def postgresql_baseline(url: str, rows: list[tuple]) -> float:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text(BATCH))
    raw = engine.raw_connection()
    try:
        started = time.perf_counter()
        with raw.driver_connection.cursor() as cursor:
            with cursor.copy(f"COPY meter_read ({', '.join(INSERTED)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        raw.commit()
        return time.perf_counter() - started
    finally:
        raw.close()
        engine.dispose()


class Databases:
    """A database with the meters, and a fresh copy of it for every measured run."""

    def __init__(self, kind: str, folder: Path, url: str) -> None:
        self.kind, self.folder, self.url = kind, folder, url

    def fresh(self, name: str) -> str:
        if self.kind == "sqlite":
            copy = self.folder / f"{name}.sqlite3"
            shutil.copy(self.folder / "reads.sqlite3", copy)
            return f"sqlite:///{copy}"
        engine = make_engine(self.url)
        with engine.begin() as connection:
            connection.execute(text("TRUNCATE meter_read, read_batch RESTART IDENTITY CASCADE"))
        engine.dispose()
        return self.url


@contextmanager
def prepared(kind: str, folder: Path, meters: int):
    """The migrated database with ``meters`` meters (SQLite: everything in the main file, to copy)."""
    with _server(kind, folder) as url:
        engine = make_engine(url)
        try:
            migrations.upgrade(engine)
            add_meters(engine, meters)
            if kind == "sqlite":
                with engine.connect() as connection:
                    connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            engine.dispose()
        yield Databases(kind, folder, url)


@contextmanager
def _server(kind: str, folder: Path):
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'reads.sqlite3'}"
    elif os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
    else:
        from tests.pg_cluster import throwaway_database

        with throwaway_database("dianfei_bench") as url:
            yield url


def run(kind: str, rows: int, rounds: int, folder: Path) -> dict:
    """Import and baseline in turns, ``rounds`` times each; the best of each is compared (the
    machine is shared: the best run is the one least disturbed)."""
    meters = max(1, rows // DAYS)
    csv_path = folder / "ami.csv"
    write_file(csv_path, meters, rows)
    data = csv_path.read_bytes()
    imports, baselines, inserted = [], [], None
    with prepared(kind, folder, meters) as databases:
        for round_ in range(rounds):
            url = databases.fresh(f"import{round_}")
            seconds, written = measure_import(url, data)
            imports.append(seconds)
            if inserted is None:
                engine = make_engine(url)
                with engine.connect() as connection:
                    inserted = [tuple(row) for row in connection.exec_driver_sql(READ_BACK)]
                engine.dispose()
            url = databases.fresh(f"baseline{round_}")
            baselines.append(parse_baseline(data) + (sqlite_baseline if kind == "sqlite" else postgresql_baseline)(
                url, inserted))
    value, baseline = written / min(imports), written / min(baselines)
    print(f"import:   {written:,} rows in {_seconds(imports)} ({value:,.0f} rows/s at best: decode, parse, check, "
          "insert, commit)")
    print(f"baseline: {written:,} rows in {_seconds(baselines)} ({baseline:,.0f} rows/s at best: decode + csv.reader, "
          f"then raw {'executemany' if kind == 'sqlite' else 'COPY'} of the same rows)")
    return {"bench": "read_import", "value": round(value), "unit": "rows/s", "baseline": round(baseline),
            "baseline_unit": "rows/s", "ratio": round(value / baseline, 2), "n": written, "db": kind}


def _seconds(runs: list[float]) -> str:
    return ", ".join(f"{seconds:.2f}" for seconds in runs) + " s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 rows instead of 1,000,000")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--rounds", type=int, default=3, help="import and baseline this many times each, in turns")
    args = parser.parse_args()
    rows = args.rows or (100_000 if args.quick else 1_000_000)
    with tempfile.TemporaryDirectory(prefix="dianfei-bench-") as folder:
        figure = run(args.db, rows, args.rounds, Path(folder))
    print(json.dumps(figure))


if __name__ == "__main__":
    main()
