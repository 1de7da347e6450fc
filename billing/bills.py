"""Bills on the ledger: create (held or issued), issue, cancel and rebill.

Issuing numbers a bill (``2026-000001``, gapless per year: the counter row rolls back with the
transaction that took a number), posts ONE transfer keyed ``bill:<id>`` (customer -> revenue, or
revenue -> customer for a negative bill), allocates any credit the account already holds to it
(a prepaid account pays at billing) and writes a ``bill_issued`` event.  Cancelling posts the
reversal ``bill-cancel:<id>`` and re-allocates the account as if the bill had never been issued;
a rebill is a new bill that names the cancelled one (``replaces_bill_id``, once).  What staff do
to a bill is audited.

Lines are checked before anything is written: an energy line's amount must be its kWh times its
price rounded half-up once (``round_half_up``), and every error names the line and the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, update
from sqlmodel import Session, select

from billing import allocation, events, ledger
from billing.accounts import Account
from billing.audit import audit
from billing.bill_records import CANCELLED, HELD, ISSUED, Bill, BillLine, BillSequence
from billing.clock import beijing_date
from billing.db import insert_ignoring_duplicates
from billing.errors import BillingError, InvalidInput, NotFound, require_text
from billing.ledger import Posting
from billing.money import MAX_FEN, round_half_up

BILL_ISSUED, BILL_CANCELLED = "bill_issued", "bill_cancelled"
REVENUE = "revenue:energy"
LATE_FEE, LATE_FEE_REVENUE = "late_fee", "revenue:late_fee"  # a bill of late_fee lines only earns late-fee revenue
WH_MILLIFEN_PER_FEN = 1000 * 1000  # Wh x millifen/kWh -> fen: 1000 Wh per kWh, 1000 millifen per fen


class BillNotAllowed(BillingError):
    """The bill's state forbids it (issuing an issued bill, cancelling a cancelled one): nothing changed."""

    code = "bill_not_allowed"


@dataclass(frozen=True)
class Line:
    kind: str  # as billing.pricing names them (tier_1, peak, basic_capacity, surcharge:<code> ...), late_fee ...
    description_key: str  # a translation key the bill page shows
    amount_fen: int
    energy_wh: int | None = None
    unit_price_millifen_per_kwh: int | None = None


@dataclass(frozen=True)
class Draft:
    account_id: int
    period_start: date
    period_end: date
    due_date: date
    lines: tuple[Line, ...]


def create(session: Session, draft: Draft, *, now: datetime, hold: bool = False, staff_id: int | None = None,
           replaces_bill_id: int | None = None) -> Bill:
    """A bill with its lines: held for review, or issued at once."""
    total = _check(session, draft)
    bill = Bill(account_id=draft.account_id, period_start=draft.period_start, period_end=draft.period_end,
                due_date=draft.due_date, state=HELD, total_fen=total, replaces_bill_id=replaces_bill_id,
                created_at=now, created_by=staff_id)
    session.add(bill)
    session.flush()
    session.add_all(BillLine(bill_id=bill.id, position=position, kind=line.kind, description_key=line.description_key,
                             energy_wh=line.energy_wh, unit_price_millifen_per_kwh=line.unit_price_millifen_per_kwh,
                             amount_fen=line.amount_fen)
                    for position, line in enumerate(draft.lines, start=1))
    session.flush()
    if not hold:
        return issue(session, bill.id, now=now, staff_id=staff_id)
    return bill


def _check(session: Session, draft: Draft) -> int:
    """Refuse a bad draft, naming the field; returns the total."""
    if session.get(Account, draft.account_id) is None:
        raise NotFound(f"no account {draft.account_id}", field="account_id")
    return checked_total(draft)


def checked_total(draft: Draft) -> int:
    """The draft's total, once its period and lines are checked (the bill run checks its drafts here)."""
    if draft.period_end < draft.period_start:
        raise InvalidInput("period_end", f"{draft.period_end} is before the period's start {draft.period_start}")
    if not draft.lines:
        raise InvalidInput("lines", "a bill needs at least one line")
    for index, line in enumerate(draft.lines):
        _check_line(f"lines[{index}]", line)
    total = sum(line.amount_fen for line in draft.lines)
    if abs(total) > MAX_FEN:
        raise InvalidInput("lines", f"the total {total} fen is beyond {MAX_FEN}")
    return total


