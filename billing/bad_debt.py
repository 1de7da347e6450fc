"""坏账 and 核销: after the dunning ladder is exhausted, the collections desk marks an account's
debt bad, and a write-off clears it to expense with two people's consent.

Candidates: a post-paid account disconnected (its case reached the disconnection order, or its
status says so) whose oldest overdue bill is more than ``after_days`` past due; a prepaid account
whose cut was ordered more than ``after_days`` ago and is still below zero; and an account closed
(moved out) with its final bill overdue, which no ladder can cut.

Marking (with a reason) holds the ladder: no more reminders, notices or orders for the account,
while its history stays as it is.  A write-off is asked for by one person (the arrears then, with
a reason) and approved or rejected by another (``billing.four_eyes``; the table's CHECK agrees).
Approval first posts the late fees accrued up to that day (so none accrues later on bills the
write-off paid), then moves the whole arrears ``expense:bad_debt -> customer`` under
``bad-debt:<write-off id>`` on the business day: the credit is allocated like any other, oldest
bill first, so the bills read as paid (by the write-off) and accrue no more fees.  Rejection
changes nothing but the request.  Later money is recovered by ``billing.bad_debt_recovery``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlmodel import Session

from billing import allocation, dunning, events, four_eyes, late_fee_posting, ledger
from billing.accounts import CLOSED, DISCONNECTED, POSTPAID, Account
from billing.audit import audit
from billing.bad_debt_records import (
    HOLDING, MARKED, MAX_REASON, REQUESTED, WRITTEN_OFF, BadDebt, BadDebtWriteOff,
    held_accounts,
)
from billing.clock import beijing_date
from billing.db import among
from billing.dunning_records import ORDERED
from billing.errors import BillingError, require_text
from billing.four_eyes import locked
from billing.ledger import Posting

EXPENSE, RECOVERED_REVENUE = "expense:bad_debt", "revenue:bad_debt_recovered"
WRITE_OFF_CODE, RECOVERY_CODE = "bad_debt", "bad_debt_recovery"  # transfer codes
AFTER_DAYS = 180
DISCONNECTED_LONG, MOVED_OUT = "disconnected", "moved_out"  # why an account is a candidate
MARKED_EVENT, WRITTEN_OFF_EVENT = "bad_debt_marked", "bad_debt_written_off"


class BadDebtNotAllowed(BillingError):
    """The account's or the request's state forbids it: nothing changed."""

    code = "bad_debt_not_allowed"


@dataclass(frozen=True)
class Candidate:
    account_id: int
    account_no: str
    holder_name: str
    owed_fen: int
    days: int  # past due (post-paid) or since the cut was ordered (prepaid)
    why: str  # DISCONNECTED_LONG or MOVED_OUT


def candidates(session: Session, *, on: date, after_days: int = AFTER_DAYS) -> list[Candidate]:
    """Accounts whose ladder is exhausted and whose debt is not marked yet, the most owed first."""
    debtors = dunning.debtors_of(session, dunning.unpaid_bills(session, on), on)
    held = held_accounts(session)
    cases = dunning.open_cases(session)
    accounts = {row.id: row for row in session.execute(
        select(Account.id, Account.holder_name, Account.status).where(among(session, Account.id, debtors)))}
    found = []
    for account_id, debtor in debtors.items():
        if account_id in held:
            continue
        ordered, account = cases.get(account_id, {}).get(ORDERED), accounts[account_id]
        if debtor.regime == POSTPAID:
            days, cut = (on - debtor.oldest[1]).days, ordered is not None or account.status == DISCONNECTED
        else:
            days, cut = (on - beijing_date(ordered.at)).days if ordered else 0, ordered is not None
        why = MOVED_OUT if account.status == CLOSED else DISCONNECTED_LONG if cut and days > after_days else None
        if why:
            found.append(Candidate(account_id, debtor.account_no, account.holder_name, debtor.owed_fen, days, why))
    return sorted(found, key=lambda c: (-c.owed_fen, c.account_no))


def arrears_fen(session: Session, account_id: int) -> int:
    """What the account owes now (its negative balance), 0 when it owes nothing."""
    return max(-ledger.customer_balances(session, [account_id]).get(account_id, 0), 0)


def mark(session: Session, account_id: int, *, reason: str, staff_id: int, now: datetime,
         after_days: int = AFTER_DAYS) -> BadDebt:
    """Mark a candidate's debt bad, with a reason; the ladder stops for it from now on."""
    reason = require_text(reason, "bad_debt_reason", "a bad debt's reason", MAX_REASON)
    allocation.customer_ledger_id(session, account_id, lock=True)  # one mark (or payment) of an account at a time
    if account_id in held_accounts(session):
        raise BadDebtNotAllowed(f"account {account_id}'s debt is already marked bad", field="account_no")
    candidate = next((c for c in candidates(session, on=beijing_date(now), after_days=after_days)
                      if c.account_id == account_id), None)
    if candidate is None:
        raise BadDebtNotAllowed("only an account whose dunning ladder is exhausted can be marked bad debt",
                                field="candidate", after_days=after_days)
    debt = BadDebt(account_id=account_id, owed_fen=arrears_fen(session, account_id) or candidate.owed_fen,
                   reason=reason, marked_by=staff_id, marked_at=now)
    session.add(debt)
    session.flush()
    events.emit(session, MARKED_EVENT, at=now, account_id=account_id, bad_debt_id=debt.id, owed_fen=debt.owed_fen,
                why=candidate.why)
    audit(session, staff_id=staff_id, action="mark_bad_debt", target=f"account:{account_id}", at=now,
          after=_snapshot(debt))
    return debt


