"""Allocation: which credit paid which bill.

A payment never "pays a bill"; it credits the balance.  Who paid what follows from the balance's
history, replayed in the order the ledger wrote it (``replay``):

- a credit (payment, bulk share, counter receipt, opening credit, a negative bill) joins the
  unallocated credits; credits are spent oldest first;
- an issued bill is owed; whatever is owed is paid oldest first: by due date, then bill number;
- any other debit (a refund, an opening arrear) takes back unallocated credit, newest first (a
  refund gives back the money that was not spent); what no credit covers is owed like a bill,
  due on its day;
- a cancelled bill is left out of the history altogether, as if it had never been issued: its
  money pays the next bills, from the day it came in.

After every replay either nothing is owed or no credit is unallocated, so the balance alone tells
whether a posting changes who paid what (``after_posting``): a credit into arrears or a debit
from credit does; anything else adds no row.  ``reallocate`` compares the replay with the rows
stored and appends the difference (reversals, then new rows); rows are never changed.

Every allocation row has ``paid_on``, the Beijing day its credit and its debit met; states,
overdue days and aging are read from the rows (``billing.bill_status``).
"""

from __future__ import annotations

from bisect import insort
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, bindparam, exists, func, insert, or_, select
from sqlmodel import Session

from billing import ledger
from billing.bill_records import CANCELLED, Allocation, Bill
from billing.db import among, bulk_insert, timestamp_value
from billing.errors import NotFound
from billing.ledger import LedgerAccount, Posted, Posting, Transfer

CUSTOMER_PREFIX = ledger.customer_code("")


@dataclass(frozen=True)
class Movement:
    """One transfer of a customer balance, as the replay sees it."""

    transfer_id: int
    credit: bool  # money onto the balance
    amount_fen: int
    on: date  # the transfer's business date
    bill_id: int | None = None  # a bill's own transfer
    due_date: date | None = None
    number: str | None = None


@dataclass(frozen=True)
class Share:
    """``amount_fen`` of credit transfer ``credit_transfer_id`` went to ``debit_transfer_id``."""

    credit_transfer_id: int
    debit_transfer_id: int
    bill_id: int | None
    amount_fen: int
    paid_on: date


@dataclass
class _Credit:
    transfer_id: int
    left_fen: int
    on: date


@dataclass(order=True)
class _Owed:
    order: tuple
    transfer_id: int = field(compare=False)
    bill_id: int | None = field(compare=False)
    left_fen: int = field(compare=False)
    on: date = field(compare=False)


def number_order(number: str) -> tuple[int, int]:
    """``2026-000123`` -> ``(2026, 123)``: numbers compare as numbers, whatever their width."""
    year, serial = number.split("-")
    return int(year), int(serial)


def _owed(movement: Movement) -> _Owed:
    if movement.bill_id is None:  # owed from its own day, before any bill due that day
        order = (movement.on, 0, movement.transfer_id, 0)
    else:
        order = (movement.due_date, 1, *number_order(movement.number))
    return _Owed(order, movement.transfer_id, movement.bill_id, movement.amount_fen, movement.on)


def replay(movements: Iterable[Movement]) -> dict[tuple[int, int], Share]:
    """Who paid what, by (credit transfer, debit transfer); ``movements`` in ledger order."""
    credits: deque[_Credit] = deque()
    owed: list[_Owed] = []
    shares: dict[tuple[int, int], Share] = {}

    def give(credit: _Credit, item: _Owed) -> None:
        amount = min(credit.left_fen, item.left_fen)
        credit.left_fen -= amount
        item.left_fen -= amount
        shares[credit.transfer_id, item.transfer_id] = Share(
            credit.transfer_id, item.transfer_id, item.bill_id, amount, max(credit.on, item.on))

    for movement in movements:
        if movement.credit:
            credits.append(_Credit(movement.transfer_id, movement.amount_fen, movement.on))
        else:
            item = _owed(movement)
            while item.bill_id is None and item.left_fen and credits:  # newest credit first
                give(credits[-1], item)
                if not credits[-1].left_fen:
                    credits.pop()
            if item.left_fen:
                insort(owed, item)
        while owed and credits:  # oldest credit to the oldest debt
            give(credits[0], owed[0])
            if not credits[0].left_fen:
                credits.popleft()
            if not owed[0].left_fen:
                owed.pop(0)
    return shares


