"""How fast is a resident's usage chart?  The data behind the daily chart of one 户号 over a year
of daily reads (365 days with the 峰谷 split), the monthly chart (14 months beside last year) and
the home page's summary of a 户号, in a demo county on SQLite.  The issue asks for the year of
daily reads in under 20 ms.

Baseline, measured in the same run on the same file: raw ``sqlite3`` fetching the same year of
reads of that meter (no delta, no split, no dataclass).

    python bench/usage.py            # 400 accounts, 200 rounds
    python bench/usage.py --quick    # 100 accounts, 50 rounds
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import migrations  # noqa: E402
from billing import usage  # noqa: E402
from billing.account_summary import account_summary  # noqa: E402
from billing.accounts import Account  # noqa: E402
from billing.db import make_engine, read_session  # noqa: E402
from billing.residents import Binding  # noqa: E402
from demo.county import load_demo_county  # noqa: E402

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
ON = NOW.date()


def milliseconds(work, rounds: int) -> list[float]:
    work()  # warm: compiled statements, tariffs
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return times


def raw_year(path: Path, meter_id: int, rounds: int) -> list[float]:
    connection = sqlite3.connect(path)

    def fetch():
        return connection.execute(
            "SELECT read_on, total_wh, sharp_wh, peak_wh, flat_wh, valley_wh FROM meter_read "
            "WHERE meter_id = ? AND status = 'valid' AND read_on BETWEEN ? AND ? ORDER BY read_on",
            (meter_id, (ON - timedelta(days=365)).isoformat(), ON.isoformat())).fetchall()

    try:
        return milliseconds(fetch, rounds)
    finally:
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 accounts and 50 rounds")
    args = parser.parse_args()
    accounts, rounds = (100, 50) if args.quick else (400, 200)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "county.sqlite3"
        engine = make_engine(f"sqlite:///{path}")
        migrations.upgrade(engine)
        load_demo_county(engine, accounts=accounts, now=NOW)
        with read_session(engine) as db:
            account, resident_id = db.exec(
                Account.__table__.select().with_only_columns(Account.id, Binding.resident_id)
                .join(Binding, Binding.account_id == Account.id).order_by(Account.id).limit(1)).one()
            meter_id, account_no = db.get(Account, account).meter_id, db.get(Account, account).account_no
            daily = milliseconds(lambda: usage.daily_usage(db, account, on=ON, days=365), rounds)
            periods = len(usage.daily_usage(db, account, on=ON, days=365).periods)
            monthly = milliseconds(lambda: usage.monthly_usage(db, account, on=ON), rounds)
            summary = milliseconds(lambda: account_summary(db, resident_id, account_no, on=ON), rounds)
        engine.dispose()
        raw = raw_year(path, meter_id, rounds)
    value, baseline = statistics.median(daily), statistics.median(raw)
    p99 = sorted(daily)[int(len(daily) * 0.99) - 1]
    print(f"a year of daily use ({periods} days with the 峰谷 split): median {value:.2f} ms, p99 {p99:.2f} ms "
          f"(the issue asks < 20 ms)")
    print(f"14 months beside last year: median {statistics.median(monthly):.2f} ms; "
          f"a 户号's home-page summary: median {statistics.median(summary):.2f} ms")
    print(f"baseline: raw sqlite3 fetch of the same year of reads, median {baseline:.2f} ms")
    print(json.dumps({
        "bench": "usage", "value": round(value, 2), "unit": "ms/year of daily use", "baseline": round(baseline, 2),
        "baseline_unit": "ms/raw fetch", "ratio": round(value / baseline, 2), "n": periods, "db": "sqlite",
        "p99_ms": round(p99, 2), "monthly_ms": round(statistics.median(monthly), 2),
        "summary_ms": round(statistics.median(summary), 2),
    }))


if __name__ == "__main__":
    main()
