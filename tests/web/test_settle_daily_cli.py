"""``dianfei bills settle-daily`` as an operator runs it on the demo county: what it says, what it
refuses, and the kill test (SIGKILL at random points, several times, then a rerun) against a clean run."""

from __future__ import annotations

import random
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.kill_helpers import kill_repeatedly
from tests.web import test_bill_run_cli
from tests.web.test_cli import dianfei
from tests.web.test_read_cli import _on_a_terminal

KILLS = 4
demo_database = test_bill_run_cli.demo_database  # the same demo county, loaded once for this module
_copy, _rows = test_bill_run_cli._copy, test_bill_run_cli._rows


def _days_back(days: int) -> str:
    """The day ``days`` before today in Beijing (the command's own clock)."""
    return ((datetime.now(UTC) + timedelta(hours=8)).date() - timedelta(days=days)).isoformat()


def _settled(database: Path) -> int:
    with closing(sqlite3.connect(database)) as connection:
        return connection.execute("SELECT count(*) FROM daily_settlement").fetchone()[0]


def test_a_run_says_what_it_charged_and_a_rerun_charges_nothing(demo_database, tmp_path):
    folder = _copy(demo_database, tmp_path)
    first, last = _days_back(4), _days_back(3)
    result = dianfei("bills", "settle-daily", "--date", first, "--through", last, tmp_path=folder)
    assert result.returncode == 0, result.stderr
    days = result.stdout.splitlines()
    assert days[0].startswith(f"{first}: ") and " charged (" in days[0] and "balance low" in days[0]
    assert any(line.startswith(f"{last}: ") for line in days)
    settled = _settled(folder / "instance" / "dianfei.sqlite3")
    assert settled > 0
    again = dianfei("bills", "settle-daily", "--date", first, "--through", last, tmp_path=folder)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith(f"{first}: 0 charged (0.00 元, 0 kWh)")
    assert _settled(folder / "instance" / "dianfei.sqlite3") == settled


def test_a_terminal_sees_a_progress_bar(demo_database, tmp_path):
    folder = _copy(demo_database, tmp_path)
    status, output = _on_a_terminal("bills", "settle-daily", "--date", _days_back(2), "--chunk", "10", tmp_path=folder)
    assert status == 0, output
    assert f"settle {_days_back(2)}" in output and "100%" in output


@pytest.mark.parametrize(("args", "says"), [
    (("--date", "today"), "--date: "),
    (("--date", "tomorrow"), "--date: "),
    (("--date", "2026-02-30"), "--date: '2026-02-30' is not a date of the calendar"),
    (("--date", "yesterday", "--through", "today"), "--date: "),
    (("--date", "yesterday", "--through", "2020-01-01"), "--through: 2020-01-01 is before --date"),
    (("--date", "yesterday", "--through", "soon"), "--through: 'soon' is not a date"),
    ((), "--date: required"),
])
def test_bad_input_is_one_line_naming_the_option_and_settles_nothing(demo_database, tmp_path, args, says):
    folder = _copy(demo_database, tmp_path)
    shown = {"today": _days_back(0), "tomorrow": _days_back(-1), "yesterday": _days_back(1)}
    result = dianfei("bills", "settle-daily", *(shown.get(arg, arg) for arg in args), tmp_path=folder)
    assert result.returncode == 1
    assert result.stderr.startswith(f"Error: {says}") and result.stderr.count("\n") == 1, result.stderr
    assert _settled(folder / "instance" / "dianfei.sqlite3") == 0


def test_killed_at_random_points_then_rerun_equals_a_clean_run(demo_database, tmp_path):
    run = ["bills", "settle-daily", "--date", _days_back(6), "--through", _days_back(2), "--chunk", "1"]
    clean = _copy(demo_database, tmp_path / "clean")
    assert dianfei(*run, tmp_path=clean).returncode == 0
    expected = _rows(clean / "instance" / "dianfei.sqlite3")
    killed = _copy(demo_database, tmp_path / "killed")
    database = killed / "instance" / "dianfei.sqlite3"
    seed = random.randrange(1 << 30)
    progress = kill_repeatedly(run, killed / "instance", lambda: _settled(database), kills=KILLS,
                               rng=random.Random(seed), total=len(expected["daily_settlement"]))
    finished = dianfei(*run, tmp_path=killed)
    assert finished.returncode == 0, finished.stderr
    got = _rows(database)
    assert all(0 < done < len(expected["daily_settlement"]) for done in progress), (progress, seed)
    for table, rows in expected.items():
        assert got[table] == rows, f"{table} differs after kills at {progress} (seed {seed})"