_t, _a = Transfer.__table__, Allocation.__table__
_issued, _cancelled = Bill.__table__.alias("issued"), Bill.__table__.alias("cancelled")
_L = bindparam("ledger_id")
# A balance's transfers in ledger order, each with its bill if it is one; a cancelled bill's
# transfer and its reversal are left out.
_HISTORY = (
    select(_t.c.id, _t.c.credit_id == _L, _t.c.amount_fen, _t.c.business_date,
           _issued.c.id, _issued.c.due_date, _issued.c.number)
    .outerjoin(_issued, _issued.c.transfer_id == _t.c.id)
    .where(or_(_t.c.debit_id == _L, _t.c.credit_id == _L), or_(_issued.c.id.is_(None), _issued.c.state != CANCELLED),
           ~exists().where(_cancelled.c.cancel_transfer_id == _t.c.id))
    .order_by(_t.c.id)
)
_LS = bindparam("ledger_ids", expanding=True)
# The same for many balances at once, with both sides to tell whose each row is.
_HISTORIES = (
    select(_t.c.id, _t.c.debit_id, _t.c.credit_id, _t.c.amount_fen, _t.c.business_date,
           _issued.c.id, _issued.c.due_date, _issued.c.number)
    .outerjoin(_issued, _issued.c.transfer_id == _t.c.id)
    .where(or_(_t.c.debit_id.in_(_LS), _t.c.credit_id.in_(_LS)),
           or_(_issued.c.id.is_(None), _issued.c.state != CANCELLED),
           ~exists().where(_cancelled.c.cancel_transfer_id == _t.c.id))
    .order_by(_t.c.id)
)
_reversal = _a.alias("reversal")
_ACTIVE = select(_a.c.id, _a.c.account_id, _a.c.credit_transfer_id, _a.c.debit_transfer_id, _a.c.bill_id,
                 _a.c.amount_fen, _a.c.paid_on).where(_a.c.account_id.in_(bindparam("account_ids", expanding=True)),
                                                      _a.c.amount_fen > 0,
                                                      ~exists().where(_reversal.c.reverses_id == _a.c.id)).order_by(_a.c.id)
_INSERT = insert(_a)
_COLUMNS = ("account_id", "credit_transfer_id", "debit_transfer_id", "bill_id", "amount_fen", "reverses_id", "paid_on", "at")
_ledger = LedgerAccount.__table__
_BY_CODE = select(_ledger.c.account_id).where(_ledger.c.code == bindparam("code"))
_BY_ACCOUNT = select(_ledger.c.id).where(_ledger.c.account_id == bindparam("account_id"),
                                         _ledger.c.code.startswith(CUSTOMER_PREFIX))
# A replay locks the customer's ledger row (as any posting to it does): one replay of an account at a time.
_LOCKED = {False: _BY_ACCOUNT, True: _BY_ACCOUNT.with_for_update()}
_LOCK_MANY = select(_ledger.c.account_id, _ledger.c.id).where(
    _ledger.c.account_id.in_(bindparam("account_ids", expanding=True)),
    _ledger.c.code.startswith(CUSTOMER_PREFIX)).order_by(_ledger.c.id).with_for_update()


def history(session: Session, ledger_id: int) -> list[Movement]:
    rows = session.connection().execute(_HISTORY, {"ledger_id": ledger_id})
    return [Movement(*row) for row in rows]


def customer_ledger_id(session: Session, account_id: int, *, lock: bool = False) -> int:
    ledger_id = session.connection().execute(_LOCKED[lock], {"account_id": account_id}).scalar()
    if ledger_id is None:
        raise NotFound(f"account {account_id} has no customer balance", field="account_id")
    return ledger_id


