"""SQLite has one writer at a time.  Writers wait their turn on an OS file lock (and a thread lock
within the process) rather than in SQLite's busy handler, which polls with sleeps of up to 100 ms
and ruins tail latency when several processes write at once.

Every wait ends at a deadline, and a failure anywhere (the lock file cannot be opened on a
read-only file system, the wait ran out) leaves both locks free: a failed write must never wedge
the process.  ``flock`` itself cannot time out, so a contended wait blocks in a helper thread on a
descriptor of its own; a writer that gives up leaves the helper to drop the lock once it gets it.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time


class WriterQueueTimeout(TimeoutError):
    pass


class WriterQueue:
    def __init__(self, database: str) -> None:
        self._path = f"{database}-writers"
        self._threads = threading.Lock()
        self._file, self._pid = None, None
        self._held = None  # the descriptor whose lock the current writer holds

    def acquire(self, deadline: float) -> None:
        """Hold the queue before ``deadline`` (a ``time.monotonic()`` instant) or raise, holding nothing."""
        if not self._threads.acquire(timeout=_left(deadline)):
            raise WriterQueueTimeout("another writer in this process held the write lock too long")
        try:
            self._held = self._lock_file(deadline)
        except BaseException:
            self._threads.release()
            raise

    def release(self) -> None:
        held, self._held = self._held, None
        try:
            fcntl.flock(held, fcntl.LOCK_UN)
            if held is not self._file:
                held.close()
        finally:
            self._threads.release()

    def _lock_file(self, deadline: float):
        if self._pid != os.getpid():  # a forked worker must not share its parent's lock
            self._file, self._pid = open(self._path, "a"), os.getpid()
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return self._file
        except BlockingIOError:
            pass
        attempt = _Attempt(open(self._path, "a"))
        if not attempt.wait(_left(deadline)):
            raise WriterQueueTimeout("another process held the write lock too long")
        return attempt.file


class _Attempt:
    """A blocking flock on its own descriptor, in a helper thread, that its waiter may give up on."""

    def __init__(self, file) -> None:
        self.file = file
        self._granted = threading.Event()
        self._decided = threading.Lock()
        self._abandoned = False
        threading.Thread(target=self._run, daemon=True, name="writer-queue-wait").start()

    def _run(self) -> None:
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX)
        except OSError:
            self.file.close()
            return
        with self._decided:
            if not self._abandoned:
                self._granted.set()
                return
        fcntl.flock(self.file, fcntl.LOCK_UN)
        self.file.close()

    def wait(self, timeout: float) -> bool:
        if self._granted.wait(timeout):
            return True
        with self._decided:
            self._abandoned = not self._granted.is_set()
            return not self._abandoned


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())
