"""Money that comes in after a write-off, and money that comes in on a debt marked bad.

The accounting (a decision, since the issue was silent on it): a payment on a written-off account
is booked as every payment is, a credit to the customer's balance (it pays any bill owed since
first, as allocation always does).  Whatever credit that leaves on the balance, up to what was
written off and not recovered yet, then moves ``customer -> revenue:bad_debt_recovered`` under
``bad-debt-recovery:<payment transfer id>`` (idempotent by the payment), on the payment's
business day.  The expense of the write-off stays in its month; the recovery is income of the
month the money came, shown apart in the finance statement.  The balance is not left in credit
by money that paid an old debt.  Once all of it is recovered the bad debt ends (``recovered``)
and the ladder takes the account back (an open case then closes, or orders reconnection).

A debt marked bad but not written off ends (``paid``) when a payment clears the arrears.

Runs inside the payment's transaction, from the path every channel's money takes
(``payments.settlement.credit_account``); each recovery writes an event on the account.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlmodel import Session

from billing import allocation, events, ledger
from billing.bad_debt import RECOVERED_REVENUE, RECOVERY_CODE, moved_by_account
from billing.bad_debt_records import HOLDING, MARKED, PAID, RECOVERED, WRITTEN_OFF, BadDebt
from billing.ledger import Posting

RECOVERED_EVENT = "bad_debt_recovered"

_debts = BadDebt.__table__
# Every payment asks this: one indexed look-up, nothing more for an account in good standing.
_OPEN = select(_debts.c.id, _debts.c.state).where(_debts.c.account_id == bindparam("account_id"),
                                                  _debts.c.state.in_(HOLDING))


def after_payment(session: Session, *, account_id: int, account_no: str, payment_transfer_id: int,
                  balance_fen: int, now: datetime) -> int:
    """After a payment that left the balance at ``balance_fen``: recover written-off debt from the
    credit, or end a marked debt the payment cleared.  Returns the fen recovered."""
    debt = session.connection().execute(_OPEN, {"account_id": account_id}).first()
    if debt is None or balance_fen < 0:
        return 0
    if debt.state == MARKED:
        _end(session, debt.id, PAID, now)
        return 0
    written_off, recovered = moved_by_account(session, [account_id]).get(account_id, (0, 0))
    amount = min(balance_fen, written_off - recovered)
    if amount > 0:
        allocation.post(session, Posting(f"bad-debt-recovery:{payment_transfer_id}", ledger.customer_code(account_no),
                                         RECOVERED_REVENUE, amount, RECOVERY_CODE, f"收回已核销坏账 {debt.id}"), at=now)
        events.emit(session, RECOVERED_EVENT, at=now, account_id=account_id, bad_debt_id=debt.id, amount_fen=amount,
                    payment_transfer_id=payment_transfer_id, left_fen=written_off - recovered - amount)
    if debt.state == WRITTEN_OFF and recovered + amount >= written_off:
        _end(session, debt.id, RECOVERED, now)
    return max(amount, 0)


def _end(session: Session, debt_id: int, state: str, now: datetime) -> None:
    session.execute(update(BadDebt).where(BadDebt.id == debt_id).values(state=state, ended_at=now))
