"""A property manager's 户号 as its desk lists them: balance, arrears and last payment per 户号,
filtered (in arrears only, one 台区, text in the 户号, the manager's label, 户名 or address), sorted
and paged.

A page is read in one query (plus one that counts and totals the filtered 户号), whatever its
size: the balance comes from the customer's ledger account row (its cached debits and credits),
the last payment from a correlated subquery on the ledger transfers that credited it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from billing.accounts import Account, District
from billing.errors import InvalidInput
from billing.finance_statement import COLLECTION_CODES
from billing.ledger import LedgerAccount, Transfer, customer_code
from billing.managers import ManagerAccount

PER_PAGE = 50
MAX_PER_PAGE = 2000  # a whole bulk payment's 户号 shown back in the tick form (payments.bulk.MAX_LINES)
MAX_SEARCH_CHARS = 40
BY_ACCOUNT_NO, BY_ARREARS = "account_no", "arrears"
SORTS = (BY_ACCOUNT_NO, BY_ARREARS)


@dataclass(frozen=True)
class Filters:
    arrears_only: bool = False
    district_id: int | None = None
    search: str = ""
    sort: str = BY_ACCOUNT_NO
    account_nos: tuple[str, ...] | None = None  # only these (a selection shown back to edit)

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise InvalidInput("sort", f"must be one of {', '.join(SORTS)}")
        if len(self.search) > MAX_SEARCH_CHARS:
            raise InvalidInput("search", f"at most {MAX_SEARCH_CHARS} characters")


@dataclass(frozen=True)
class Row:
    account: Account
    label: str  # the manager's own name for it
    district_name: str
    balance_fen: int  # credits - debits: negative is arrears
    last_paid_on: date | None
    last_paid_fen: int | None

    @property
    def arrears_fen(self) -> int:
        return max(0, -self.balance_fen)


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    number: int  # 1-based
    per_page: int
    count: int  # 户号 matching the filters, on every page
    arrears_count: int  # of those, how many are in arrears
    arrears_fen: int  # and what they owe in all

    @property
    def pages(self) -> int:
        return max(1, -(-self.count // self.per_page))


_ledger = aliased(LedgerAccount)
_balance = (_ledger.credits_fen - _ledger.debits_fen)


def _last_payment_id():
    """The newest transfer that paid money onto the 户号's balance (a channel, the counter, a manager)."""
    paid = aliased(Transfer)
    return (select(func.max(paid.id)).where(paid.credit_id == _ledger.id, paid.code.in_(COLLECTION_CODES))
            .correlate(_ledger).scalar_subquery())


def _where(manager_id: int, filters: Filters) -> list:
    conditions = [ManagerAccount.manager_id == manager_id]
    if filters.arrears_only:
        conditions.append(_balance < 0)
    if filters.district_id is not None:
        conditions.append(Account.district_id == filters.district_id)
    if filters.account_nos is not None:
        conditions.append(Account.account_no.in_(filters.account_nos))
    if text := filters.search.strip():
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(or_(*(column.like(pattern, escape="\\")
                                for column in (Account.account_no, ManagerAccount.label, Account.address,
                                              Account.holder_name))))
    return conditions


def _managed():
    return (select().select_from(ManagerAccount)
            .join(Account, Account.id == ManagerAccount.account_id)
            .join(_ledger, and_(_ledger.account_id == Account.id, _ledger.code.startswith(customer_code("")))))


def page(session: Session, manager_id: int, filters: Filters, number: int = 1, per_page: int = PER_PAGE) -> Page:
    """Page ``number`` of the manager's 户号 under ``filters`` (a page past the end is empty)."""
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidInput("per_page", f"must be between 1 and {MAX_PER_PAGE}")
    if number < 1:
        raise InvalidInput("page", "must be 1 or more")
    where = _where(manager_id, filters)
    owed = case((_balance < 0, -_balance), else_=0)
    count, in_arrears, arrears = session.execute(
        _managed().add_columns(func.count(), func.count(case((_balance < 0, 1))), func.coalesce(func.sum(owed), 0))
        .where(*where)).one()
    last = aliased(Transfer)
    order = [_balance, Account.account_no] if filters.sort == BY_ARREARS else [Account.account_no]
    rows = session.execute(
        _managed().add_columns(Account, ManagerAccount.label, District.name, _balance, last.business_date, last.amount_fen)
        .join(District, District.id == Account.district_id)
        .outerjoin(last, last.id == _last_payment_id())
        .where(*where).order_by(*order).limit(per_page).offset((number - 1) * per_page)).all()
    return Page([Row(*row) for row in rows], number, per_page, count, in_arrears, int(arrears))


def districts(session: Session, manager_id: int) -> list[District]:
    """The 台区 the manager's 户号 lie in, for the filter."""
    return list(session.scalars(
        select(District).where(District.id.in_(
            select(Account.district_id).join(ManagerAccount, ManagerAccount.account_id == Account.id)
            .where(ManagerAccount.manager_id == manager_id))).order_by(District.code)))


def arrears_fen(session: Session, manager_id: int, filters: Filters) -> dict[str, int]:
    """What every 户号 in arrears under ``filters`` owes, by 户号 (for 全选欠费户, across pages)."""
    where = [*_where(manager_id, filters), _balance < 0]
    rows = session.execute(_managed().add_columns(Account.account_no, -_balance).where(*where)
                           .order_by(Account.account_no))
    return {account_no: owed for account_no, owed in rows}
