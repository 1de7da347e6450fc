"""How fast are the read checks over a whole county-day?  The demo county (10,000 户号, with its
trouble) on SQLite: ``check_reads`` of one day for every meter, then of a month, then the line loss
of a month.

Baseline, measured in the same run on the same file: raw ``sqlite3`` fetching the rows the check
reads (every valid read of the look-back window and the day), with no rule evaluated at all.

    python bench/read_checks.py            # 10,000 accounts
    python bench/read_checks.py --quick    # 1,000 accounts, well under a minute
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import migrations  # noqa: E402
from billing.db import make_engine, unit_of_work  # noqa: E402
from billing.line_loss import compute_loss  # noqa: E402
from billing.read_rules import ReadRules, check_reads  # noqa: E402
from demo.county import load_demo_county  # noqa: E402

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
DAY = NOW.date() - timedelta(days=1)  # the last demo read day: the county-day checked
RULES = ReadRules()


def timed(engine, work) -> tuple[float, object]:
    """Seconds for ``work(session)``, rolled back so every measurement sees the same data."""
    with unit_of_work(engine) as session:
        started = time.perf_counter()
        result = work(session)
        elapsed = time.perf_counter() - started
        session.rollback()
    return elapsed, result


def raw_fetch(path: Path, since, last) -> tuple[float, int]:
    connection = sqlite3.connect(path)
    started = time.perf_counter()
    rows = connection.execute(
        "SELECT id, meter_id, read_on, total_wh, sharp_wh, peak_wh, flat_wh, valley_wh, source FROM meter_read "
        "WHERE status = 'valid' AND read_on BETWEEN ? AND ? ORDER BY meter_id, read_on",
        (since.isoformat(), last.isoformat())).fetchall()
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed, len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 accounts instead of 10,000")
    parser.add_argument("--accounts", type=int, default=None)
    args = parser.parse_args()
    accounts = args.accounts or (1_000 if args.quick else 10_000)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "county.sqlite3"
        engine = make_engine(f"sqlite:///{path}")
        migrations.upgrade(engine)
        load_demo_county(engine, accounts=accounts, now=NOW)
        day_seconds, found = timed(engine, lambda s: check_reads(s, rules=RULES, first=DAY, last=DAY, now=NOW))
        month_seconds, _ = timed(engine, lambda s: check_reads(s, rules=RULES, first=DAY - timedelta(days=29),
                                                                last=DAY, now=NOW))
        loss_seconds, loss = timed(engine, lambda s: compute_loss(s, first=DAY - timedelta(days=30), last=DAY - timedelta(days=1),
                                                                  now=NOW, high_percent=RULES.loss_high_percent))
        engine.dispose()
        raw_seconds, rows = raw_fetch(path, RULES.since(DAY), DAY)
    value, baseline = rows / day_seconds, rows / raw_seconds
    print(f"county-day check: {accounts} accounts in {day_seconds:.2f} s ({accounts / day_seconds:,.0f} accounts/s, "
          f"{rows} reads of the look-back window, {value:,.0f} reads/s); found {found}")
    print(f"30 days checked in {month_seconds:.2f} s; line loss of 30 days and a month in {loss_seconds:.2f} s "
          f"({loss['figures']} figures)")
    print(f"baseline: raw sqlite3 fetch of the same {rows} rows in {raw_seconds:.2f} s ({baseline:,.0f} rows/s)")
    print(json.dumps({
        "bench": "read_checks", "value": round(value), "unit": "reads/s", "baseline": round(baseline),
        "baseline_unit": "rows/s", "ratio": round(value / baseline, 3), "n": accounts, "db": "sqlite",
        "seconds": round(day_seconds, 2), "accounts_per_s": round(accounts / day_seconds),
    }))


if __name__ == "__main__":
    main()