def reallocate(session: Session, account_id: int, *, at: datetime) -> int:
    """Replay the account's history and append the rows that make the stored allocation equal to
    it; returns how many rows were written."""
    customer_ledger_id(session, account_id)  # NotFound for an account without a balance
    return reallocate_many(session, [account_id], at=at)


def reallocate_many(session: Session, account_ids: list[int], *, at: datetime) -> int:
    """``reallocate`` for many accounts in three statements and one insert, whatever their number
    (the bulk paths: the daily settlement)."""
    db = session.connection()
    ledger_ids = dict(db.execute(_LOCK_MANY, {"account_ids": account_ids}).all())
    owner = {ledger_id: account_id for account_id, ledger_id in ledger_ids.items()}
    histories: dict[int, list[Movement]] = {account_id: [] for account_id in ledger_ids}
    for transfer_id, debit_id, credit_id, *rest in db.execute(_HISTORIES, {"ledger_ids": list(owner)}):
        for side, credit in ((debit_id, False), (credit_id, True)):
            if side in owner:
                histories[owner[side]].append(Movement(transfer_id, credit, *rest))
    have: dict[int, dict[tuple[int, int], list]] = {account_id: {} for account_id in ledger_ids}
    for row in db.execute(_ACTIVE, {"account_ids": list(ledger_ids)}):
        have[row.account_id].setdefault((row.credit_transfer_id, row.debit_transfer_id), []).append(row)
    rows = []
    for account_id in sorted(ledger_ids):
        rows += _difference(account_id, have[account_id], replay(histories[account_id]), at)
    _insert(db, rows, at)
    return len(rows)


def _insert(db, rows: list[dict], at: datetime) -> None:
    if len(rows) > 1:  # by COPY on PostgreSQL: many accounts' rows at once
        stamp = timestamp_value(db, at)
        bulk_insert(db, _a, _COLUMNS, [(*(row[name] for name in _COLUMNS[:-2]), row["paid_on"].isoformat(), stamp)
                                       for row in rows])
    elif rows:
        db.execute(_INSERT, rows)


def _difference(account_id: int, have: dict[tuple[int, int], list], wanted: dict[tuple[int, int], Share],
                at: datetime) -> list[dict]:
    """The rows that turn the stored allocation into the replay's: reversals of what changed, then new rows."""
    rows = []
    for key in sorted(have.keys() | wanted.keys()):
        old, new = have.get(key, []), wanted.get(key)
        if new and [(row.amount_fen, row.paid_on) for row in old] == [(new.amount_fen, new.paid_on)]:
            continue
        rows += [_row(account_id, row.credit_transfer_id, row.debit_transfer_id, row.bill_id, -row.amount_fen,
                      row.paid_on, at, reverses_id=row.id) for row in old]
        if new:
            rows.append(_row(account_id, *key, new.bill_id, new.amount_fen, new.paid_on, at))
    return rows


def _row(account_id: int, credit_id: int, debit_id: int, bill_id: int | None, amount_fen: int, paid_on: date,
         at: datetime, *, reverses_id: int | None = None) -> dict:
    return {"account_id": account_id, "credit_transfer_id": credit_id, "debit_transfer_id": debit_id,
            "bill_id": bill_id, "amount_fen": amount_fen, "paid_on": paid_on, "at": at, "reverses_id": reverses_id}


def post(session: Session, posting: Posting, *, at: datetime, known_ids: dict[str, int] | None = None) -> Posted:
    """``ledger.post``, then the allocation of every customer balance it moved: the way money onto
    or off a balance is booked (payments of every channel, refunds)."""
    posted = ledger.post(session, posting, at=at, known_ids=known_ids)
    after_posting(session, posting, posted, at=at)
    return posted