def _check_line(where: str, line: Line) -> None:
    for name, limit in (("kind", 40), ("description_key", 80)):
        value = getattr(line, name)
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            raise InvalidInput(f"{where}.{name}", f"must be 1 to {limit} characters, got {value!r}")
    for name in ("amount_fen", "energy_wh", "unit_price_millifen_per_kwh"):
        value = getattr(line, name)
        if (value is not None or name == "amount_fen") and (isinstance(value, bool) or not isinstance(value, int)):
            raise InvalidInput(f"{where}.{name}", f"must be an integer, got {type(value).__name__}")
    price, energy = line.unit_price_millifen_per_kwh, line.energy_wh
    if price is not None and price < 0:
        raise InvalidInput(f"{where}.unit_price_millifen_per_kwh", f"must not be negative, got {price}")
    if (price is None) != (energy is None):
        raise InvalidInput(f"{where}.unit_price_millifen_per_kwh", "an energy line needs both its Wh and its price")
    if price is not None and line.amount_fen != (expected := round_half_up(energy * price, WH_MILLIFEN_PER_FEN)):
        raise InvalidInput(f"{where}.amount_fen", f"{energy} Wh at {price} millifen/kWh is {expected} fen, "
                                                  f"not {line.amount_fen}")


def numbers(session: Session, year: int, count: int = 1) -> list[str]:
    """The next ``count`` bill numbers of ``year``; the year's counter stays locked until commit."""
    table = BillSequence.__table__
    session.execute(insert_ignoring_duplicates(session, table, ["year"]), {"year": year, "last_no": 0})
    last = session.execute(update(table).where(table.c.year == bindparam("y")).values(last_no=table.c.last_no + count)
                           .returning(table.c.last_no), {"y": year}).scalar()
    return [f"{year}-{serial:06d}" for serial in range(last - count + 1, last + 1)]


def lines_of(session: Session, bill_id: int) -> list[BillLine]:
    return list(session.exec(select(BillLine).where(BillLine.bill_id == bill_id).order_by(BillLine.position)))


def locked(session: Session, bill_id: int) -> Bill:
    """The bill, locked against another issue or cancel.  FOR NO KEY UPDATE on PostgreSQL: a
    payment re-allocating meanwhile writes allocation rows that refer to this bill (a KEY SHARE
    lock), while holding the balance this cancel waits for; FOR UPDATE would deadlock with it."""
    bill = session.exec(select(Bill).where(Bill.id == bill_id).with_for_update(key_share=True)).first()
    if bill is None:
        raise NotFound(f"no bill {bill_id}", field="bill_id")
    return bill


_lines = BillLine.__table__
_OTHER_THAN_LATE_FEE = select(_lines.c.id).where(_lines.c.bill_id == bindparam("bill_id"), _lines.c.kind != LATE_FEE).limit(1)


def revenue_of(session: Session, bill: Bill) -> str:
    """The revenue a bill is owed to: a fee bill (late_fee lines only) to revenue:late_fee."""
    return REVENUE if session.connection().execute(_OTHER_THAN_LATE_FEE, {"bill_id": bill.id}).first() else LATE_FEE_REVENUE


def posting(total_fen: int, number: str | None, account_no: str, key: str, *, reverse: bool, on: date,
            revenue: str = REVENUE) -> Posting:
    """A bill's transfer (or its reversal): the customer owes a positive bill, is owed a negative one."""
    customer = ledger.customer_code(account_no)
    debit, credit = (customer, revenue) if (total_fen > 0) != reverse else (revenue, customer)
    return Posting(key, debit, credit, abs(total_fen), "bill_cancel" if reverse else "bill", number or "",
                   business_date=on)


def transfer_key(bill_id: int) -> str:
    return f"bill:{bill_id}"


def issued_payload(bill, account_no: str) -> dict:
    """The ``bill_issued`` event's payload (``bill`` is anything with a Bill's columns)."""
    return {"account_no": account_no, "bill_id": bill.id, "number": bill.number, "total_fen": bill.total_fen,
            "due_date": bill.due_date.isoformat(), "period_start": bill.period_start.isoformat(),
            "period_end": bill.period_end.isoformat()}


def _snapshot(bill: Bill) -> dict:
    return {"state": bill.state, "number": bill.number, "total_fen": bill.total_fen, "due_date": bill.due_date,
            "replaces_bill_id": bill.replaces_bill_id}


