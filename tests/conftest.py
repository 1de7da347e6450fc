"""Fixtures: a migrated database per test on SQLite and on PostgreSQL, a fixed clock, the app.

Every test that takes ``engine`` runs twice, once per database.  SQLite tests get a copy of a
migrated template file; PostgreSQL tests share one throwaway cluster and are truncated after each
test.  After every such test the ledger's invariants are checked.

The suite runs on two pytest-xdist workers (``addopts`` in pyproject.toml): session fixtures, the
PostgreSQL cluster among them, are set up once per worker, each in the worker's own temporary
folder and on its own port.  Tests marked ``xdist_group("name")`` run on one worker together.
"""

from __future__ import annotations

import os
import re
import shutil
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

import migrations
from billing.clock import FixedClock
from billing.db import make_engine, read_session
from billing.ledger import check_invariants
from tests.pg_cluster import ClusterUnavailable, is_ci, throwaway_database

pytest_plugins = ["tests.payment_fixtures"]

DATABASES = ("sqlite", "postgresql")


def per_database_groups(name: str) -> list:
    """DATABASES as a module fixture's params, each database's tests kept on one pytest-xdist worker
    (group ``<name>_<database>``): the fixture is built once per database, and the two databases'
    builds can run on two workers at once."""
    return [pytest.param(database, marks=pytest.mark.xdist_group(f"{name}_{database}")) for database in DATABASES]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Make ``--dist loadgroup`` group by ``xdist_group`` again under pytest 9.2.

    xdist tells the controller an item's group by appending ``@group`` to its node id, set through
    the attribute ``_nodeid``; pytest 9.2 keeps node ids in ``_id`` instead, so the suffix is lost
    and grouped tests are spread over the workers (pytest-dev/pytest-xdist#1386).  This sets the
    suffixed id where xdist's did not take; once xdist is fixed the ids already carry it and this
    does nothing."""
    if not getattr(config.option, "loadgroup", False):  # set on xdist workers under --dist loadgroup
        return
    from _pytest.nodeid import NodeId

    for item in items:
        names = sorted({str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                        for mark in item.iter_markers("xdist_group")})
        if names and "@" not in item.nodeid.rsplit("]", 1)[-1]:
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(names)}")
START = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # 10:00 in Beijing


@pytest.fixture(scope="session")
def postgres_engine():
    try:
        with throwaway_database("dianfei_test") as url:
            engine = make_engine(url, pool_size=20)
            try:
                migrations.upgrade(engine)
                yield engine
            finally:
                engine.dispose()
    except ClusterUnavailable as reason:
        if is_ci(os.environ):
            pytest.fail(f"PostgreSQL is required in CI: {reason}")
        pytest.skip(f"no PostgreSQL: {reason}")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "dianfei.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrations.upgrade(engine)
    engine.dispose()
    return path


def truncate_all(engine) -> None:
    tables = ", ".join(table.name for table in migrations.metadata().sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@contextmanager
def module_engine(request, tmp_path_factory, name: str):
    """A module-scoped fixture's database (``request.param`` one of DATABASES): a copy of the migrated
    SQLite template, or the shared PostgreSQL database, truncated afterwards."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp(name) / "dianfei.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        engine = make_engine(f"sqlite:///{path}")
    else:
        engine = request.getfixturevalue("postgres_engine")
    try:
        yield engine
    finally:
        truncate_all(engine) if request.param == "postgresql" else engine.dispose()


@pytest.fixture(params=DATABASES)
def engine(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "dianfei.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        engine = make_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
    else:
        engine = request.getfixturevalue("postgres_engine")
        try:
            yield engine
        finally:
            truncate_all(engine)


@pytest.fixture(autouse=True)
def ledger_invariants(request):
    """After every test with a database: debits = credits and cached balances = summed transfers."""
    if "engine" not in request.fixturenames:
        yield
        return
    engine = request.getfixturevalue("engine")
    yield
    with read_session(engine) as session:
        assert check_invariants(session) == []


@pytest.fixture
def clock():
    return FixedClock(START)


def make_app(engine, clock, gateways, instance_path, **overrides):
    from portal import create_app

    app = create_app(
        {"ENV": "test", "ENGINE": engine, "DATABASE_URL": "sqlite://", "CLOCK": clock, "GATEWAYS": gateways,
         "INSTANCE_PATH": str(instance_path), "SECRET_KEY": "test-secret", "DEMO_SMS": True,
         "PAYMENTS_SANDBOX": False} | overrides
    )
    app.testing = True
    return app


@pytest.fixture
def app(request, engine, clock, tmp_path):
    """The portal on the test database; with the sandbox channels (served live) if the test uses them."""
    with_payments = "gateways" in request.fixturenames
    gateways = request.getfixturevalue("gateways") if with_payments else {}
    app = make_app(engine, clock, gateways, tmp_path / "instance")
    if with_payments:
        live = request.getfixturevalue("live")
        live.holder.target = app
        app.config["PUBLIC_URL"] = live.url
    return app


@pytest.fixture
def client(app):
    return app.test_client()


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client, path: str = "/") -> str:
    """The CSRF token a real browser would have read from the page's form."""
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)
