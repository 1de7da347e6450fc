"""The rate-limit store: counts in the database, a sliding window, refusals that count nothing,
and one shared count for every worker (separate engines, concurrent threads)."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlmodel import select

from billing import throttle
from billing.db import make_engine, read_session, unit_of_work
from billing.errors import RateLimited
from billing.throttle import Rule, ThrottleBucket

RULE = Rule("test:hour", 3, timedelta(hours=1), "client")


def _take(engine, clock, key="k", rule=RULE):
    with unit_of_work(engine) as db:
        throttle.take(db, rule, key, now=clock())


def test_the_limit_holds_and_the_window_slides(engine, clock):
    for _ in range(3):
        _take(engine, clock)
        clock.advance(minutes=10)
    with pytest.raises(RateLimited) as error:
        _take(engine, clock)
    assert error.value.field == "client"
    _take(engine, clock, key="other")  # keys are counted apart
    clock.advance(minutes=31)  # the first hit has left the window, the others not
    _take(engine, clock)
    with pytest.raises(RateLimited):
        _take(engine, clock)


def test_a_refused_hit_is_not_counted(engine, clock):
    for _ in range(3):
        _take(engine, clock)
    for _ in range(5):
        with pytest.raises(RateLimited):
            _take(engine, clock)
    with read_session(engine) as db:
        assert throttle.exceeded(db, RULE, "k", now=clock())
        assert sum(db.exec(select(ThrottleBucket.hits))) == 3


def test_exceeded_and_clear(engine, clock):
    with unit_of_work(engine) as db:
        for _ in range(3):
            assert not throttle.exceeded(db, RULE, "k", now=clock())
            throttle.hit(db, RULE, "k", now=clock())
        assert throttle.exceeded(db, RULE, "k", now=clock())
        throttle.clear(db, RULE, "k")
        assert not throttle.exceeded(db, RULE, "k", now=clock())


def test_old_buckets_are_swept_and_long_keys_fit(engine, clock):
    _take(engine, clock, key="x" * 500)
    clock.advance(hours=2)
    _take(engine, clock, key="y" * 500)
    with read_session(engine) as db:
        rows = db.exec(select(ThrottleBucket)).all()
    assert len(rows) == 1 and len(rows[0].key) == 64


def test_workers_share_one_count(engine, clock):
    """Eight workers, each with its own engine, race for three hits: exactly three get one."""
    engines = [make_engine(engine.url.render_as_string(hide_password=False)) for _ in range(8)]

    def attempt(worker_engine):
        try:
            _take(worker_engine, clock)
            return True
        except RateLimited:
            return False

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(attempt, engines))
    finally:
        for worker_engine in engines:
            worker_engine.dispose()
    assert results.count(True) == 3
