"""The daily report per channel, for finance: what the ledger says each channel took and gave back
on one Beijing business day, beside what the channel's statement says, and the settlement that
should reach the bank.

Ledger side, from the transfers through ``clearing:<channel>`` dated that day: money in is every
payment (``payment``, ``counter``) and held money (``held``: the channel took it even if we could
not place it yet), less held money a consistent report released (``unhold``, which is then posted
again as a payment); refunds are ``refund`` transfers out of clearing; fees are the day's booked
``channel_fee_day``.  Statement side: the totals kept when the fees were booked from the statement
(``dianfei payments book-fees``).  Net = gross - refunds - fees; for the online channels the
channel pays the statement's net into the bank (T+1); the counter's cash has no statement.
Beside them, the 对账 differences found on that day that are still open (未结差异).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import case, func, select
from sqlmodel import Session

from billing.ledger import LedgerAccount, Transfer
from payments.fees import FeeDay, booked_days
from payments.reconciliation_days import open_by_channel

CHANNELS = ("wechat", "alipay", "counter")
MONEY_IN, RELEASED, REFUND = ("payment", "counter", "held"), "unhold", "refund"


@dataclass(frozen=True)
class ChannelDay:
    channel: str
    day: date
    count: int  # payments the channel took (held ones included)
    gross_fen: int
    held_fen: int  # of the gross, held in suspense for a decision
    refunds: int
    refunded_fen: int
    fees: FeeDay | None  # the day's fees as booked, with the statement's totals
    open_differences: int = 0  # 对账 differences found on the day and not yet worked off

    @property
    def fee_fen(self) -> int:
        return self.fees.booked_fen if self.fees else 0

    @property
    def net_fen(self) -> int:
        return self.gross_fen - self.refunded_fen - self.fee_fen

    @property
    def settles_fen(self) -> int | None:
        """What should reach the bank: the statement's net, once its fees are booked."""
        return self.fees.statement_settles_fen if self.fees else None

    @property
    def difference_fen(self) -> int | None:
        """Statement net - ledger net: zero when the books match the channel."""
        return None if self.settles_fen is None else self.settles_fen - self.net_fen


def daily_report(session: Session, day: date) -> list[ChannelDay]:
    booked, still_open = booked_days(session, day), open_by_channel(session, day)
    moves = _clearing_moves(session, day)
    return [replace(_channel_day(channel, day, moves.get(channel, {}), booked.get(channel)),
                    open_differences=still_open.get(channel, 0)) for channel in CHANNELS]


def _channel_day(channel: str, day: date, moves: dict[tuple[str, str], tuple[int, int]], fees: FeeDay | None) -> ChannelDay:
    def total(side: str, codes: tuple[str, ...]) -> tuple[int, int]:
        found = [moves.get((side, code), (0, 0)) for code in codes]
        return sum(count for count, _ in found), sum(fen for _, fen in found)

    (in_count, in_fen), (out_count, out_fen) = total("in", MONEY_IN), total("out", (RELEASED,))
    held_count, held_fen = total("in", ("held",))
    refunds, refunded_fen = total("out", (REFUND,))
    return ChannelDay(channel, day, in_count - out_count, in_fen - out_fen, held_fen - out_fen, refunds, refunded_fen,
                      fees)


def _clearing_moves(session: Session, day: date) -> dict[str, dict[tuple[str, str], tuple[int, int]]]:
    """{channel: {("in" | "out", transfer code): (count, fen)}} through each clearing account that day."""
    clearing = select(LedgerAccount.id, LedgerAccount.code).where(LedgerAccount.code.startswith("clearing:")).subquery()
    side = case((Transfer.debit_id == clearing.c.id, "in"), else_="out")
    rows = session.execute(
        select(clearing.c.code, side, Transfer.code, func.count(), func.sum(Transfer.amount_fen))
        .join(clearing, (Transfer.debit_id == clearing.c.id) | (Transfer.credit_id == clearing.c.id))
        .where(Transfer.business_date == day)
        .group_by(clearing.c.code, side, Transfer.code)
    ).all()
    moves: dict[str, dict[tuple[str, str], tuple[int, int]]] = {}
    for code, direction, transfer_code, count, fen in rows:
        moves.setdefault(code.removeprefix("clearing:"), {})[(direction, transfer_code)] = (count, int(fen))
    return moves
