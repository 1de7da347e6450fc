"""Concurrent posting: one transfer per key, no lost update on a shared account."""

import threading

from sqlmodel import select

from billing import ledger
from billing.db import read_session, unit_of_work
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