def after_posting(session: Session, posting: Posting, posted: Posted, *, at: datetime) -> None:
    """Re-allocate a customer balance that a new transfer moved, when it changes who paid what: a
    credit into arrears (it pays what is owed) or a debit from credit (it takes that credit)."""
    if not posted.created:
        return
    sides = ((posting.credit, posted.credit_balance_fen - posting.amount_fen < 0),
             (posting.debit, posted.debit_balance_fen + posting.amount_fen > 0))
    for code, moves_allocation in sides:
        if moves_allocation and code.startswith(CUSTOMER_PREFIX):
            account_id = session.connection().execute(_BY_CODE, {"code": code}).scalar()
            if account_id is not None:  # a customer balance of a 户号 (tests open bare ones)
                reallocate(session, account_id, at=at)


def allocated(session: Session, account_id: int, *, on: date | None = None) -> tuple[dict[int, int], dict[int, int]]:
    """Allocated fen by credit transfer and by debit transfer (as of the end of ``on``, if given)."""
    amount = _a.c.amount_fen
    condition = and_(_a.c.account_id == account_id, *([_a.c.paid_on <= on] if on else []))
    by_credit: dict[int, int] = {}
    by_debit: dict[int, int] = {}
    for credit_id, debit_id, fen in session.execute(
            select(_a.c.credit_transfer_id, _a.c.debit_transfer_id, amount).where(condition)):
        by_credit[credit_id] = by_credit.get(credit_id, 0) + fen
        by_debit[debit_id] = by_debit.get(debit_id, 0) + fen
    return by_credit, by_debit


@dataclass(frozen=True)
class IntoCredit:
    """A debit just posted (transfer ``transfer_id``, business date ``on``) onto a balance that held
    ``balance_fen`` > 0 of credit before it: a bill (``bill_id``) or a prepaid day's charge (None)."""

    account_id: int
    ledger_id: int
    balance_fen: int
    transfer_id: int
    bill_id: int | None
    amount_fen: int
    on: date


def into_credit(session: Session, debits: list[IntoCredit], *, at: datetime) -> None:
    """``after_posting`` for many new debits at once (the bill run's bills, the daily settlement's
    charges), without replaying each balance's history: on a balance in credit nothing is owed, so
    ``replay`` pays the debit from the unallocated credits, oldest first for a bill and newest first
    for any other debit.  Those credits are read for all the balances in one query; a balance whose
    unallocated credits do not add up to it is replayed in full instead (``reallocate``)."""
    if not debits:
        return
    left = _unallocated(session, [debit.ledger_id for debit in debits])
    rows = []
    for debit in debits:
        credits = left.get(debit.ledger_id, [])
        if sum(credit.left_fen for credit in credits) != debit.balance_fen:
            reallocate(session, debit.account_id, at=at)
            continue
        owed = debit.amount_fen
        for credit in credits if debit.bill_id is not None else reversed(credits):
            if not owed:
                break
            amount = min(owed, credit.left_fen)
            owed -= amount
            rows.append(_row(debit.account_id, credit.transfer_id, debit.transfer_id, debit.bill_id, amount,
                             max(credit.on, debit.on), at))
    _insert(session.connection(), rows, at)


def _unallocated(session: Session, ledger_ids: list[int]) -> dict[int, list[_Credit]]:
    """The credits of each balance with fen not allocated yet, in ledger order (cancelled bills and
    their reversals left out, as ``replay`` leaves them out)."""
    left = _t.c.amount_fen - func.coalesce(func.sum(_a.c.amount_fen), 0)
    query = (select(_t.c.credit_id, _t.c.id, left, _t.c.business_date)
             .outerjoin(_a, _a.c.credit_transfer_id == _t.c.id)
             .where(among(session, _t.c.credit_id, ledger_ids),
                    ~exists().where(_issued.c.transfer_id == _t.c.id, _issued.c.state == CANCELLED),
                    ~exists().where(_cancelled.c.cancel_transfer_id == _t.c.id))
             .group_by(_t.c.id).having(left > 0).order_by(_t.c.id))
    credits: dict[int, list[_Credit]] = {}
    for ledger_id, transfer_id, fen, on in session.execute(query):
        credits.setdefault(ledger_id, []).append(_Credit(transfer_id, int(fen), on))
    return credits
