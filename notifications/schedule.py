"""When a message may go out: quiet hours and the backoff between tries.

Quiet hours are Beijing wall time, 22:00 to 08:00: a message that is not urgent waits for the
morning instead of waking someone.  A failed try waits 1 minute, then twice as long each time up to
an hour; after ``MAX_ATTEMPTS`` tries the message is failed for good (and stays in the log).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from billing.clock import BEIJING

QUIET_FROM, QUIET_UNTIL = time(22, 0), time(8, 0)
FIRST_RETRY, LONGEST_RETRY = timedelta(minutes=1), timedelta(hours=1)
MAX_ATTEMPTS = 6


def in_quiet_hours(at: datetime) -> bool:
    local = at.astimezone(BEIJING).time()
    return local >= QUIET_FROM or local < QUIET_UNTIL


def earliest_send(at: datetime, *, urgent: bool) -> datetime:
    """``at`` itself, or the end of the quiet hours it falls in (the next 08:00 Beijing)."""
    if urgent or not in_quiet_hours(at):
        return at
    local = at.astimezone(BEIJING)
    morning = datetime.combine(local.date(), QUIET_UNTIL, tzinfo=BEIJING)
    if local.time() >= QUIET_FROM:
        morning += timedelta(days=1)
    return morning.astimezone(at.tzinfo)


def retry_after(attempts: int) -> timedelta | None:
    """How long to wait after the ``attempts``-th failed try, or None when it was the last."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_RETRY)
