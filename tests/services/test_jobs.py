"""Jobs scaled out: a real Redis server and two Celery workers against one PostgreSQL, the jobs sent
by the ``dianfei`` command itself (three dunning runs and two dispatches at once), end in the same
dunning steps and messages as the same commands run inline on another database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import select

import migrations
from billing import bills
from billing.clock import beijing_date, system_clock
from billing.db import make_engine, read_session, unit_of_work
from billing.dunning_records import DunningStep
from billing.accounts import Account
from notifications.records import Message
from payments.sandbox.server import free_port
from tests import factories, forked_cli
from tests.conftest import truncate_all
from tests.pg_cluster import is_ci

DIANFEI = str(Path(sys.executable).parent / "dianfei")
DEBTORS = 6


@pytest.fixture
def redis_url(tmp_path):
    server = shutil.which("redis-server")
    if server is None:
        if is_ci(os.environ):
            pytest.fail("redis-server is required in CI (the Makefile installs it)")
        pytest.skip("no redis-server: apt-get install redis-server")
    port = free_port()
    process = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    _wait(lambda: redis.Redis.from_url(url).ping(), "redis-server")
    yield url
    process.terminate(), process.wait(10)


def _wait(ready, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if ready():
                return
        except Exception:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not come up")
        time.sleep(0.2)


def _environ(tmp_path, database_url: str, **extra) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DIANFEI_") and k != "DATABASE_URL"}
    return environ | {"DATABASE_URL": database_url, "DIANFEI_INSTANCE_PATH": str(tmp_path / "instance")} | extra


@pytest.fixture
def workers(redis_url, postgres_engine, tmp_path):
    url = postgres_engine.url.render_as_string(hide_password=False)
    environ = _environ(tmp_path, url, DIANFEI_BROKER_URL=redis_url)
    started = [subprocess.Popen([sys.executable, "-m", "celery", "-A", "portal.jobs", "worker", "--pool", "solo",
                                 "-n", f"worker{n}@%h", "--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
                                env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for n in (1, 2)]
    from portal.jobs import make_celery

    app = make_celery(redis_url)
    _wait(lambda: len(app.control.inspect(timeout=1).ping() or {}) == 2, "two celery workers")
    yield environ
    for process in started:
        process.terminate()
    for process in started:
        process.wait(20)
    truncate_all(postgres_engine)


def _debtors(engine) -> None:
    """Six residents 45 days overdue on a bill issued 60 days ago (the commands run on the real clock)."""
    now = system_clock()
    today = beijing_date(now)
    with unit_of_work(engine) as db:
        for n in range(DEBTORS):
            account = factories.account(db, at=now - timedelta(days=90), account_no=f"33090000{n:02d}")
            factories.resident(db, f"1381234{n:04d}", at=now, accounts=(account,))
            bills.create(db, bills.Draft(account.id, today - timedelta(days=90), today - timedelta(days=61),
                                         today - timedelta(days=45), (bills.Line("energy", "bill.line.energy", 9900),)),
                         now=now - timedelta(days=60))


def _dianfei(environ, *args) -> subprocess.CompletedProcess:
    return forked_cli.run([DIANFEI, *args], environ)


def _together(environ, *commands) -> list[subprocess.CompletedProcess]:
    with ThreadPoolExecutor(len(commands)) as pool:
        return list(pool.map(lambda args: _dianfei(environ, *args), commands))


def _outcome(engine) -> tuple[Counter, Counter]:
    with read_session(engine) as db:
        steps = Counter(db.execute(select(Account.account_no, DunningStep.step)
                                   .join(Account, Account.id == DunningStep.account_id)).all())
        messages = Counter(db.execute(select(Message.kind, Message.status)).all())
    return steps, messages


def _walk(environ) -> None:
    runs = _together(environ, ("dunning", "run"), ("dunning", "run"), ("dunning", "run"))
    assert all(run.returncode == 0 for run in runs), [run.stderr for run in runs]
    dispatched = _together(environ, ("notify", "dispatch"), ("notify", "dispatch"))
    assert all(run.returncode == 0 for run in dispatched), [run.stderr for run in dispatched]


def test_two_workers_end_where_inline_ends(workers, postgres_engine, tmp_path):
    _debtors(postgres_engine)
    _walk(workers)
    inline = make_engine(f"sqlite:///{tmp_path / 'inline.sqlite3'}")
    migrations.upgrade(inline)
    _debtors(inline)
    _walk(_environ(tmp_path, inline.url.render_as_string(hide_password=False)))
    scaled_out, alone = _outcome(postgres_engine), _outcome(inline)
    assert scaled_out == alone
    steps, messages = scaled_out
    assert set(steps.values()) == {1} and len(steps) == 2 * DEBTORS  # overdue + notice, once each
    assert sum(messages.values()) == 3 * DEBTORS  # bill issued, overdue, the notice


def test_a_command_that_is_not_a_job_runs_inline_and_a_job_answers_as_inline(workers):
    answer = _dianfei(workers, "dunning", "run", "--date", "2999-01-01")
    assert answer.returncode == 2 and "in the future" in answer.stderr
    assert _dianfei(workers, "tariff", "quote", "zj-residential", "--period", "2026-10", "--kwh", "100").returncode == 0
