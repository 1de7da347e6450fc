"""The demo county as ``dianfei demo load`` leaves it, loaded once for the command-line tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.web.test_cli import dianfei

# The modules whose tests use ``demo_load`` are marked with this group, so that under pytest-xdist
# they run on one worker and the load (a subprocess, tens of seconds) happens once.
DEMO_LOAD_GROUP = "demo_load_120"


@dataclass(frozen=True)
class DemoLoad:
    database: Path  # the instance's SQLite file: tests copy it, never change it
    stdout: str


@pytest.fixture(scope="session")
def demo_load(tmp_path_factory) -> DemoLoad:
    """``dianfei db upgrade`` then ``dianfei demo load --accounts 120 --no-bills`` on a fresh instance:
    a county of 120 户号 with 14 months of reads and no bills."""
    folder = tmp_path_factory.mktemp("demo_load")
    assert dianfei("db", "upgrade", tmp_path=folder).returncode == 0
    loaded = dianfei("demo", "load", "--accounts", "120", "--no-bills", tmp_path=folder)
    assert loaded.returncode == 0, loaded.stderr
    return DemoLoad(folder / "instance" / "dianfei.sqlite3", loaded.stdout)