def issue(session: Session, bill_id: int, *, now: datetime, staff_id: int | None = None,
          due_date: date | None = None) -> Bill:
    """Number a held bill, post it and allocate credit to it; ``due_date`` overrides the draft's."""
    bill = locked(session, bill_id)
    if bill.state != HELD:
        raise BillNotAllowed(f"bill {bill.number or bill.id} is {bill.state}, not held", field="state")
    before = _snapshot(bill)
    issued_on = beijing_date(now)
    due = due_date or bill.due_date
    if due < issued_on:
        raise InvalidInput("due_date", f"{due} is before the issue date {issued_on}")
    account = session.get(Account, bill.account_id)
    (bill.number,) = numbers(session, issued_on.year)
    bill.state, bill.issue_date, bill.due_date, bill.issued_at, bill.issued_by = ISSUED, issued_on, due, now, staff_id
    posted_as = posted = None
    if bill.total_fen:
        posted_as = posting(bill.total_fen, bill.number, account.account_no, transfer_key(bill.id), reverse=False,
                            on=issued_on, revenue=revenue_of(session, bill))
        posted = ledger.post(session, posted_as, at=now)
        bill.transfer_id = posted.transfer_id
    session.add(bill)
    session.flush()
    if posted is not None:
        allocation.after_posting(session, posted_as, posted, at=now)
    events.emit(session, BILL_ISSUED, at=now, account_id=account.id, **issued_payload(bill, account.account_no))
    if staff_id is not None:
        audit(session, staff_id=staff_id, action="issue_bill", target=f"bill:{bill.id}", at=now, before=before,
              after=_snapshot(bill))
    return bill


def cancel(session: Session, bill_id: int, *, reason: str, staff_id: int, now: datetime) -> Bill:
    """Cancel a bill (an issued one is reversed on the ledger and its account re-allocated)."""
    reason = require_text(reason, "reason", "a cancellation's reason")
    bill = locked(session, bill_id)
    if bill.state == CANCELLED:
        raise BillNotAllowed(f"bill {bill.number or bill.id} is already cancelled", field="state")
    before = _snapshot(bill)
    account = session.get(Account, bill.account_id)
    if bill.transfer_id is not None:
        reversal = posting(bill.total_fen, bill.number, account.account_no, f"bill-cancel:{bill.id}", reverse=True,
                           on=beijing_date(now), revenue=revenue_of(session, bill))
        bill.cancel_transfer_id = ledger.post(session, reversal, at=now).transfer_id
    bill.state, bill.cancelled_at, bill.cancelled_by, bill.cancel_reason = CANCELLED, now, staff_id, reason
    session.add(bill)
    session.flush()
    if bill.transfer_id is not None:
        allocation.reallocate(session, account.id, at=now)
    if bill.number is not None:
        events.emit(session, BILL_CANCELLED, at=now, account_id=account.id, account_no=account.account_no,
                    bill_id=bill.id, number=bill.number, total_fen=bill.total_fen, reason=reason)
    audit(session, staff_id=staff_id, action="cancel_bill", target=f"bill:{bill.id}", at=now, before=before,
          after=_snapshot(bill) | {"reason": reason})
    return bill


def rebill(session: Session, cancelled_bill_id: int, draft: Draft, *, staff_id: int, now: datetime,
           hold: bool = False) -> Bill:
    """The corrected bill for a cancelled one, on the same account; a cancelled bill is rebilled once."""
    old = locked(session, cancelled_bill_id)  # two desks rebilling at once: the second finds the first's rebill
    if old.state != CANCELLED:
        raise BillNotAllowed(f"bill {old.number or old.id} is {old.state}: cancel it before rebilling", field="state")
    if draft.account_id != old.account_id:
        raise InvalidInput("account_id", f"a rebill is for the cancelled bill's account {old.account_id}")
    if session.exec(select(Bill.id).where(Bill.replaces_bill_id == old.id)).first() is not None:
        raise BillNotAllowed(f"bill {old.number or old.id} was already rebilled", field="replaces_bill_id")
    bill = create(session, draft, now=now, hold=hold, staff_id=staff_id, replaces_bill_id=old.id)
    audit(session, staff_id=staff_id, action="rebill", target=f"bill:{bill.id}", at=now, before=_snapshot(old),
          after=_snapshot(bill))
    return bill
