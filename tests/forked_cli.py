"""The ``dianfei`` command run in a child process forked from the test process.

A new interpreter spends two to three seconds importing the app (most of it the SQLModel tables)
before a command starts, and the suite runs the command some hundred times.  A forked child has
everything imported already, so a CLI test pays only for its command.  The child is still a process
of its own: its own environment, argv, standard streams and exit status, and the interpreter's
defaults where pytest changed them (warnings filters, log handlers).  What it does is what the
installed console script does: ``sys.exit(portal.cli.main())``.  ``test_cli`` runs the installed
script itself in a new interpreter too, and the kill tests start it with ``subprocess``.
"""

from __future__ import annotations

import gc
import io
import logging
import os
import selectors
import signal
import subprocess
import sys
import time
import traceback
import warnings
from collections.abc import Mapping, Sequence

# CPython's own warnings filters for a script run without -W options.
_DEFAULT_FILTERS = (("default", DeprecationWarning, "__main__"), ("ignore", DeprecationWarning, None),
                    ("ignore", PendingDeprecationWarning, None), ("ignore", ImportWarning, None),
                    ("ignore", ResourceWarning, None))


def run(argv: Sequence[str], env: Mapping[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    """``subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)``, forked."""
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns
        os.close(out_read)
        os.close(err_read)
        _child(list(argv), dict(env), out_write, err_write)
    os.close(out_write)
    os.close(err_write)
    try:
        stdout, stderr = _collect(out_read, err_read, time.monotonic() + timeout)
    except subprocess.TimeoutExpired:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise subprocess.TimeoutExpired(list(argv), timeout) from None
    _, status = os.waitpid(pid, 0)
    return subprocess.CompletedProcess(list(argv), os.waitstatus_to_exitcode(status),
                                       stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace"))


def _collect(out_read: int, err_read: int, deadline: float) -> tuple[bytes, bytes]:
    """Both pipes to their end, read side by side so that neither fills up and stalls the child."""
    chunks = {out_read: bytearray(), err_read: bytearray()}
    with selectors.DefaultSelector() as selector:
        for fd in chunks:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired("dianfei", 0)
            for key, _ in selector.select(left):
                data = os.read(key.fd, 65536)
                if data:
                    chunks[key.fd] += data
                else:
                    selector.unregister(key.fd)
                    os.close(key.fd)
    return bytes(chunks[out_read]), bytes(chunks[err_read])


def _child(argv: list[str], env: dict[str, str], out_write: int, err_write: int) -> None:
    code: object = 1
    try:
        _fresh_process(argv, env, out_write, err_write)
        from portal.cli import main

        code = main()
    except SystemExit as exit_:
        code = exit_.code
    except BaseException:  # noqa: BLE001 - what the interpreter would print, then status 1
        traceback.print_exc()
        code = 1
    finally:
        gc.collect()  # closes the command's database connections, as an interpreter's exit would: SQLite
        os._exit(_status(code))  # folds its write-ahead log back into the file only then


def _fresh_process(argv: list[str], env: dict[str, str], out_write: int, err_write: int) -> None:
    null = os.open(os.devnull, os.O_RDONLY)
    for fd, target in ((null, 0), (out_write, 1), (err_write, 2)):
        os.dup2(fd, target)
        os.close(fd)
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", write_through=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="backslashreplace",
                                  write_through=True)
    os.environ.clear()
    os.environ.update(env)
    sys.argv = argv
    logging.root.handlers.clear()  # pytest's capture handlers: the command's warnings go to stderr again
    logging.root.setLevel(logging.WARNING)
    warnings.resetwarnings()
    for action, category, module in reversed(_DEFAULT_FILTERS):
        warnings.filterwarnings(action, category=category, module=module or "")


def _status(code: object) -> int:
    """The exit status ``sys.exit(code)`` gives (a message is printed and counts as 1)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1
