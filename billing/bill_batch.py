"""A chunk of drafted bills written at once: the bulk twin of ``bills.create`` (held or issued)
for the bill run, writing the very rows the single-account path writes, a table at a time.

Ids are reserved up front (SQLite: after the largest, under the write lock the transaction
holds; PostgreSQL: from the table's sequence), so that transfers can be inserted before the bills
that name them and no row is written twice: the bills, their lines, the ``bill:<id>`` transfers
with the balances they move (the ledger's cached totals, locked and moved once per chunk), the
allocation of credit already on a balance, ``bill_issued`` events, the run rows, the carried
estimates and the review items of held bills.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Date, DateTime, bindparam, func, select, text, update
from sqlmodel import Session

from billing import bills, ledger
from billing.allocation import IntoCredit, into_credit, reallocate
from billing.bill_drafts import Made
from billing.bill_records import HELD, ISSUED, Bill, BillLine
from billing.bill_run_records import RUN_HELD, RUN_ISSUED, BillRunAccount
from billing.clock import beijing_date
from billing.db import among, bulk_insert, insert_ignoring_duplicates, timestamp_value
from billing.errors import InvalidInput
from billing.events import Event
from billing.ledger import LedgerAccount, Transfer
from billing.money import MAX_FEN
from billing.reads import EstimateCarry
from billing.review import ReviewItem, item_row

BILL_REVIEW = "bill"  # the review queue's kind for a held bill


@dataclass(frozen=True)
class Billed:
    account: object  # anything with an Account's columns
    made: Made


def write(session: Session, billed: Sequence[Billed], start: date, *, now: datetime) -> None:
    """Write ``billed`` (in account order) as ``bills.create`` would one after the other, with
    their run rows, carried estimates and review items."""
    if not billed:
        return
    issue_on = beijing_date(now)
    totals = _checked_totals([one.made.draft for one in billed])
    issued = [n for n, one in enumerate(billed) if not one.made.holds]
    numbers = dict(zip(issued, bills.numbers(session, issue_on.year, len(issued)) if issued else ()))
    bill_ids = _reserve(session, Bill, len(billed))
    rows = [_bill(one.made.draft, bill_id, total, now, issue_on, numbers.get(n))
            for n, (one, bill_id, total) in enumerate(zip(billed, bill_ids, totals))]
    posted = [n for n in issued if totals[n]]
    postings = [bills.posting(totals[n], numbers[n], billed[n].account.account_no, bills.transfer_key(bill_ids[n]),
                              reverse=False, on=issue_on) for n in posted]
    transfer_ids = _reserve(session, Transfer, len(posted))
    for n, transfer_id in zip(posted, transfer_ids):
        rows[n]["transfer_id"] = transfer_id
    before = _post(session, list(zip(transfer_ids, postings)), [one.account.id for one in billed], now)
    _insert(session, Bill.__table__, rows)
    _insert_tuples(session, BillLine.__table__, _LINE_COLUMNS, [
        (bill_id, position, line.kind, line.description_key, line.energy_wh, line.unit_price_millifen_per_kwh,
         line.amount_fen) for one, bill_id in zip(billed, bill_ids) for position, line in enumerate(one.made.draft.lines, 1)])
    _allocate(session, [(billed[n].account.id, rows[n], posting) for n, posting in zip(posted, postings)], before, now)
    _after_bills(session, billed, rows, start, now)


def _checked_totals(drafts: list[bills.Draft]) -> list[int]:
    """``bills.checked_total`` of each draft, checked once per period and tuple of lines: drafts
    priced alike share their lines' tuple (``bill_drafts.draft``), and checking them was a tenth
    of the run.  By the tuple's identity: ``drafts`` keeps every tuple alive meanwhile."""
    known: dict[tuple[int, date, date], int] = {}
    totals = []
    for made in drafts:
        key = (id(made.lines), made.period_start, made.period_end)
        if key not in known:
            known[key] = bills.checked_total(made)
        totals.append(known[key])
    return totals


def _allocate(session: Session, posted: list[tuple[int, dict, ledger.Posting]], before: dict[str, tuple[int, int]],
              now: datetime) -> None:
    """``allocation.after_posting`` for each bill: a bill into credit takes it; a negative bill
    (posted to the customer's credit) into arrears pays them."""
    into = []
    for account_id, row, posting in posted:
        if posting.credit == bills.REVENUE and before[posting.debit][1] > 0:
            ledger_id, balance = before[posting.debit]
            into.append(IntoCredit(account_id, ledger_id, balance, row["transfer_id"], row["id"],
                                          posting.amount_fen, posting.business_date))
        elif posting.debit == bills.REVENUE and before[posting.credit][1] < 0:
            reallocate(session, account_id, at=now)
    into_credit(session, into, at=now)


