"""Rate limits that hold across web workers and hosts: hit counters kept in the database.

A ``Rule`` allows ``limit`` hits per ``window`` for one key (a phone, a client address, a user
name).  Hits are counted in buckets of a tenth of the window, one row per (rule, key, bucket), so
the window slides in tenths.  A hit is an atomic upsert (``hits = hits + 1 RETURNING hits``): the
bucket row is locked until the transaction ends, so two workers cannot both take the last hit.
``take`` counts a hit inside the caller's transaction and raises when it is one too many; the
caller's rollback then un-counts it, so refused requests never extend a limit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, Column, Index, delete, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel, select

from billing.errors import RateLimited

BUCKETS_PER_WINDOW = 10
KEY_LENGTH = 100


class ThrottleBucket(SQLModel, table=True):
    __tablename__ = "throttle_bucket"
    __table_args__ = (Index("ix_throttle_bucket_rule_start", "rule", "start"),)

    rule: str = Field(max_length=40, primary_key=True)
    key: str = Field(max_length=KEY_LENGTH, primary_key=True)
    start: int = Field(sa_column=Column(BigInteger, primary_key=True))  # bucket start, seconds since the epoch
    hits: int


@dataclass(frozen=True)
class Rule:
    """``limit`` hits per ``window`` and key; ``field`` names what a refusal is about (for its message)."""

    name: str
    limit: int
    window: timedelta
    field: str

    @property
    def bucket_seconds(self) -> int:
        return max(1, int(self.window.total_seconds()) // BUCKETS_PER_WINDOW)

    def bucket(self, now: datetime) -> int:
        seconds = int(now.timestamp())
        return seconds - seconds % self.bucket_seconds

    def oldest_bucket(self, now: datetime) -> int:
        return self.bucket(now) - (BUCKETS_PER_WINDOW - 1) * self.bucket_seconds


def _key(key: str) -> str:
    """Keys are stored as given, unless too long for the column (then by their digest)."""
    return key if len(key) <= KEY_LENGTH else hashlib.sha256(key.encode()).hexdigest()


def hit(session: Session, rule: Rule, key: str, *, now: datetime) -> int:
    """Count one hit; return the hits in the window, this one included."""
    key, current = _key(key), rule.bucket(now)
    session.execute(delete(ThrottleBucket).where(ThrottleBucket.rule == rule.name,
                                                 ThrottleBucket.start < rule.oldest_bucket(now)))
    insert = (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert(ThrottleBucket)
    upsert = insert.values(rule=rule.name, key=key, start=current, hits=1).on_conflict_do_update(
        index_elements=["rule", "key", "start"], set_={"hits": ThrottleBucket.__table__.c.hits + 1},
    ).returning(ThrottleBucket.__table__.c.hits)
    in_bucket = session.execute(upsert).scalar_one()
    return in_bucket + _hits(session, rule, key, now, before=current)


def take(session: Session, rule: Rule, key: str, *, now: datetime) -> None:
    """Count one hit, refusing it (``RateLimited``) when it is over the limit."""
    if hit(session, rule, key, now=now) > rule.limit:
        raise RateLimited(f"more than {rule.limit} in {rule.window} ({rule.name})", field=rule.field)


def exceeded(session: Session, rule: Rule, key: str, *, now: datetime) -> bool:
    """Whether ``key`` has used up its hits in the window (without counting one)."""
    return _hits(session, rule, _key(key), now) >= rule.limit


def clear(session: Session, rule: Rule, key: str) -> None:
    session.execute(delete(ThrottleBucket).where(ThrottleBucket.rule == rule.name, ThrottleBucket.key == _key(key)))


def _hits(session: Session, rule: Rule, key: str, now: datetime, before: int | None = None) -> int:
    query = select(func.coalesce(func.sum(ThrottleBucket.hits), 0)).where(
        ThrottleBucket.rule == rule.name, ThrottleBucket.key == key, ThrottleBucket.start >= rule.oldest_bucket(now))
    if before is not None:
        query = query.where(ThrottleBucket.start < before)
    return int(session.exec(query).one())
