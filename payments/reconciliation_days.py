"""Whether a channel's day is closed (对账完毕): its statement was taken in and matched, and every
difference found on it is healed, written off or refunded.

    not_reconciled -> open (differences left) -> closed
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, select
from sqlmodel import Session

from payments.reconciliation_records import OPEN, Difference, Statement

NOT_RECONCILED, DAY_OPEN, CLOSED = "not_reconciled", "open", "closed"


@dataclass(frozen=True)
class ChannelDay:
    channel: str
    day: date
    reconciled: bool  # its statement is stored and matched
    differences: int
    open: int

    @property
    def state(self) -> str:
        if not self.reconciled:
            return NOT_RECONCILED
        return DAY_OPEN if self.open else CLOSED

    @property
    def closed(self) -> bool:
        return self.state == CLOSED


def channel_days(session: Session, day: date, channels: Iterable[str]) -> list[ChannelDay]:
    """Each channel's state on ``day``, in the order given."""
    stored = set(session.execute(select(Statement.channel).where(Statement.day == day)).scalars())
    counts = {channel: (total, int(still_open or 0)) for channel, total, still_open in session.execute(
        select(Difference.channel, func.count(), func.sum(case((Difference.status == OPEN, 1), else_=0)))
        .where(Difference.day == day).group_by(Difference.channel))}
    return [ChannelDay(channel, day, channel in stored, *counts.get(channel, (0, 0))) for channel in channels]


def open_by_channel(session: Session, day: date) -> dict[str, int]:
    """Open differences found on ``day``, per channel (for the daily report)."""
    return dict(session.execute(select(Difference.channel, func.count()).where(
        Difference.day == day, Difference.status == OPEN).group_by(Difference.channel)).all())
