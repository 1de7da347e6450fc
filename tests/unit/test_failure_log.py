"""A failure that repeats logs one line each time, naming its cause, and its traceback once a minute."""

import logging
import sqlite3

import pytest
from sqlalchemy.exc import OperationalError

from billing.failure_log import TracebackLimiter, cause, quiet_repeats


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def logger(clock, caplog):
    logger = logging.getLogger("tests.failure_log")
    limiter = TracebackLimiter(60, clock)
    quiet_repeats(logger, limiter)
    caplog.set_level(logging.WARNING, logger=logger.name)
    yield logger
    logger.removeFilter(limiter)


def database_down():
    try:
        raise sqlite3.OperationalError("unable to open database file\nsecond line")
    except sqlite3.OperationalError as driver_error:
        raise OperationalError("BEGIN", None, driver_error) from driver_error


def disk_full():
    raise OSError(28, "No space left on device")


def fail(logger, raising) -> None:
    try:
        raising()
    except Exception as error:
        logger.warning("write failed: %s", cause(error), exc_info=error)


def test_each_failure_is_one_line_and_the_traceback_shows_once_a_minute(logger, clock, caplog):
    for _ in range(1000):
        fail(logger, database_down)
    assert len(caplog.records) == 1000
    assert {record.getMessage() for record in caplog.records} == {"write failed: OperationalError: unable to open database file"}
    assert [n for n, record in enumerate(caplog.records) if record.exc_info] == [0]
    assert caplog.text.count("Traceback") == 2  # the one chained traceback: driver error, then ours

    clock.now += 59
    fail(logger, database_down)
    assert not caplog.records[-1].exc_info
    clock.now += 2
    fail(logger, database_down)
    assert caplog.records[-1].exc_info  # a minute later: shown again


def test_a_different_error_shows_its_own_traceback(logger, caplog):
    fail(logger, database_down)
    fail(logger, disk_full)
    fail(logger, disk_full)
    assert [bool(record.exc_info) for record in caplog.records] == [True, True, False]
    assert caplog.records[1].getMessage() == "write failed: OSError: [Errno 28] No space left on device"


def test_records_without_a_traceback_pass_untouched(logger, caplog):
    for _ in range(3):
        logger.warning("notification rejected: bad signature")
    assert len(caplog.records) == 3
