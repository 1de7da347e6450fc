"""Channel fees (手续费 / 服务费): booked once a day per channel, exactly.

A channel charges its fee per line, in sub-fen amounts (WeChat Pay writes ``0.00600`` 元): the
statement's fee lines are summed exactly in millifen, and only the day's total is rounded half-up
to the fen (half away from zero: a day on which more fees came back with refunds than were charged
is a negative total).  ``fees:<channel>:<day>`` moves the booked fen from the channel's clearing
to ``expense:fees:<channel>`` (the other way round on a negative day), and a ``channel_fee_day``
row keeps the exact total, the booked fen and the rounding difference, for the daily report.

Booking a day again with the same total is a no-op; with another total it is refused: the day's
fees are on the books and a different statement needs a person to look at it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import BigInteger, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, select

from billing import ledger
from billing.db import insert_ignoring_duplicates
from billing.errors import InvalidInput
from billing.ledger import Posting
from billing.money import MAX_FEN, MILLIFEN_PER_FEN, format_yuan_millifen, require_fen
from payments.errors import PaymentError
from payments.gateways.base import StatementLine

CHANNELS_WITH_FEES = ("wechat", "alipay")


class FeesAlreadyBooked(PaymentError):
    code = "fees_already_booked"


class FeeDay(SQLModel, table=True):
    """A channel's fees of one day as booked: the exact total, the fen posted, the difference."""

    __tablename__ = "channel_fee_day"
    __table_args__ = (UniqueConstraint("channel", "business_date"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=10)
    business_date: date
    fee_millifen: int = Field(sa_type=BigInteger)  # the statement's fee lines, summed exactly
    booked_fen: int = Field(sa_type=BigInteger)  # the total rounded half-up to the fen, once
    rounding_millifen: int = Field(sa_type=BigInteger)  # booked - exact: what rounding added (negative: took off)
    # The statement the fees came from, for the daily report (None when booked from a bare total).
    statement_lines: int | None = None
    statement_paid_fen: int | None = Field(default=None, sa_type=BigInteger)
    statement_refunded_fen: int | None = Field(default=None, sa_type=BigInteger)
    booked_at: datetime

    @property
    def statement_settles_fen(self) -> int | None:
        """What the channel should pay into the bank for the day: paid - refunded - the fees booked."""
        if self.statement_paid_fen is None:
            return None
        return self.statement_paid_fen - self.statement_refunded_fen - self.booked_fen


def statement_fees_millifen(lines: Iterable[StatementLine]) -> int:
    """The fee lines of a statement summed exactly: refunds carry the fee that came back, negative."""
    return sum(line.fee_millifen for line in lines)


def round_to_fen(millifen: int) -> int:
    """Half-up on the magnitude (half away from zero), so a day and its mirror round alike."""
    fen = (abs(millifen) + MILLIFEN_PER_FEN // 2) // MILLIFEN_PER_FEN
    return fen if millifen >= 0 else -fen


def book_statement_fees(session: Session, channel: str, day: date, lines: list[StatementLine], *,
                        now: datetime) -> FeeDay:
    """``book_fees`` from a downloaded statement, keeping its totals beside the fees."""
    totals = {"statement_lines": len(lines),
              "statement_paid_fen": sum(line.amount_fen for line in lines if line.kind == "payment"),
              "statement_refunded_fen": sum(line.amount_fen for line in lines if line.kind == "refund")}
    return book_fees(session, channel, day, statement_fees_millifen(lines), now=now, statement=totals)


def book_fees(session: Session, channel: str, day: date, fee_millifen_total: int, *, now: datetime,
              statement: dict[str, int] | None = None) -> FeeDay:
    """Post a channel's fees of ``day`` exactly once, in the caller's transaction."""
    if channel not in CHANNELS_WITH_FEES:
        raise InvalidInput("channel", f"{channel!r} charges no fees; one of {', '.join(CHANNELS_WITH_FEES)}")
    if abs(require_fen(fee_millifen_total, "fee_millifen")) > MAX_FEN:
        raise InvalidInput("fee_millifen", f"{fee_millifen_total} millifen is beyond what the ledger holds")
    booked_fen = round_to_fen(fee_millifen_total)
    row = {"channel": channel, "business_date": day, "fee_millifen": fee_millifen_total, "booked_fen": booked_fen,
           "rounding_millifen": booked_fen * MILLIFEN_PER_FEN - fee_millifen_total, "booked_at": now,
           "statement_lines": None, "statement_paid_fen": None, "statement_refunded_fen": None} | (statement or {})
    claimed = session.execute(insert_ignoring_duplicates(session, FeeDay.__table__, ["channel", "business_date"],
                                                         returning="id"), row).scalar()
    fee_day = booked_day(session, channel, day)
    if claimed is None:
        if fee_day.fee_millifen != fee_millifen_total:
            raise FeesAlreadyBooked(
                f"the {channel} fees of {day} were booked as {format_yuan_millifen(fee_day.fee_millifen)} 元; "
                f"this statement says {format_yuan_millifen(fee_millifen_total)} 元", field="date")
        return fee_day
    if booked_fen:
        expense, clearing = f"expense:fees:{channel}", f"clearing:{channel}"
        debit, credit = (expense, clearing) if booked_fen > 0 else (clearing, expense)
        memo = f"fees {format_yuan_millifen(fee_millifen_total)} rounded by {row['rounding_millifen']} millifen"
        ledger.post(session, Posting(f"fees:{channel}:{day.isoformat()}", debit, credit, abs(booked_fen), "fee", memo,
                                     business_date=day), at=now)
    return fee_day


def booked_day(session: Session, channel: str, day: date) -> FeeDay | None:
    return session.exec(select(FeeDay).where(FeeDay.channel == channel, FeeDay.business_date == day)).first()


def booked_days(session: Session, day: date) -> dict[str, FeeDay]:
    """Every channel's booked fees of one day, by channel."""
    return {fee.channel: fee for fee in session.exec(select(FeeDay).where(FeeDay.business_date == day))}
