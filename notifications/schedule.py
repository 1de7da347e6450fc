"""When a message may go out: quiet hours and the backoff between tries.

Quiet hours are Beijing wall time, 22:00 to 08:00: a message that is not urgent waits for the
morning instead of waking someone.  A resident may add quiet hours of their own (whole hours,
``Preference.quiet_from_hour`` to ``quiet_until_hour``) for optional messages, as long as some hour
of the day stays open.  A failed try waits 1 minute, then twice as long each time up to an hour; after ``MAX_ATTEMPTS`` tries the message is failed for good (and stays in the log).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from billing.clock import BEIJING

QUIET_FROM, QUIET_UNTIL = time(22, 0), time(8, 0)
COMPANY_QUIET = (QUIET_FROM.hour, QUIET_UNTIL.hour)
FIRST_RETRY, LONGEST_RETRY = timedelta(minutes=1), timedelta(hours=1)
MAX_ATTEMPTS = 6


def in_quiet_hours(at: datetime, own: tuple[int, int] | None = None) -> bool:
    """In the company's quiet hours, or in ``own`` (a resident's, from and until whole hours)."""
    local = at.astimezone(BEIJING)
    return any(_inside(local, window) for window in _windows(own))


def earliest_send(at: datetime, *, urgent: bool, own: tuple[int, int] | None = None) -> datetime:
    """``at`` itself, or the end of the quiet hours it falls in (the next 08:00 Beijing, or the end of
    the resident's ``own`` quiet hours where those run later): whichever window it leaves last."""
    if urgent:
        return at
    local, windows = at.astimezone(BEIJING), _windows(own)
    for _ in range(len(windows) + 1):  # two windows that leave an hour open are left in two moves
        inside = next((window for window in windows if _inside(local, window)), None)
        if inside is None:
            break
        local = _end(local, inside[1])
    return local.astimezone(at.tzinfo)


def open_hours(own: tuple[int, int] | None) -> list[int]:
    """The hours of the day (Beijing) when optional messages may go out."""
    return [hour for hour in range(24) if not any(_inside(datetime(2000, 1, 1, hour), w) for w in _windows(own))]


def _windows(own: tuple[int, int] | None) -> list[tuple[int, int]]:
    return [COMPANY_QUIET] + ([own] if own and own[0] != own[1] else [])


def _inside(local: datetime, window: tuple[int, int]) -> bool:
    start, end = window
    hour = local.hour
    return start <= hour < end if start < end else hour >= start or hour < end


def _end(local: datetime, until_hour: int) -> datetime:
    """The next ``until_hour``:00 after ``local``."""
    end = datetime.combine(local.date(), time(until_hour), tzinfo=BEIJING)
    return end if end > local else end + timedelta(days=1)


def retry_after(attempts: int) -> timedelta | None:
    """How long to wait after the ``attempts``-th failed try, or None when it was the last."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_RETRY)
