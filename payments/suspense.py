"""Suspense: verified money we hold as an incident, on the books until finance decides.

A channel's clearing account must equal what the channel's statement says it took, so money we
cannot place (an unknown order, a different amount, another channel) is booked at once, in the
transaction that holds it: ``held:<channel>:<txn>`` moves it from the channel's clearing to
``suspense:<channel>``.  It leaves suspense when it is decided:

- credited to a 户号 (a staff decision): ``pay:<channel>:<txn>``, suspense -> customer;
- refunded: ``refund:<refund_no>``, suspense -> clearing, when the channel confirms the refund;
- released by a later consistent report of the same transaction: ``unhold:<channel>:<txn>``,
  suspense -> clearing, before the report is settled like any other.

So the suspense balance of a channel is the sum of its held payments not yet credited or refunded.
A report for another merchant (``wrong_merchant``) is not our money and is not booked.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from billing import ledger
from billing.ledger import Posting, Transfer


def suspense_code(channel: str) -> str:
    return f"suspense:{channel}"


def is_suspense(code: str) -> bool:
    return code.startswith("suspense:")


def hold(session: Session, *, channel: str, txn: str, amount_fen: int, memo: str, now: datetime) -> None:
    ledger.post(session, Posting(f"held:{channel}:{txn}", f"clearing:{channel}", suspense_code(channel), amount_fen,
                                 "held", memo), at=now)


def _held_fen(session: Session, channel: str, txn: str) -> int | None:
    """What ``hold`` booked for the transaction; None for money held before suspense existed."""
    return session.execute(select(Transfer.amount_fen).where(Transfer.key == f"held:{channel}:{txn}")).scalar()


def holding_account(session: Session, channel: str, txn: str) -> str:
    """Where held money sits on the books: suspense, or the clearing of money held before suspense existed."""
    return suspense_code(channel) if _held_fen(session, channel, txn) is not None else f"clearing:{channel}"


def release(session: Session, *, channel: str, txn: str, now: datetime) -> None:
    """Held money that a consistent report now places: back to clearing, for the report to post."""
    held_fen = _held_fen(session, channel, txn)
    if held_fen is not None:
        ledger.post(session, Posting(f"unhold:{channel}:{txn}", suspense_code(channel), f"clearing:{channel}",
                                     held_fen, "unhold", "released by a consistent report"), at=now)
