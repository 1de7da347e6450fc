"""What 对账 keeps: each channel's daily statement as taken in (its hash and its lines), and the
differences found matching it against our orders and ledger, open until healed or decided.

A difference ends healed (matched since, or settled by a query), written off (a second person
approved booking it to expense or unclaimed revenue, payments.write_offs) or refunded (the money
went back to the payer through a refund, its number kept on the row).

A difference is keyed by (channel, class, ref): the same transaction found again on a rerun, or
on the next day's file, is the same row, so nothing is ever flagged twice.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Text, UniqueConstraint, update
from sqlmodel import Field, Session, SQLModel

OPEN, HEALED, WRITTEN_OFF, REFUNDED = "open", "healed", "written_off", "refunded"
STATUSES = (OPEN, HEALED, WRITTEN_OFF, REFUNDED)
RESOLVED = (HEALED, WRITTEN_OFF, REFUNDED)  # a channel-day whose differences are all one of these is closed
MATCHED = "matched"
CHANNEL_ONLY, LEDGER_ONLY = "channel_only", "ledger_only"  # 长款, 短款
AMOUNT_MISMATCH, STATUS_MISMATCH, DUPLICATE_PAYMENT = "amount_mismatch", "status_mismatch", "duplicate_payment"
CLASSES = (CHANNEL_ONLY, LEDGER_ONLY, AMOUNT_MISMATCH, STATUS_MISMATCH, DUPLICATE_PAYMENT)


class Statement(SQLModel, table=True):
    """One channel's statement of one Beijing day, as taken in: the file's SHA-256 makes a second,
    different file for the same day visible (it is refused)."""

    __tablename__ = "statement"
    __table_args__ = (UniqueConstraint("channel", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=10)
    day: date
    merchant_id: str = Field(max_length=32)
    sha256: str = Field(max_length=64)
    source: str = Field(max_length=10)  # gateway | file | counter
    lines: int
    paid_fen: int = Field(sa_type=BigInteger)
    refunded_fen: int = Field(sa_type=BigInteger)
    fee_millifen: int = Field(sa_type=BigInteger)
    taken_at: datetime


class StatementEntry(SQLModel, table=True):
    """One line of a stored statement, in fen (fees exact, in millifen)."""

    __tablename__ = "statement_entry"

    id: int | None = Field(default=None, primary_key=True)
    statement_id: int = Field(foreign_key="statement.id", index=True)
    kind: str = Field(max_length=10)  # payment | refund
    channel_txn_id: str = Field(max_length=64, index=True)
    out_trade_no: str = Field(max_length=64)
    refund_no: str = Field(default="", max_length=64)
    amount_fen: int = Field(sa_type=BigInteger)
    fee_millifen: int = Field(sa_type=BigInteger)
    at: datetime


class Difference(SQLModel, table=True):
    """A statement line or a ledger item that does not match, with the evidence finance needs."""

    __tablename__ = "reconciliation_difference"
    __table_args__ = (
        UniqueConstraint("channel", "kind", "ref"),
        CheckConstraint("status IN ('open', 'healed', 'written_off', 'refunded')", name="status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=10)
    day: date = Field(index=True)  # the statement day it was found on
    kind: str = Field(max_length=20)  # one of CLASSES
    ref: str = Field(max_length=64)  # the channel transaction id, refund number or cashier close
    out_trade_no: str = Field(default="", max_length=64)
    amount_fen: int = Field(sa_type=BigInteger)
    evidence: str = Field(sa_type=Text)  # JSON: statement line, order, transfers, notifications
    status: str = Field(default=OPEN, max_length=12, index=True)
    found_at: datetime
    healed_at: datetime | None = None
    resolution: str = Field(default="", max_length=200)
    refund_no: str = Field(default="", max_length=64)  # the refund that sends the money back, once asked for

    @property
    def on_refund_line(self) -> bool:
        """Whether the channel's line is a refund (the ref is a refund number, not a payment)."""
        try:
            line = json.loads(self.evidence or "{}").get("statement_line") or {}
        except (ValueError, AttributeError):
            return False
        return line.get("kind") == "refund"


def close_refunded(session: Session, refund_nos: list[str], now: datetime) -> int:
    """Open differences whose money went back through one of these (confirmed) refunds are refunded."""
    if not refund_nos:
        return 0
    return session.execute(update(Difference).where(Difference.status == OPEN, Difference.refund_no.in_(refund_nos))
                           .values(status=REFUNDED, healed_at=now, resolution="refunded to the payer")).rowcount