def _after_bills(session: Session, billed: Sequence[Billed], rows: list[dict], start: date, now: datetime) -> None:
    """The events of the issued bills, the run rows, the carried estimates, the review items of the held."""
    _insert_tuples(session, Event.__table__, _EVENT_COLUMNS, [
        (bills.BILL_ISSUED, one.account.id, _payload(bills.issued_payload(_Columns(row), one.account.account_no)), now)
        for one, row in zip(billed, rows) if row["state"] == ISSUED])
    # A plain insert: a second run racing this one fails on the primary key and rolls its chunk back.
    _insert_tuples(session, BillRunAccount.__table__, _RUN_COLUMNS, [
        (start, one.account.id, row["id"], one.made.energy_wh, RUN_HELD if one.made.holds else RUN_ISSUED, now)
        for one, row in zip(billed, rows)])
    carried = [{"carry_id": carry_id, "bill_id": row["id"]} for one, row in zip(billed, rows)
               for carry_id in one.made.carry_ids]
    if carried:
        session.connection().execute(_CARRY, carried)
    held = [(one, row) for one, row in zip(billed, rows) if one.made.holds]
    if held:
        session.connection().execute(insert_ignoring_duplicates(session, ReviewItem.__table__, ["key"]),
                                     [_item(one, row, start, now) for one, row in held])


_LINE_COLUMNS = ("bill_id", "position", "kind", "description_key", "energy_wh", "unit_price_millifen_per_kwh",
                 "amount_fen")
_EVENT_COLUMNS = ("kind", "account_id", "payload", "created_at")
_RUN_COLUMNS = ("period_start", "account_id", "bill_id", "energy_wh", "outcome", "created_at")
# One encoder for the run: ``json.dumps`` with options builds a new one per call.
_payload = json.JSONEncoder(ensure_ascii=False, default=str).encode


class _Columns(dict):
    """A bill row read as attributes (``bills.issued_payload`` takes anything with a Bill's columns),
    without copying it into an object."""

    __getattr__ = dict.__getitem__


_carry = EstimateCarry.__table__
_CARRY = update(_carry).where(_carry.c.id == bindparam("carry_id")).values(carried_on_bill_id=bindparam("bill_id"))


def _item(one: Billed, row: dict, start: date, now: datetime) -> dict:
    """The review item of a held bill, as the single-account run opened it."""
    account, made = one.account, one.made
    return item_row(kind=BILL_REVIEW, rule=made.holds[0], subject_on=start, at=now, account_id=account.id,
                    district_id=account.district_id, detail={"bill_id": row["id"], "rules": list(made.holds), **made.detail})


def _bill(draft: bills.Draft, bill_id: int, total: int, now: datetime, issue_on: date, number: str | None) -> dict:
    issued = number is not None
    return {"id": bill_id, "number": number, "account_id": draft.account_id, "period_start": draft.period_start,
            "period_end": draft.period_end, "issue_date": issue_on if issued else None, "due_date": draft.due_date,
            "state": ISSUED if issued else HELD, "total_fen": total, "replaces_bill_id": None, "transfer_id": None,
            "cancel_transfer_id": None, "created_at": now, "created_by": None, "issued_at": now if issued else None,
            "issued_by": None, "cancelled_at": None, "cancelled_by": None, "cancel_reason": ""}


def _reserve(session: Session, model, count: int) -> list[int]:
    """``count`` ids for new rows of ``model``'s table, in the order an insert would give them."""
    if not count:
        return []
    table = model.__table__.name
    if session.get_bind().dialect.name == "postgresql":
        return sorted(session.execute(text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
                                           "FROM generate_series(1, :n)"), {"n": count}).scalars())
    last = session.execute(select(func.coalesce(func.max(model.__table__.c.id), 0))).scalar()
    return list(range(last + 1, last + count + 1))


_accounts = LedgerAccount.__table__
_CUSTOMER = ledger.customer_code("")


