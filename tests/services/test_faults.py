"""How the payment path fails: a read-only database, a full disk, a write lock held by someone
else, a database that refuses connections.

The channels' real signed notifications reach the app over HTTP through each fault.  Every answer
must be the channel's own "send it again" and come back before the channel stops waiting (5 s);
nothing may be acknowledged that was not recorded; and once the fault ends, the same process
credits each redelivered notification exactly once.
"""

import logging
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta

import pytest
import requests
from sqlmodel import func, select

from billing.db import make_engine, read_session
from billing.ledger import Transfer
from payments.sandbox.delivery import Delivery, post
from payments.sync import sync
from portal.payment_commands import payments_group
from tests import faults
from tests.conftest import make_app
from tests.payment_helpers import acknowledged, balance, new_account, phone, start_payment

CHANNELS = ("wechat", "alipay")
ANSWER_WITHIN = 4.5  # seconds: the channels give up on an answer after 5 s and count the attempt failed


@dataclass
class Paid:
    channel: str
    account: object
    amount_fen: int
    delivery: Delivery


@pytest.fixture
def paid(request, engine, clock, app, gateways):
    """One order per channel, paid at the sandbox; its signed notification not delivered yet."""
    placed = []
    for n, channel in enumerate(CHANNELS):
        account = new_account(engine, clock)
        started = start_payment(engine, gateways[channel], account, 1000 + n, clock)
        device = phone(request, channel)
        delivery = device.notification(started.out_trade_no, device.pay(started))
        placed.append(Paid(channel, account, 1000 + n, delivery))
    return placed


@pytest.fixture
def worker(engine, clock, gateways, live, app, tmp_path):
    """The app as a worker that has not written yet: on SQLite it has an engine of its own, so its
    writer queue opens the lock file at its first write, as a worker started during the fault does."""
    if engine.dialect.name != "sqlite":
        yield app
        return
    own = make_engine(engine.url.render_as_string(hide_password=False))
    started = make_app(own, clock, gateways, tmp_path / "worker")
    started.config["PUBLIC_URL"] = live.url
    live.holder.target = started
    yield started
    own.dispose()


def engine_of(app):
    return app.extensions["dianfei"].engine


def answered_retry_in_time(gateways, paid: list[Paid]) -> None:
    """Each notification gets the channel's retry answer before the channel stops waiting, and
    nothing is credited."""
    for item in paid:
        attempt = post(item.delivery.again(), timeout=ANSWER_WITHIN)
        retry = gateways[item.channel].retry
        assert (attempt.status, attempt.body) == (retry.status, retry.body.decode()), item.channel


def credited_once_after_the_fault(engine, paid: list[Paid]) -> None:
    assert [balance(engine, item.account) for item in paid] == [0] * len(paid)  # nothing taken during the fault
    for item in paid:
        for _ in range(2):  # the channel's retry, and one more: still credited once
            assert acknowledged(item.channel, post(item.delivery.again(), timeout=ANSWER_WITHIN))
    assert [balance(engine, item.account) for item in paid] == [item.amount_fen for item in paid]
    with read_session(engine) as db:
        assert db.exec(select(func.count()).select_from(Transfer)).one() == len(paid)


def healthz(live) -> int:
    return requests.get(f"{live.url}/healthz", timeout=ANSWER_WITHIN).status_code


def test_a_read_only_database_answers_retry_and_the_same_worker_recovers(engine, paid, gateways, worker, live):
    """SQLite on a read-only file system: first the writer queue's lock file cannot be opened (the
    worker must not stay wedged on its own lock), then the database itself refuses writes."""
    sqlite = engine.dialect.name == "sqlite"
    with faults.ReadOnlyDatabase(engine_of(worker)) as read_only:
        with faults.lock_file_unopenable(engine) if sqlite else nullcontext():
            for _ in range(2):  # a failed write must leave the worker able to answer the next one
                answered_retry_in_time(gateways, paid)
            assert healthz(live) == 200  # reads still work
        answered_retry_in_time(gateways, paid)
        read_only.active = False
        credited_once_after_the_fault(engine, paid)


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_disk_that_takes_no_more_bytes_answers_retry(engine, paid, gateways, worker):
    """COMMIT itself fails (the write-ahead log cannot grow): the driver's raw error must still
    become the channel's retry answer, not an HTML 500."""
    with faults.disk_refuses_writes():
        answered_retry_in_time(gateways, paid)
    credited_once_after_the_fault(engine, paid)


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_sync_records_each_failure_goes_on_and_exits_non_zero(engine, clock, paid, gateways, worker):
    clock.advance(minutes=6)
    with faults.disk_refuses_writes():
        summary = sync(engine_of(worker), gateways, now=clock(), older_than=timedelta(minutes=5))
        result = worker.test_cli_runner().invoke(payments_group, ["sync"])
    assert summary.checked == 2 and summary.outcomes == {}
    assert [error.split(": ", 1)[1] for error in summary.errors] == ["OperationalError: disk I/O error"] * 2
    assert result.exit_code == 1 and "payments sync: 2 failed" in result.output
    assert "Traceback" not in result.output
    summary = sync(engine_of(worker), gateways, now=clock(), older_than=timedelta(minutes=5))
    assert (summary.checked, summary.outcomes, summary.errors) == (2, {"credited": 2}, [])
    assert [balance(engine, item.account) for item in paid] == [item.amount_fen for item in paid]


def test_a_held_write_lock_answers_retry_before_the_channel_gives_up(engine, paid, gateways, worker, live):
    with faults.write_lock_held(engine):
        answered_retry_in_time(gateways, paid)
        assert healthz(live) == 200
    credited_once_after_the_fault(engine, paid)


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_the_writer_queue_held_by_another_process_answers_retry(engine, paid, gateways, worker):
    with faults.writer_queue_held_elsewhere(engine):
        answered_retry_in_time(gateways, paid)
    credited_once_after_the_fault(engine, paid)


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_postgresql_outage_logs_one_line_per_failure(engine, paid, gateways, worker, live, caplog):
    caplog.set_level(logging.WARNING, logger="payments.callbacks")
    with faults.database_refuses_connections(engine):
        for _ in range(5):
            answered_retry_in_time(gateways, paid)
        assert healthz(live) == 503
    failures = [r for r in caplog.records if r.name == "payments.callbacks" and "not settled" in r.getMessage()]
    assert len(failures) == 10
    assert all("OperationalError" in record.getMessage() for record in failures)  # the cause, on the one line
    assert sum(1 for record in failures if record.exc_info) <= 1  # the traceback at most once a minute
    credited_once_after_the_fault(engine, paid)
