"""The monthly marketing-finance statement (营销财务月报): what marketing billed and collected and
what finance holds, for one month, read twice where the two books can meet.

Marketing's book is the bills and their allocation rows; finance's is the ledger.  Each figure that
both books hold is computed from each (``Statement.checks``), and the two must agree:

- billed energy: issued bills of the month (fee bills apart) == revenue:energy transfers coded ``bill``;
- late fees assessed: fee bills of the month == revenue:late_fee transfers coded ``bill``;
- cancelled (作废, and fees waived): bills cancelled in the month == ``bill_cancel`` transfers;
- arrears at the month's end: what the bills and other debits still owe by the allocation rows ==
  the customers' negative balances (what each owes is its debits less its credits, plus the credit
  that nothing owed took);
- prepaid balances held (a liability): the customers' unallocated credit == their positive balances.

Collected money is read from the ledger only (customer credits by the transfer's code and source:
``payment`` from a channel's clearing, ``bulk`` from a property manager's float); the payment
orders behind them are matched by reconciliation, not here.  Write-offs of 对账 differences are
read from the ledger's ``write_off`` transfers of the month: 短款 booked to ``expense:write_off``
and unclaimed 长款 booked to ``revenue:unclaimed``.  Bad debt written off (``billing.bad_debt``) is
read from both books: the allocation rows of the write-off credits paid on days of the month ==
the ``bad_debt`` transfers of the month into ``expense:bad_debt``; money recovered on written-off
debt is the month's ``bad_debt_recovery`` transfers into ``revenue:bad_debt_recovered``.  Bills a
write-off paid are not collected: the collection rate counts them unpaid.
Every figure is integer fen; rates are basis points (1/100 of a percent).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from billing.accounts import LARGE_INDUSTRY, NON_RESIDENTIAL, Account
from billing.bill_records import CANCELLED, ISSUED, Allocation, Bill
from billing.bill_status import BUCKETS
from billing.errors import InvalidInput
from billing.late_fee_posting import LateFeePosting
from billing.ledger import LedgerAccount, Transfer
from billing.managers import Manager, ManagerAccount

ENERGY, LATE_FEE = "revenue:energy", "revenue:late_fee"
WRITE_OFF, UNCLAIMED = "expense:write_off", "revenue:unclaimed"  # payments.write_offs
BAD_DEBT, RECOVERED = "expense:bad_debt", "revenue:bad_debt_recovered"  # billing.bad_debt
COLLECTION_CODES = ("payment", "counter", "bulk")  # money a customer paid onto a balance
LARGE_UNITS, MANAGED, RESIDENTS = "large_units", "managers", "residents"  # arrears groups
NOT_DUE = "not_due"
AGING_LABELS = (NOT_DUE, *(label for _, label in BUCKETS))
TREND_MONTHS = 12
FIRST_YEAR, LAST_YEAR = 1900, 9998
TOP_DEBTORS = 20


@dataclass(frozen=True)
class Check:
    """One figure read from the bills and from the ledger."""

    name: str
    from_bills_fen: int
    from_ledger_fen: int

    @property
    def agrees(self) -> bool:
        return self.from_bills_fen == self.from_ledger_fen


@dataclass(frozen=True)
class Collection:
    """电费回收率 of the month's bills (fee bills apart) as paid by the month's end."""

    month: date
    billed_fen: int
    paid_fen: int
    households: int
    paid_households: int  # every bill of the month paid in full

    @property
    def rate_bp(self) -> int | None:
        return self.paid_fen * 10_000 // self.billed_fen if self.billed_fen > 0 else None

    @property
    def household_rate_bp(self) -> int | None:
        return self.paid_households * 10_000 // self.households if self.households else None


@dataclass(frozen=True)
class Debtor:
    group: str
    name: str  # 户号 and 户名, or the property manager's name
    owed_fen: int


@dataclass
class Statement:
    month: date  # its first day
    end: date  # its last day
    billed_fen: int = 0  # energy bills issued in the month
    bills_issued: int = 0
    cancelled_fen: int = 0  # energy bills cancelled in the month (作废)
    prepaid_settled_fen: int = 0  # 智能交费 daily charges of the month (ledger only: they are no bills)
    collected_fen: dict[str, int] = field(default_factory=dict)  # by channel: wechat, alipay, counter, bulk ...
    collection: Collection | None = None
    trend: list[Collection] = field(default_factory=list)  # the twelve months to this one, oldest first
    aging: dict[str, dict[str, int]] = field(default_factory=dict)  # group -> label -> fen owed at the end
    debtors: list[Debtor] = field(default_factory=list)  # large units and managers first, then by amount
    prepaid_held_fen: int = 0  # customers' credit we hold at the end (a liability)
    late_fee_assessed_fen: int = 0
    late_fee_waived_fen: int = 0
    late_fee_collected_fen: int = 0
    refunds_fen: int = 0
    suspense_fen: int = 0  # held in suspense:* accounts at the end (0 until they exist)
    write_offs_fen: int = 0  # 短款 written off to expense in the month
    unclaimed_fen: int = 0  # 长款 nobody claims, written off to revenue in the month
    bad_debt_written_off_fen: int = 0  # 坏账核销 to expense in the month
    bad_debt_recovered_fen: int = 0  # money that came in on written-off debt in the month
    checks: list[Check] = field(default_factory=list)

    @property
    def total_collected_fen(self) -> int:
        return sum(self.collected_fen.values())

    @property
    def arrears_fen(self) -> int:
        return sum(sum(by_label.values()) - by_label[NOT_DUE] for by_label in self.aging.values())

    @property
    def owed_fen(self) -> int:
        return sum(sum(by_label.values()) for by_label in self.aging.values())

    @property
    def agrees(self) -> bool:
        return all(check.agrees for check in self.checks)


def month_end(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def months_before(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def statement(session: Session, month: date) -> Statement:
    """The statement of the month starting ``month`` (its figures at the month's end)."""
    if not FIRST_YEAR <= month.year <= LAST_YEAR:  # the trend reaches a year back; the end, a month on
        raise InvalidInput("month", f"{month:%Y-%m} is not a month from {FIRST_YEAR} to {LAST_YEAR}")
    found = Statement(month, month_end(month))
    _billing(session, found)
    _collections(session, found)
    _aging(session, found)
    _balances(session, found)
    found.trend = [collection(session, months_before(month, back)) for back in range(TREND_MONTHS - 1, -1, -1)]
    found.collection = found.trend[-1]
    return found


# --- billed, cancelled and late fees: bills against revenue transfers -----------------------------

_fee_bill_ids = select(LateFeePosting.fee_bill_id)
_is_fee = Bill.id.in_(_fee_bill_ids)


def _fen(session: Session, query) -> int:
    """One summed figure as int (PostgreSQL sums BIGINT to NUMERIC, which Python reads as Decimal)."""
    return int(session.execute(query).scalar())


def _bills_total(session: Session, *conditions) -> int:
    return _fen(session, select(func.coalesce(func.sum(Bill.total_fen), 0)).where(*conditions))


def _revenue_moved(session: Session, revenue: str, code: str, first: date, end: date) -> int:
    """What the transfers of ``code`` put into ``revenue`` in the days, less what they took out."""
    debit, credit = aliased(LedgerAccount), aliased(LedgerAccount)
    signed = case((credit.code == revenue, Transfer.amount_fen), else_=-Transfer.amount_fen)
    return _fen(session, select(func.coalesce(func.sum(signed), 0))
                .join(debit, debit.id == Transfer.debit_id).join(credit, credit.id == Transfer.credit_id)
                .where(Transfer.code == code, Transfer.business_date.between(first, end),
                       (credit.code == revenue) | (debit.code == revenue)))


def _billing(session: Session, found: Statement) -> None:
    first, end = found.month, found.end
    issued = and_(Bill.state.in_((ISSUED, CANCELLED)), Bill.issue_date.between(first, end))
    cancelled = and_(Bill.state == CANCELLED, Bill.cancel_transfer_id.is_not(None),
                     Bill.cancel_transfer_id.in_(select(Transfer.id).where(Transfer.business_date.between(first, end))))
    found.billed_fen = _bills_total(session, issued, ~_is_fee)
    found.bills_issued = _fen(session, select(func.count()).where(issued, ~_is_fee))
    found.late_fee_assessed_fen = _bills_total(session, issued, _is_fee)
    found.cancelled_fen = _bills_total(session, cancelled, ~_is_fee)
    found.late_fee_waived_fen = _bills_total(session, cancelled, _is_fee)
    found.checks += [
        Check("billed", found.billed_fen, _revenue_moved(session, ENERGY, "bill", first, end)),
        Check("late_fee_assessed", found.late_fee_assessed_fen, _revenue_moved(session, LATE_FEE, "bill", first, end)),
        Check("cancelled", found.cancelled_fen, -_revenue_moved(session, ENERGY, "bill_cancel", first, end)),
        Check("late_fee_waived", found.late_fee_waived_fen, -_revenue_moved(session, LATE_FEE, "bill_cancel", first, end)),
    ]
    found.prepaid_settled_fen = _revenue_moved(session, ENERGY, "daily", first, end)


# --- collected, refunds, late fees collected -------------------------------------------------------

_WRITE_OFFS = select(Transfer.id).where(Transfer.code == "bad_debt")  # credits that paid bills without money

def channel_of(source_code: str) -> str:
    """The channel of a customer credit's source: ``clearing:wechat`` -> wechat, a manager's float -> bulk."""
    kind, _, name = source_code.partition(":")
    return name if kind == "clearing" else "bulk" if kind == "manager" else source_code


def _collections(session: Session, found: Statement) -> None:
    first, end = found.month, found.end
    source, target = aliased(LedgerAccount), aliased(LedgerAccount)
    rows = session.execute(
        select(source.code, func.sum(Transfer.amount_fen))
        .join(source, source.id == Transfer.debit_id).join(target, target.id == Transfer.credit_id)
        .where(Transfer.code.in_(COLLECTION_CODES), Transfer.business_date.between(first, end),
               target.account_id.is_not(None))
        .group_by(source.code)
    )
    collected: dict[str, int] = defaultdict(int)
    for code, fen in rows:
        collected[channel_of(code)] += int(fen)
    found.collected_fen = dict(sorted(collected.items()))
    found.refunds_fen = _fen(session, select(func.coalesce(func.sum(Transfer.amount_fen), 0))
                             .where(Transfer.code == "refund", Transfer.business_date.between(first, end)))
    found.late_fee_collected_fen = _fen(session, select(func.coalesce(func.sum(Allocation.amount_fen), 0))
                                        .where(Allocation.bill_id.in_(_fee_bill_ids),
                                               Allocation.credit_transfer_id.notin_(_WRITE_OFFS),
                                               Allocation.paid_on.between(first, end)))
    # an expense grows by its debits: what the write-offs moved into it is the negative of "credited"
    found.write_offs_fen = -_revenue_moved(session, WRITE_OFF, "write_off", first, end)
    found.unclaimed_fen = _revenue_moved(session, UNCLAIMED, "write_off", first, end)
    found.bad_debt_written_off_fen = -_revenue_moved(session, BAD_DEBT, "bad_debt", first, end)
    found.bad_debt_recovered_fen = _revenue_moved(session, RECOVERED, "bad_debt_recovery", first, end)
    settled = _fen(session, select(func.coalesce(func.sum(Allocation.amount_fen), 0))
                   .where(Allocation.credit_transfer_id.in_(_WRITE_OFFS), Allocation.paid_on.between(first, end)))
    found.checks.append(Check("bad_debt_written_off", settled, found.bad_debt_written_off_fen))


# --- collection rate -------------------------------------------------------------------------------

def collection(session: Session, month: date) -> Collection:
    """The month's energy bills (issued, fee bills apart) and what of them was paid by its end,
    summed per account in the database (a bill paid beyond its total counts its total)."""
    end = month_end(month)
    bills = (select(Bill.id, Bill.account_id, Bill.total_fen)
             .where(Bill.state == ISSUED, Bill.issue_date.between(month, end), ~_is_fee).subquery())
    paid = (select(Allocation.bill_id, func.sum(Allocation.amount_fen).label("fen"))
            .join(bills, bills.c.id == Allocation.bill_id)
            .where(Allocation.paid_on <= end, Allocation.credit_transfer_id.notin_(_WRITE_OFFS))
            .group_by(Allocation.bill_id).subquery())
    paid_fen, total = func.coalesce(paid.c.fen, 0), bills.c.total_fen
    short = paid_fen < total
    per_account = (select(func.sum(total).label("billed"), func.sum(case((short, paid_fen), else_=total)).label("paid"),
                          func.max(case((short, 1), else_=0)).label("owes"))
                   .outerjoin(paid, paid.c.bill_id == bills.c.id).group_by(bills.c.account_id).subquery())
    billed, paid_total, households, owing = session.execute(
        select(func.coalesce(func.sum(per_account.c.billed), 0), func.coalesce(func.sum(per_account.c.paid), 0),
               func.count(), func.coalesce(func.sum(per_account.c.owes), 0))).one()
    return Collection(month, int(billed), int(paid_total), int(households), int(households) - int(owing))


# --- arrears aging and balances at the month's end -------------------------------------------------

# A cancelled bill's transfer and its reversal are left out of balances at a month's end, as the
# allocation leaves them out (its money paid the next bills from the day it came in): a month is
# restated when a bill of it is cancelled later, in both books alike.
_cancelled = aliased(Bill)
_KEPT = ~select(_cancelled.id).where(_cancelled.state == CANCELLED,
                                     (_cancelled.transfer_id == Transfer.id)
                                     | (_cancelled.cancel_transfer_id == Transfer.id)).exists()


def _owed_debits(end: date):
    """Each customer debit up to ``end`` with what of it the allocation rows (by ``end``) left owed, its
    account's arrears group, its aging label (days past its bill's due date, or its own day) and the
    name it is listed under (a property manager's accounts under the manager)."""
    customer = aliased(LedgerAccount)
    paid = (select(Allocation.debit_transfer_id.label("id"), func.sum(Allocation.amount_fen).label("fen"))
            .where(Allocation.paid_on <= end).group_by(Allocation.debit_transfer_id).subquery())
    due = func.coalesce(Bill.due_date, Transfer.business_date)
    label = case((due >= end, NOT_DUE), *((due >= end - timedelta(days=limit), text) for limit, text in BUCKETS if limit),
                 else_=BUCKETS[-1][1])
    group = case((Account.category.in_((LARGE_INDUSTRY, NON_RESIDENTIAL)), LARGE_UNITS),
                 (Manager.id.is_not(None), MANAGED), else_=RESIDENTS)
    name = case((group == MANAGED, Manager.name), else_=Account.account_no + " " + Account.holder_name)
    return (select((Transfer.amount_fen - func.coalesce(paid.c.fen, 0)).label("owed"), group.label("grp"),
                   label.label("label"), name.label("name"))
            .join(customer, customer.id == Transfer.debit_id).join(Account, Account.id == customer.account_id)
            .outerjoin(paid, paid.c.id == Transfer.id).outerjoin(Bill, Bill.transfer_id == Transfer.id)
            .outerjoin(ManagerAccount, ManagerAccount.account_id == Account.id)
            .outerjoin(Manager, Manager.id == ManagerAccount.manager_id)
            .where(Transfer.business_date <= end, _KEPT).subquery())


GROUPS = (LARGE_UNITS, MANAGED, RESIDENTS)


def _aging(session: Session, found: Statement) -> None:
    """Arrears by group and aging label, and the largest debtors, summed in the database."""
    owed = _owed_debits(found.end)
    found.aging = {group: dict.fromkeys(AGING_LABELS, 0) for group in GROUPS}
    for group, label, fen in session.execute(select(owed.c.grp, owed.c.label, func.sum(owed.c.owed))
                                             .where(owed.c.owed > 0).group_by(owed.c.grp, owed.c.label)):
        found.aging[group][label] = int(fen)
    rank = case(*((owed.c.grp == group, index) for index, group in enumerate(GROUPS)))
    total = func.sum(owed.c.owed)
    found.debtors = [Debtor(group, name, int(fen)) for group, name, fen in session.execute(
        select(owed.c.grp, owed.c.name, total).where(owed.c.owed > 0).group_by(owed.c.grp, owed.c.name)
        .order_by(func.min(rank), total.desc(), owed.c.name).limit(TOP_DEBTORS))]


def _balances(session: Session, found: Statement) -> None:
    """Customer balances at the end from the transfers, against the allocation's owed and unallocated credit."""
    end = found.end
    customer = aliased(LedgerAccount)
    signed = case((Transfer.credit_id == customer.id, Transfer.amount_fen), else_=-Transfer.amount_fen)
    balances = (select(customer.id.label("id"), func.sum(signed).label("fen"))
                .join(Transfer, (Transfer.credit_id == customer.id) | (Transfer.debit_id == customer.id))
                .where(customer.account_id.is_not(None), Transfer.business_date <= end, _KEPT)
                .group_by(customer.id).subquery())
    negative, positive = session.execute(
        select(func.coalesce(func.sum(case((balances.c.fen < 0, -balances.c.fen), else_=0)), 0),
               func.coalesce(func.sum(case((balances.c.fen > 0, balances.c.fen), else_=0)), 0))
    ).one()
    credits = _fen(session, select(func.coalesce(func.sum(Transfer.amount_fen), 0))
                   .join(customer, customer.id == Transfer.credit_id)
                   .where(customer.account_id.is_not(None), Transfer.business_date <= end, _KEPT))
    taken = _fen(session, select(func.coalesce(func.sum(Allocation.amount_fen), 0)).where(Allocation.paid_on <= end))
    found.prepaid_held_fen = credits - taken
    suspense = aliased(LedgerAccount)
    found.suspense_fen = _fen(session, select(func.coalesce(func.sum(case((Transfer.credit_id == suspense.id,
                                                                          Transfer.amount_fen),
                                                                         else_=-Transfer.amount_fen)), 0))
                              .join(suspense, (Transfer.credit_id == suspense.id) | (Transfer.debit_id == suspense.id))
                              .where(suspense.code.startswith("suspense:"), Transfer.business_date <= end))
    found.checks += [Check("owed", found.owed_fen, int(negative)),
                     Check("prepaid_held", found.prepaid_held_fen, int(positive))]