def request_write_off(session: Session, bad_debt_id: int, *, reason: str, staff_id: int,
                      now: datetime) -> BadDebtWriteOff:
    """Ask for a marked debt to be written off; one request waits at a time."""
    reason = require_text(reason, "write_off_reason", "a write-off's reason", MAX_REASON)
    debt = _marked(session, bad_debt_id)
    waiting = session.execute(select(BadDebtWriteOff.id).where(BadDebtWriteOff.bad_debt_id == debt.id,
                                                               BadDebtWriteOff.status == REQUESTED)).first()
    if waiting is not None:
        raise BadDebtNotAllowed(f"bad debt {debt.id} already waits for a write-off decision", field="state")
    owed = arrears_fen(session, debt.account_id)
    if not owed:
        raise BadDebtNotAllowed("the account owes nothing now", field="bad_debt")
    write_off = BadDebtWriteOff(bad_debt_id=debt.id, requested_fen=owed, reason=reason, requested_by=staff_id,
                                requested_at=now)
    session.add(write_off)
    session.flush()
    audit(session, staff_id=staff_id, action="request_bad_debt_write_off", target=f"account:{debt.account_id}",
          at=now, after=_request_snapshot(write_off))
    return write_off


def decide(session: Session, write_off_id: int, *, staff_id: int, approve: bool, now: datetime) -> BadDebtWriteOff:
    """Approve (post the write-off) or reject; never one's own request."""
    return four_eyes.decide(session, _KIND, write_off_id, staff_id=staff_id, approve=approve, now=now)


def _write_off(session: Session, write_off: BadDebtWriteOff, now: datetime) -> None:
    """Fees up to today, then the whole arrears to expense; the allocation marks the bills paid by it.
    The balance is locked before the bad debt, in the order a payment takes them (no deadlock)."""
    account_id = session.execute(select(BadDebt.account_id).where(BadDebt.id == write_off.bad_debt_id)).scalar_one()
    allocation.customer_ledger_id(session, account_id, lock=True)
    debt = _marked(session, write_off.bad_debt_id)
    late_fee_posting.post_late_fees(session, [debt.account_id], on=beijing_date(now), now=now)
    owed = arrears_fen(session, debt.account_id)
    if not owed:
        raise BadDebtNotAllowed("the account owes nothing now: reject the request", field="bad_debt")
    account_no = session.get(Account, debt.account_id).account_no
    posted = allocation.post(session, Posting(f"bad-debt:{write_off.id}", EXPENSE, ledger.customer_code(account_no),
                                              owed, WRITE_OFF_CODE, f"核销坏账 {debt.id}"), at=now)
    write_off.amount_fen, write_off.transfer_id = owed, posted.transfer_id
    debt.state = WRITTEN_OFF
    session.add(debt)
    events.emit(session, WRITTEN_OFF_EVENT, at=now, account_id=debt.account_id, bad_debt_id=debt.id,
                write_off_id=write_off.id, amount_fen=owed)


