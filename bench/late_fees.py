"""What does posting late fees add to a bill run?  Accounts per second through ``post_late_fees``.

N accounts each get a 300 元 bill due in 20 days; nine in ten pay it on time, one in ten does not.
Thirty days later ``post_late_fees`` runs over all accounts in chunks of 1,000, as the bill run calls
it, one transaction per chunk: every overdue bill gets a fee bill (its line, transfer, allocation,
event and posting row).  Timed twice: the first pass posts, the second finds nothing left to post
(the cost a run pays when fees are up to date).

Baseline, measured in the same run: a raw ``sqlite3.executemany`` of as many rows as the first pass
wrote (``bench.bill_run.baseline``).

    python bench/late_fees.py            # 20,000 accounts
    python bench/late_fees.py --quick    # 2,000 accounts
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
from billing import allocation, bills, ledger  # noqa: E402
from billing.accounts import Customer, District, Meter, open_account  # noqa: E402
from billing.bill_records import Allocation, Bill, BillLine  # noqa: E402
from billing.clock import beijing_date  # noqa: E402
from billing.db import make_engine, read_session, unit_of_work  # noqa: E402
from billing.events import Event  # noqa: E402
from billing.late_fee_posting import LateFeePosting, post_late_fees  # noqa: E402
from billing.ledger import Posting, Transfer, check_invariants  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

WRITTEN = (Bill, BillLine, Transfer, Allocation, Event, LateFeePosting)
CHUNK = 1_000
BILL_FEN = 30_000


def counts(engine) -> int:
    with read_session(engine) as db:
        return sum(db.execute(select(func.count()).select_from(model)).scalar() for model in WRITTEN)


def billed_accounts(engine, n: int, now: datetime) -> list[int]:
    """``n`` accounts with a bill due in 20 days; all but every tenth paid on the day."""
    ids = []
    with unit_of_work(engine) as db:
        district = District(code="TQ-BENCH", name="测速台区")
        db.add(district)
        db.flush()
        for index in range(n):
            meter = Meter(meter_no=f"B{index:010d}", installed_on=beijing_date(now))
            customer = Customer(name="测试", phone="13700000000", created_at=now)
            db.add_all([meter, customer])
            db.flush()
            account = open_account(db, account_no=f"{3_400_000_000 + index}", holder_name="测试", customer=customer,
                                   district=district, meter=meter, opened_on=beijing_date(now))
            draft = bills.Draft(account.id, datetime(2026, 10, 1).date(), datetime(2026, 10, 31).date(),
                                beijing_date(now) + timedelta(days=20),
                                (bills.Line("energy", "bill.line.energy", BILL_FEN),))
            bills.create(db, draft, now=now)
            if index % 10:
                allocation.post(db, Posting(f"pay:bench:{index}", "clearing:counter",
                                            ledger.customer_code(account.account_no), BILL_FEN, "payment"), at=now)
            ids.append(account.id)
    return ids


def timed_pass(engine, ids: list[int], now: datetime) -> tuple[float, int]:
    started, posted = time.perf_counter(), 0
    for start in range(0, len(ids), CHUNK):
        with unit_of_work(engine) as db:
            posted += sum(accrual.unposted_fen
                          for accrual in post_late_fees(db, ids[start:start + CHUNK], on=beijing_date(now), now=now))
    return time.perf_counter() - started, posted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 accounts instead of 20,000")
    args = parser.parse_args()
    n = 2_000 if args.quick else 20_000
    issued = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'dianfei.sqlite3'}")
        migrations.upgrade(engine)
        ids = billed_accounts(engine, n, issued)
        later = issued + timedelta(days=30)
        before = counts(engine)
        first, posted = timed_pass(engine, ids, later)
        rows = counts(engine) - before
        second, again = timed_pass(engine, ids, later)
        with read_session(engine) as db:
            assert check_invariants(db) == [], "the ledger does not balance"
        engine.dispose()
        raw = baseline(Path(folder), rows)
    assert again == 0, "the second pass posted again"
    print(f"{n} accounts, {n // 10} overdue: first pass posted {posted} fen in {rows} rows, {first:.2f} s "
          f"({n / first:,.0f} accounts/s); second pass posted nothing in {second:.2f} s ({n / second:,.0f} accounts/s)")
    print(f"raw sqlite3 executemany of {rows} rows: {raw:,.0f} rows/s")
    value = n / first
    print(json.dumps({"bench": "late_fees", "value": round(value), "unit": "accounts/s", "baseline": round(raw),
                      "baseline_unit": "rows/s", "ratio": round(value / raw, 4), "n": n, "db": "sqlite",
                      "up_to_date_accounts_per_s": round(n / second)}))


if __name__ == "__main__":
    main()
