"""``dianfei reads check`` and ``dianfei reads loss`` as cron runs them, and ``demo load`` leaving the
demo's trouble in the review queue."""

import shutil
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from billing.db import make_engine, read_session
from billing.line_loss import DistrictLoss
from billing.review import ReviewItem
from tests.web.conftest import DEMO_LOAD_GROUP
from tests.web.test_cli import dianfei

pytestmark = pytest.mark.xdist_group(DEMO_LOAD_GROUP)  # the demo load is shared with test_bill_run_cli


def test_demo_load_checks_the_reads_and_the_checks_run_again_open_nothing(demo_load, tmp_path):
    # the load (db upgrade, demo load --accounts 120 --no-bills, both exit 0) is demo_load's
    assert "demo reads checked and line loss computed" in demo_load.stdout and "loss_negative" in demo_load.stdout
    (tmp_path / "instance").mkdir()
    shutil.copy(demo_load.database, tmp_path / "instance" / "dianfei.sqlite3")
    engine = make_engine(f"sqlite:///{tmp_path / 'instance' / 'dianfei.sqlite3'}")
    with read_session(engine) as db:
        items = db.execute(select(func.count()).select_from(ReviewItem)).scalar()
        (last_loss,) = db.execute(select(func.max(DistrictLoss.starts_on))).one()
    assert items > 5
    yesterday = last_loss + timedelta(days=1)
    again = dianfei("reads", "check", "--from", (yesterday - timedelta(days=40)).isoformat(), "--to",
                    yesterday.isoformat(), tmp_path=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().splitlines()[-1].endswith(": 0 new review items")
    loss = dianfei("reads", "loss", "--from", last_loss.isoformat(), tmp_path=tmp_path)
    assert loss.returncode == 0 and loss.stdout.strip().endswith(" figures, 0 new review items")
    engine.dispose()


def test_a_bad_range_is_one_line_naming_the_option(tmp_path):
    assert dianfei("db", "upgrade", tmp_path=tmp_path).returncode == 0
    backwards = dianfei("reads", "check", "--from", "2026-11-02", "--to", "2026-11-01", tmp_path=tmp_path)
    assert backwards.returncode == 1 and "Traceback" not in backwards.stderr
    assert "last: the last day 2026-11-01 is before the first 2026-11-02" in backwards.stderr
    future = dianfei("reads", "loss", "--from", (date.today() + timedelta(days=3)).isoformat(), tmp_path=tmp_path)
    assert future.returncode == 1 and "last:" in future.stderr
    bad_date = dianfei("reads", "check", "--from", "2026-13-01", tmp_path=tmp_path)
    assert bad_date.returncode == 2 and "--from" in bad_date.stderr
