"""What does a dunning pass cost when it has nothing new to do?  Accounts per second through
``dunning.run`` on a day whose steps were taken by an earlier pass (cron runs it every 15 minutes,
so nearly every pass is such a pass).

N post-paid accounts each owe a 300 元 bill that fell due 35 days ago.  The first pass of the day
sends N overdue reminders and N written disconnection notices; the passes after it find every step
taken already.  Timed: the first pass, then the mean of three passes after it.

Baseline, measured in the same run: a raw ``sqlite3.executemany`` of as many rows as the first pass
wrote (``bench.bill_run.baseline``).

    python bench/dunning.py            # 5,000 accounts
    python bench/dunning.py --quick    # 2,000 accounts
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import migrations  # noqa: E402
from bench.bill_run import baseline  # noqa: E402
from billing import bills, dunning  # noqa: E402
from billing.accounts import Customer, District, Meter, open_account  # noqa: E402
from billing.clock import beijing_date  # noqa: E402
from billing.db import make_engine, read_session, unit_of_work  # noqa: E402
from billing.dunning_records import DunningStep  # noqa: E402
from billing.events import Event  # noqa: E402
from sqlalchemy import event, func, select  # noqa: E402

BILL_FEN = 30_000
AGAIN = 3


def debtors(engine, n: int, now: datetime) -> None:
    """``n`` accounts with a bill due 35 days before ``now``, unpaid."""
    with unit_of_work(engine) as db:
        district = District(code="TQ-BENCH", name="测速台区")
        db.add(district)
        db.flush()
        for index in range(n):
            meter = Meter(meter_no=f"D{index:010d}", installed_on=beijing_date(now) - timedelta(days=90))
            customer = Customer(name="测试", phone="13700000000", created_at=now)
            db.add_all([meter, customer])
            db.flush()
            account = open_account(db, account_no=f"{3_500_000_000 + index}", holder_name="测试", customer=customer,
                                   district=district, meter=meter, opened_on=beijing_date(now) - timedelta(days=90))
            due = beijing_date(now) - timedelta(days=35)
            bills.create(db, bills.Draft(account.id, due - timedelta(days=45), due - timedelta(days=15), due,
                                         (bills.Line("energy", "bill.line.energy", BILL_FEN),)),
                         now=now - timedelta(days=50))


def rows_written(engine) -> int:
    with read_session(engine) as db:
        return sum(db.execute(select(func.count()).select_from(model)).scalar() for model in (DunningStep, Event))


def timed(engine, now: datetime) -> tuple[float, dict, int]:
    """Seconds, the steps taken, and the SQL statements the pass sent."""
    sent = []
    listener = lambda *args: sent.append(1)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    started = time.perf_counter()
    taken = dunning.run(engine, on=beijing_date(now), now=now)
    elapsed = time.perf_counter() - started
    event.remove(engine, "before_cursor_execute", listener)
    return elapsed, dict(taken), len(sent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 accounts instead of 5,000")
    args = parser.parse_args()
    n = 2_000 if args.quick else 5_000
    now = datetime(2027, 1, 5, 1, 0, tzinfo=UTC)  # 09:00 in Beijing, a Tuesday
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'dianfei.sqlite3'}")
        migrations.upgrade(engine)
        debtors(engine, n, now)
        before = rows_written(engine)
        first, taken, _ = timed(engine, now)
        rows = rows_written(engine) - before
        again = [timed(engine, now + timedelta(minutes=15 * (k + 1))) for k in range(AGAIN)]
        engine.dispose()
        raw = baseline(Path(folder), rows)
    assert all(not steps for _, steps, _ in again), f"a later pass took steps again: {again}"
    later = sum(seconds for seconds, _, _ in again) / AGAIN
    statements = again[-1][2]
    print(f"{n} accounts 35 days overdue: first pass took {taken} in {first:.2f} s ({n / first:,.0f} accounts/s); "
          f"a pass with nothing new: {later:.3f} s ({n / later:,.0f} accounts/s, mean of {AGAIN}), "
          f"{statements} SQL statements")
    print(f"raw sqlite3 executemany of {rows} rows: {raw:,.0f} rows/s")
    value = n / later
    print(json.dumps({"bench": "dunning", "value": round(value), "unit": "accounts/s", "baseline": round(raw),
                      "baseline_unit": "rows/s", "ratio": round(value / raw, 4), "n": n, "db": "sqlite",
                      "first_pass_accounts_per_s": round(n / first), "statements_per_idle_pass": statements}))


if __name__ == "__main__":
    main()
