"""Logging failures that repeat: one line each, naming the cause; the traceback only once per
distinct error per minute.

During a database outage every channel retry and every sync round fails the same way; a full
chained traceback for each buried the log (225,000 lines in 4 s).  ``quiet_repeats(logger)``
attaches the limiter to a logger whose records carry ``exc_info``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

REPEAT_SECONDS = 60.0
MAX_REMEMBERED = 1000


def cause(error: BaseException) -> str:
    """The error in one line: the driver's own error for a wrapped database error."""
    root = getattr(error, "orig", None) or error
    lines = str(root).strip().splitlines()
    return f"{type(root).__name__}: {lines[0] if lines else ''}".rstrip(": ")


class TracebackLimiter(logging.Filter):
    """Keeps every record, but drops its traceback if the same error (type and the line that
    raised it) already showed one within ``interval`` seconds."""

    def __init__(self, interval: float = REPEAT_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval, self._clock = interval, clock
        self._shown: dict[tuple, float] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is None:
            return True
        key, now = (record.name, *_signature(error)), self._clock()
        with self._lock:
            if now - self._shown.get(key, -self.interval) < self.interval:
                record.exc_info, record.exc_text = None, None
                return True
            if len(self._shown) >= MAX_REMEMBERED:
                self._shown = {k: at for k, at in self._shown.items() if now - at < self.interval}
            self._shown[key] = now
        return True


def _signature(error: BaseException) -> tuple:
    """What makes two failures 'the same': the chain of error types (``raise ... from``; what was
    being handled when it happened does not count) and where the last one was raised."""
    types, current = [], error
    while current is not None and len(types) < 10:
        types.append(type(current).__qualname__)
        current = current.__cause__
    frame = error.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    where = (frame.tb_frame.f_code.co_filename, frame.tb_lineno) if frame else ()
    return tuple(types), where


def quiet_repeats(logger: logging.Logger, limiter: TracebackLimiter | None = None) -> logging.Logger:
    logger.addFilter(limiter or TracebackLimiter())
    return logger
