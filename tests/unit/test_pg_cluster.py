"""The test run's own PostgreSQL: stopped whatever happens during set-up, and required under any CI flag."""

import os
import socket

import pytest
from sqlalchemy.engine import make_url

from tests.pg_cluster import ClusterUnavailable, is_ci, throwaway_database


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "True", "yes", "on", " On "])
def test_any_truthy_ci_flag_means_ci(value):
    assert is_ci({"CI": value})


@pytest.mark.parametrize("environ", [{}, {"CI": ""}, {"CI": "0"}, {"CI": "false"}, {"CI": "no"}, {"CI": "off"}])
def test_no_or_a_falsy_ci_flag_is_not_ci(environ):
    assert not is_ci(environ)


def test_the_cluster_is_stopped_when_set_up_fails():
    port = None
    with pytest.raises(RuntimeError, match="set-up failed"):
        try:
            with throwaway_database("leak_check") as url:
                port = make_url(url).port
                raise RuntimeError("set-up failed")
        except ClusterUnavailable as reason:
            if is_ci(os.environ):
                raise
            pytest.skip(f"no PostgreSQL: {reason}")
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=5):
        pass
