"""A throwaway PostgreSQL cluster for the test run, from the server binaries on PATH.

PostgreSQL refuses to run as root, and CI runs as root: then the cluster runs as the ``postgres``
system user, in a temporary folder that user owns.  It listens on a free loopback port with trust
authentication, fsync off (nothing here needs to survive a crash of the machine), and is stopped
and deleted when the run ends.

Under pytest-xdist every worker starts a cluster of its own (its own folder, socket and port).  A
free port is only free when probed: another worker or program may take it before the server binds
it, so a start that fails on a taken port is retried on another one.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from billing.db import make_engine

from payments.sandbox.server import free_port


TRUTHY = ("1", "true", "yes", "on")
PORT_TRIES = 5
PORT_TAKEN = ("could not bind", "address already in use", "could not create any tcp/ip sockets",
              "is another postmaster already running on port")


class ClusterUnavailable(RuntimeError):
    pass


def is_ci(environ: Mapping[str, str]) -> bool:
    """CI sets ``CI`` to true, 1, yes or on depending on the service: any of them means CI."""
    return environ.get("CI", "").strip().lower() in TRUTHY


class Cluster:
    def __init__(self) -> None:
        self.initdb = shutil.which("initdb")
        self.pg_ctl = shutil.which("pg_ctl")
        if not (self.initdb and self.pg_ctl):
            raise ClusterUnavailable("PostgreSQL server binaries (initdb, pg_ctl) are not on PATH")
        self.user = None
        if os.geteuid() == 0:
            try:
                self.user = pwd.getpwnam("postgres")
            except KeyError:
                raise ClusterUnavailable("running as root and there is no 'postgres' user to run the server") from None
        self.folder = Path(tempfile.mkdtemp(prefix="dianfei-pg-"))
        self.port = free_port()

    def _run(self, *args: str) -> None:
        kwargs = {"user": self.user.pw_uid, "group": self.user.pw_gid} if self.user else {}
        result = subprocess.run(args, capture_output=True, text=True, cwd=self.folder, **kwargs)
        if result.returncode != 0:
            raise ClusterUnavailable(f"{Path(args[0]).name} failed: {result.stderr.strip() or result.stdout.strip()}")

    def start(self) -> str:
        if self.user:
            os.chown(self.folder, self.user.pw_uid, self.user.pw_gid)
        data = self.folder / "data"
        self._run(self.initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C")
        for attempt in range(1, PORT_TRIES + 1):
            logged = self._log_size()
            try:
                self._start(data)
                return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
            except ClusterUnavailable:
                if attempt == PORT_TRIES or not self._port_was_taken(since=logged):
                    raise
                self.port = free_port()
        raise AssertionError("unreachable")

    def _start(self, data: Path) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(self.pg_ctl, "-D", str(data), "-l", str(self.folder / "server.log"), "-o", options, "-w", "start")

    def _log_size(self) -> int:
        try:
            return (self.folder / "server.log").stat().st_size
        except OSError:
            return 0

    def _port_was_taken(self, since: int) -> bool:
        """Whether the last start failed because its port was in use: what the server logged since
        byte ``since`` says so."""
        try:
            with open(self.folder / "server.log", "rb") as log:
                log.seek(since)
                said = log.read().decode(errors="replace").lower()
        except OSError:
            return False
        return any(says in said for says in PORT_TAKEN)

    def stop(self) -> None:
        try:
            self._run(self.pg_ctl, "-D", str(self.folder / "data"), "-m", "immediate", "stop")
        except ClusterUnavailable:
            pass
        shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def throwaway_database(name: str) -> Iterator[str]:
    """A started cluster with an empty database ``name``; yields its URL.  The cluster is stopped
    and deleted however the caller's set-up or tests end, failures included."""
    cluster = Cluster()
    try:
        admin_url = cluster.start()
        admin = make_engine(admin_url)
        try:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        cluster.stop()
