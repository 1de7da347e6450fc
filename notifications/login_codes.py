"""Login codes by SMS: queued in the transaction that issues the code and sent at once, while the
resident waits on the login page.  A provider that fails now leaves the message queued: the
dispatcher retries it (the code lives 5 minutes) and the page says the SMS could not go out yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session

from billing.clock import Clock
from notifications.channels.base import Channel
from notifications.dispatch import dispatch
from notifications.intake import queue_direct

KIND = "login_code"


def key(phone: str, issued_at: datetime) -> str:
    """One code per phone per minute at most (the throttle), so phone and time name it."""
    return f"login:{phone}:{issued_at.isoformat()}"


def queue(session: Session, phone: str, code: str, *, now: datetime, lang: str) -> str:
    dedupe_key = key(phone, now)
    queue_direct(session, dedupe_key, KIND, phone, {"code": code}, now=now, lang=lang)
    return dedupe_key


def send_now(engine: Engine, channels: Mapping[str, Channel], dedupe_key: str, *, clock: Clock) -> bool:
    """True when the provider took (or delivered) the code."""
    done = dispatch(engine, {"sms": channels["sms"]}, clock=clock, only=dedupe_key)
    return done.sent + done.delivered == 1
