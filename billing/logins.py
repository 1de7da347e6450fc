"""Login sessions kept on the server, so that logging out or a lifetime running out ends them for good.

The browser holds only a random token (inside the portal's signed cookie); the row, found by the
token's digest, says who is logged in and until when.  A cookie replayed after logout finds no row.
Each session has an absolute lifetime from login and an idle lifetime from the last request;
``last_seen_at`` is written at most once a minute, so a busy page does not write on every request.
"""

from __future__ import annotations

import hashlib
import secrets
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import CheckConstraint, bindparam, delete, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, Session, SQLModel, select

from billing.db import unit_of_work

RESIDENT, STAFF, API = "resident", "staff", "api"  # api: a resident on the mini-program
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Lifetime:
    idle: timedelta
    absolute: timedelta


# Residents: a visit to check a balance and pay takes minutes; a new login costs an SMS.
# Staff: a working shift, locked after half an hour away from the desk.
LIFETIMES = {
    RESIDENT: Lifetime(idle=timedelta(hours=1), absolute=timedelta(hours=24)),
    STAFF: Lifetime(idle=timedelta(minutes=30), absolute=timedelta(hours=10)),
    API: Lifetime(idle=timedelta(days=7), absolute=timedelta(days=30)),  # a phone app stays logged in
}


class LoginSession(SQLModel, table=True):
    __tablename__ = "login_session"
    __table_args__ = (CheckConstraint("kind IN ('resident', 'staff', 'api')", name="kind"),)

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    kind: str = Field(max_length=10)
    subject_id: int  # resident.id or staff_user.id, by kind
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime = Field(index=True)  # the absolute end


class Login(NamedTuple):
    """A live login as a request sees it (built from the row without the ORM: every page asks)."""

    id: int
    kind: str
    subject_id: int
    last_seen_at: datetime
    expires_at: datetime

    def live(self, now: datetime) -> bool:
        return now < self.expires_at and now - self.last_seen_at < LIFETIMES[self.kind].idle


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, kind: str, subject_id: int, *, now: datetime) -> str:
    """A new session for ``subject_id``; returns the token for the browser.  Sweeps out expired rows."""
    session.execute(delete(LoginSession).where(LoginSession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    session.add(LoginSession(token_hash=_digest(token), kind=kind, subject_id=subject_id, created_at=now,
                             last_seen_at=now, expires_at=now + LIFETIMES[kind].absolute))
    session.flush()
    return token


_BY_DIGEST = (select(*(LoginSession.__table__.c[name] for name in Login._fields))
              .where(LoginSession.token_hash == bindparam("digest")))


def resume(engine: Engine, token: str, *, now: datetime, reading: Connection | None = None) -> Login | None:
    """The live session for ``token``, or None (unknown, ended or expired: an expired one is removed).
    Every page asks: one prepared statement on a bare connection (``reading``: the request's own), no
    ORM session."""
    with nullcontext(reading) if reading is not None else engine.connect() as connection:
        row = connection.execute(_BY_DIGEST, {"digest": _digest(token)}).first()
    if row is None:
        return None
    found = Login(*row)
    if not found.live(now):
        with unit_of_work(engine) as db:
            db.execute(delete(LoginSession).where(LoginSession.id == found.id))
        return None
    if now - found.last_seen_at >= TOUCH_EVERY:
        with unit_of_work(engine) as db:
            db.execute(update(LoginSession).where(LoginSession.id == found.id).values(last_seen_at=now))
    return found


def end(session: Session, token: str) -> None:
    session.execute(delete(LoginSession).where(LoginSession.token_hash == _digest(token)))
