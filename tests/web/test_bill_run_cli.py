"""``dianfei bills run`` as an operator runs it on the demo county: what it says, what it refuses,
and the kill test (SIGKILL at random points, several times, then a rerun) against a clean run."""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import time
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import DateTime, func, select

import migrations
from billing.bill_records import Bill
from billing.bill_run import BILL_REVIEW, run_bills
from billing.db import make_engine, read_session, unit_of_work
from billing.reads import NewRead, record_read
from billing.review import ReviewItem
from tests.read_helpers import old_account
from tests.review_helpers import staff
from tests.staff_helpers import log_in
from tests.web.conftest import DEMO_LOAD_GROUP
from tests.web.test_cli import DIANFEI, dianfei
from tests.web.test_read_cli import _on_a_terminal

KILLS = 4

pytestmark = pytest.mark.xdist_group(DEMO_LOAD_GROUP)  # the demo load is shared with test_reads_cli


def _months_back(months: int) -> str:
    """YYYY-MM of the month ``months`` before this one, in Beijing (the command's own clock)."""
    today = (datetime.now(UTC) + timedelta(hours=8)).date()
    index = today.year * 12 + today.month - 1 - months
    return f"{index // 12}-{index % 12 + 1:02d}"


@pytest.fixture
def demo_database(demo_load) -> Path:
    """A demo county of 120 户号 with 14 months of reads and no bills, loaded once; tests copy it."""
    return demo_load.database


def _copy(database: Path, tmp_path: Path) -> Path:
    (tmp_path / "instance").mkdir(parents=True, exist_ok=True)
    shutil.copy(database, tmp_path / "instance" / "dianfei.sqlite3")
    return tmp_path


def _bills(tmp_path: Path) -> int:
    engine = make_engine(f"sqlite:///{tmp_path / 'instance' / 'dianfei.sqlite3'}")
    try:
        with engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(Bill)).scalar()
    finally:
        engine.dispose()


def test_a_run_says_what_it_issued_and_held_and_a_rerun_bills_nothing(demo_database, tmp_path):
    folder = _copy(demo_database, tmp_path)
    period = _months_back(2)
    first = dianfei("bills", "run", "--period", period, tmp_path=folder)
    assert first.returncode == 0, first.stderr
    summary = first.stdout.splitlines()[0]
    assert summary.startswith(f"{period}: ") and "held for review" in summary
    assert "held: first_bill" in first.stdout  # the demo county has no bills before: each is a first bill
    billed = _bills(folder)
    assert billed > 0
    again = dianfei("bills", "run", "--period", period, tmp_path=folder)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith(f"{period}: 0 issued, 0 held for review")
    assert _bills(folder) == billed


def test_the_next_month_is_issued_where_the_first_was_held(demo_database, tmp_path):
    folder = _copy(demo_database, tmp_path)
    assert dianfei("bills", "run", "--period", _months_back(3), tmp_path=folder).returncode == 0
    second = dianfei("bills", "run", "--period", _months_back(2), tmp_path=folder)
    issued = int(second.stdout.split(": ", 1)[1].split(" issued")[0])
    assert issued > 0, second.stdout


def test_a_terminal_sees_a_progress_bar(demo_database, tmp_path):
    folder = _copy(demo_database, tmp_path)
    status, output = _on_a_terminal("bills", "run", "--period", _months_back(2), "--chunk", "10", tmp_path=folder)
    assert status == 0, output
    assert "billing" in output and "100%" in output


@pytest.mark.parametrize(("args", "says"), [
    (("--period", "current"), "--period: "),
    (("--period", "2026-13"), "--period: 2026-13 is not a month"),
    (("--period", "1999-12"), "--period: 1999-12 is not a month from 2000-01"),
    (("--period", "next"), "--period: "),
    (("--period", "2025-01", "--district", "TQ-NOWHERE"), "--district: no district 'TQ-NOWHERE'"),
])
def test_bad_input_is_one_line_naming_the_option_and_bills_nothing(demo_database, tmp_path, args, says):
    folder = _copy(demo_database, tmp_path)
    shown = {"current": _months_back(0), "next": _months_back(-1)}
    args = tuple(shown.get(arg, arg) for arg in args)
    result = dianfei("bills", "run", *args, tmp_path=folder)
    assert result.returncode == 1
    assert result.stderr.startswith(f"Error: {says}") and result.stderr.count("\n") == 1, result.stderr
    assert _bills(folder) == 0


def _rows(database: Path) -> dict[str, list[tuple]]:
    """Every table row for row, without the instants (each run has its own clock)."""
    engine = make_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            rows = {}
            for table in migrations.metadata().sorted_tables:
                columns = [column for column in table.columns if not isinstance(getattr(column.type, "impl", column.type), DateTime)]
                rows[table.name] = [tuple(row) for row in connection.execute(
                    select(*columns).order_by(*table.primary_key.columns))]
            return rows
    finally:
        engine.dispose()


def _billed(database: Path) -> int:
    with closing(sqlite3.connect(database)) as connection:
        return connection.execute("SELECT count(*) FROM bill_run_account").fetchone()[0]


def test_killed_at_random_points_then_rerun_equals_a_clean_run(demo_database, tmp_path):
    period, chunk = _months_back(2), "1"
    clean = _copy(demo_database, tmp_path / "clean")
    assert dianfei("bills", "run", "--period", period, "--chunk", chunk, tmp_path=clean).returncode == 0
    killed = _copy(demo_database, tmp_path / "killed")
    database = killed / "instance" / "dianfei.sqlite3"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DIANFEI_") and k != "DATABASE_URL"}
    environ["DIANFEI_INSTANCE_PATH"] = str(killed / "instance")
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    progress = []
    for _ in range(KILLS):
        before = _billed(database)
        process = subprocess.Popen([DIANFEI, "bills", "run", "--period", period, "--chunk", chunk], env=environ,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while process.poll() is None and _billed(database) == before:  # the run is billing: kill it somewhere in it
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.05))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        progress.append(_billed(database))
    finished = dianfei("bills", "run", "--period", period, "--chunk", chunk, tmp_path=killed)
    assert finished.returncode == 0, finished.stderr
    expected, got = _rows(clean / "instance" / "dianfei.sqlite3"), _rows(database)
    # every kill cut a run short, after it had billed something
    assert all(0 < done < len(expected["bill_run_account"]) for done in progress), (progress, seed)
    for table, rows in expected.items():
        assert got[table] == rows, f"{table} differs after kills at {progress} (seed {seed})"


def test_a_held_bill_is_on_the_review_queue_page(engine, clock, app):
    with unit_of_work(engine) as db:
        staff(db)
        account = old_account(db)
        for day, wh in ((date(2026, 10, 1), 0), (date(2026, 11, 1), 100_000)):
            record_read(db, NewRead(account.meter_id, day, "ami", wh), now=clock())
    run_bills(engine, (2026, 10), now=clock())
    with read_session(engine) as db:
        item_id = db.execute(select(ReviewItem.id).where(ReviewItem.kind == BILL_REVIEW)).scalar()
    client = app.test_client()
    log_in(client, "reviewer1")
    queue = client.get("/staff/review?kind=bill")
    assert queue.status_code == 200 and f"/staff/review/{item_id}" in queue.get_data(as_text=True)
    page = client.get(f"/staff/review/{item_id}")
    assert page.status_code == 200 and account.account_no in page.get_data(as_text=True)