def _marked(session: Session, bad_debt_id: int) -> BadDebt:
    """The bad debt, locked, if it is marked and not written off or paid yet."""
    debt = locked(session, BadDebt, bad_debt_id, field="bad_debt_id", what="bad debt")
    if debt.state != MARKED:
        raise BadDebtNotAllowed(f"bad debt {debt.id} is {debt.state}, no longer marked", field="bad_debt")
    return debt


@dataclass(frozen=True)
class Marked:
    """A marked or written-off debt as the desk lists it, with its waiting request if any."""

    debt: BadDebt
    account_no: str
    holder_name: str
    owed_fen: int  # now
    written_off_fen: int
    recovered_fen: int
    waiting: BadDebtWriteOff | None
    fee_fen: int = 0  # late fee accrued to today and not posted yet: an approval today writes it off too


def marked(session: Session, *, on: date, limit: int = 200) -> list[Marked]:
    """Every bad debt, open ones first, newest first."""
    debts = session.execute(select(BadDebt, Account.account_no, Account.holder_name)
                            .join(Account, Account.id == BadDebt.account_id)
                            .order_by(BadDebt.state.notin_(HOLDING), BadDebt.id.desc()).limit(limit)).all()
    ids = [debt.id for debt, *_ in debts]
    waiting = {w.bad_debt_id: w for w in session.execute(select(BadDebtWriteOff).where(
        BadDebtWriteOff.bad_debt_id.in_(ids or [0]), BadDebtWriteOff.status == REQUESTED)).scalars()}
    account_ids = [debt.account_id for debt, *_ in debts]
    balances = ledger.customer_balances(session, account_ids)
    moved = moved_by_account(session, account_ids)
    fees: dict[int, int] = {}
    for accrual in late_fee_posting.accruals(session, [d.account_id for d, *_ in debts if d.state == MARKED], on=on):
        fees[accrual.account_id] = fees.get(accrual.account_id, 0) + accrual.unposted_fen
    return [Marked(debt, account_no, name, max(-balances.get(debt.account_id, 0), 0),
                   *moved.get(debt.account_id, (0, 0)), waiting.get(debt.id), fees.get(debt.account_id, 0))
            for debt, account_no, name in debts]


def moved_by_account(session: Session, account_ids: list[int]) -> dict[int, tuple[int, int]]:
    """(written off, recovered) fen of each account, from its ledger transfers."""
    if not account_ids:
        return {}
    t, customer = ledger.Transfer.__table__, ledger.LedgerAccount.__table__
    side = {WRITE_OFF_CODE: t.c.credit_id, RECOVERY_CODE: t.c.debit_id}
    totals: dict[int, list[int]] = {}
    for index, code in enumerate((WRITE_OFF_CODE, RECOVERY_CODE)):
        for account_id, fen in session.execute(
                select(customer.c.account_id, func.sum(t.c.amount_fen)).join(customer, customer.c.id == side[code])
                .where(t.c.code == code, customer.c.account_id.in_(account_ids)).group_by(customer.c.account_id)):
            totals.setdefault(account_id, [0, 0])[index] = int(fen)
    return {account_id: (fen[0], fen[1]) for account_id, fen in totals.items()}


def _snapshot(debt: BadDebt) -> dict:
    return {"state": debt.state, "account_id": debt.account_id, "owed_fen": debt.owed_fen, "reason": debt.reason}


def _request_snapshot(write_off: BadDebtWriteOff) -> dict:
    return {"status": write_off.status, "bad_debt_id": write_off.bad_debt_id, "requested_fen": write_off.requested_fen,
            "amount_fen": write_off.amount_fen, "reason": write_off.reason}


def _target(session: Session, write_off: BadDebtWriteOff) -> str:
    return f"account:{session.get(BadDebt, write_off.bad_debt_id).account_id}"


_KIND = four_eyes.Kind(BadDebtWriteOff, "write-off", "write_off_id", "bad_debt_write_off", BadDebtNotAllowed, _target,
                       _request_snapshot, _write_off)