def _add_to_totals(session: Session, moves: list[tuple[int, int, int]]) -> None:
    """Add (ledger id, debits, credits) to the ledger accounts' cached totals: one statement on
    PostgreSQL (the moves as arrays), a raw executemany on SQLite."""
    db = session.connection()
    if db.dialect.name == "postgresql":
        db.exec_driver_sql("UPDATE ledger_account AS a SET debits_fen = a.debits_fen + m.debits, "
                           "credits_fen = a.credits_fen + m.credits "
                           "FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS m(id, debits, credits) "
                           "WHERE a.id = m.id", tuple(map(list, zip(*moves))))
    else:
        db.exec_driver_sql("UPDATE ledger_account SET debits_fen = debits_fen + ?, credits_fen = credits_fen + ? "
                           "WHERE id = ?", [(debits, credits, ledger_id) for ledger_id, debits, credits in moves])


def _insert(session: Session, table, rows: list[dict]) -> None:
    """Rows as dicts (with the same keys) through ``_insert_tuples``."""
    if rows:
        columns = list(rows[0])
        _insert_tuples(session, table, columns, list(map(operator.itemgetter(*columns), rows)))


def _insert_tuples(session: Session, table, columns: Sequence[str], rows: list[tuple]) -> None:
    """Plain rows through ``billing.db.bulk_insert`` (COPY on PostgreSQL, executemany on SQLite),
    dates and instants as the text it takes.  Only the columns the table types as dates are
    converted, each distinct value once: testing every value of every row cost more than the insert."""
    if not rows:
        return
    db = session.connection()
    dated = [n for n, name in enumerate(columns) if table.c[name].type._type_affinity in (Date, DateTime)]
    if dated:
        texts = {value: _text(db, value) for n in dated for value in {row[n] for row in rows}}
        rows = [_replaced(row, dated, texts) for row in rows]
    bulk_insert(db, table, columns, rows)


def _replaced(row: tuple, positions: list[int], texts: dict) -> tuple:
    values = list(row)
    for n in positions:
        values[n] = texts[values[n]]
    return tuple(values)


def _text(db, value: date | None) -> str | None:
    if value is None:
        return None
    return timestamp_value(db, value) if isinstance(value, datetime) else value.isoformat()


def _post(session: Session, postings: list[tuple[int, ledger.Posting]], account_ids: list[int],
          now: datetime) -> dict[str, tuple[int, int]]:
    """Insert the transfers and add them to the ledger accounts' cached totals, as ``ledger.post``
    does one at a time; returns (ledger id, balance before) by code, the rows locked until commit."""
    if not postings:
        return {}
    for _, posting in postings:
        posting.validate()
    codes = {code for _, posting in postings for code in (posting.debit, posting.credit)}
    system = ledger.account_ids(session, sorted(code for code in codes if not code.startswith(_CUSTOMER)))
    locked = session.execute(
        select(_accounts.c.code, _accounts.c.id, _accounts.c.debits_fen, _accounts.c.credits_fen)
        .where(among(session, _accounts.c.id, system.values())
               | (among(session, _accounts.c.account_id, account_ids) & _accounts.c.code.startswith(_CUSTOMER)))
        .order_by(_accounts.c.id).with_for_update()).all()
    found = {row.code: row for row in locked}
    if unknown := sorted(codes - found.keys()):
        raise InvalidInput("code", f"no ledger account {', '.join(unknown)}")
    moves = {code: [0, 0] for code in codes}
    for _, posting in postings:
        moves[posting.debit][0] += posting.amount_fen
        moves[posting.credit][1] += posting.amount_fen
    for code, (debits, credits) in moves.items():
        row = found[code]
        if row.debits_fen + debits > MAX_FEN or row.credits_fen + credits > MAX_FEN:
            raise InvalidInput("amount_fen", f"the bills would take the posted totals of {code} beyond {MAX_FEN} fen")
    _add_to_totals(session, sorted((found[code].id, debits, credits) for code, (debits, credits) in moves.items()))
    _insert(session, Transfer.__table__, [
        {"id": transfer_id, "key": posting.key, "debit_id": found[posting.debit].id,
         "credit_id": found[posting.credit].id, "amount_fen": posting.amount_fen, "code": posting.code,
         "memo": posting.memo[:200], "posted_at": now, "business_date": posting.business_date}
        for transfer_id, posting in postings])
    return {code: (row.id, row.credits_fen - row.debits_fen) for code, row in found.items()}
