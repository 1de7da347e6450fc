"""Concurrent posting: one transfer per key, no lost update on a shared account."""

import threading

import pytest
from sqlalchemy import text
from sqlmodel import select

from billing import ledger
from billing.db import read_session, unit_of_work
from billing.errors import InvalidInput
from billing.ledger import Posting, Transfer
from tests import factories

THREADS = 16


def _run_at_once(work) -> list:
    barrier, results, errors = threading.Barrier(THREADS), [], []

    def worker(n: int) -> None:
        barrier.wait()
        try:
            results.append(work(n))
        except Exception as error:  # collected and asserted below, so a failure names itself
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


def _customer(engine, clock) -> str:
    with unit_of_work(engine) as db:
        return ledger.customer_code(factories.account(db, at=clock()).account_no)


def test_sixteen_threads_posting_one_key_create_one_transfer(engine, clock):
    customer = _customer(engine, clock)
    payment = Posting("pay:wechat:4200000001", "clearing:wechat", customer, 12345, "payment")

    def post(_n):
        with unit_of_work(engine) as db:
            return ledger.post(db, payment, at=clock()).status

    statuses = _run_at_once(post)
    assert sorted(statuses) == ["created"] + ["exists"] * (THREADS - 1)
    with read_session(engine) as db:
        assert len(db.exec(select(Transfer)).all()) == 1
        assert ledger.balance_fen(db, customer) == 12345


def test_sixteen_threads_posting_to_one_account_lose_no_update(engine, clock):
    customer = _customer(engine, clock)

    def post(n):
        channel = "clearing:wechat" if n % 2 else "clearing:alipay"
        with unit_of_work(engine) as db:
            return ledger.post(db, Posting(f"pay:{n}", channel, customer, 100 + n, "payment"), at=clock()).status

    assert _run_at_once(post) == ["created"] * THREADS
    with read_session(engine) as db:
        assert ledger.balance_fen(db, customer) == sum(100 + n for n in range(THREADS))
        assert ledger.balance_fen(db, "clearing:wechat") + ledger.balance_fen(db, "clearing:alipay") == ledger.balance_fen(db, customer)


def test_a_posting_that_a_concurrent_one_pushes_past_bigint_is_refused(engine, clock):
    """Both pass the insert's headroom check; the second then waits for the first's row lock and
    would overflow once it commits: it is refused like any other overflow, and nothing is lost."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite writers queue one at a time: the check and the update cannot be overtaken")
    customer, limit = _customer(engine, clock), 2**63 - 1
    with unit_of_work(engine) as db:
        ledger.post(db, Posting("start", "clearing:wechat", customer, limit - 10, "payment"), at=clock())
    posted, release, outcome = threading.Event(), threading.Event(), {}

    def first() -> None:
        with unit_of_work(engine) as db:
            ledger.post(db, Posting("first", "clearing:alipay", customer, 10, "payment"), at=clock())
            posted.set()
            release.wait(30)

    def second() -> None:
        try:
            with unit_of_work(engine) as db:
                ledger.post(db, Posting("second", "clearing:counter", customer, 5, "payment"), at=clock())
        except InvalidInput as error:
            outcome["error"] = error

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    threads[0].start()
    posted.wait(30)
    threads[1].start()
    _wait_until_a_backend_waits_for_a_lock(engine)
    release.set()
    for thread in threads:
        thread.join(30)
    assert outcome["error"].field == "amount_fen"
    with read_session(engine) as db:
        assert ledger.balance_fen(db, customer) == limit
        assert db.exec(select(Transfer.key).order_by(Transfer.id)).all() == ["start", "first"]


def _wait_until_a_backend_waits_for_a_lock(engine) -> None:
    with engine.connect() as connection:
        for _ in range(3000):
            waiting = connection.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )).scalar()
            if waiting:
                return
            connection.rollback()
            threading.Event().wait(0.01)
    raise AssertionError("the second posting never waited for the first")
