"""Who and what we bill: Customer, Account (户号), District (台区) and Meter (电表).

An Account is the unit of billing: one 10-digit 户号, one meter, one district, one customer
balance on the ledger (``customer:<户号>``).  A district (transformer area) has its own supply
meter (考核总表) whose reads, against the sum of its customers' meters, give the line loss.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from sqlalchemy import BigInteger, CheckConstraint
from sqlmodel import Field, Session, SQLModel, select

from billing.errors import InvalidInput, NotFound
from billing.ledger import LIABILITY, customer_code, open_ledger_account
from billing.meters import install

RESIDENTIAL, NON_RESIDENTIAL, LARGE_INDUSTRY = "residential", "non_residential", "large_industry"
CATEGORIES = (RESIDENTIAL, NON_RESIDENTIAL, LARGE_INDUSTRY)
POSTPAID, PREPAID = "postpaid", "prepaid"
REGIMES = (POSTPAID, PREPAID)
ACTIVE, VACANT, DISCONNECTED, CLOSED = "active", "vacant", "disconnected", "closed"
STATUSES = (ACTIVE, VACANT, DISCONNECTED, CLOSED)  # vacant: 空置, nobody should be using power
SMART, MANUAL = "smart", "manual"
CUSTOMER_METER, DISTRICT_METER = "customer", "district"

BALANCE_LOW_FEN = 3000

_ACCOUNT_NO = re.compile(r"^[0-9]{10}$")


def _one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    listed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({listed})", name=column)


class Customer(SQLModel, table=True):
    __tablename__ = "customer"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    phone: str | None = Field(default=None, max_length=20, index=True)
    # The last four characters of the holder's ID number: what a resident binding a 户号 proves they know.
    id_number_tail: str = Field(default="", max_length=4, sa_column_kwargs={"server_default": ""})
    created_at: datetime


class Meter(SQLModel, table=True):
    """A meter.  Registers are read in Wh; energy = register delta x multiplier (倍率)."""

    __tablename__ = "meter"
    __table_args__ = (
        _one_of("kind", (SMART, MANUAL)),
        _one_of("role", (CUSTOMER_METER, DISTRICT_METER)),
        CheckConstraint("multiplier >= 1", name="multiplier_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    meter_no: str = Field(max_length=24, unique=True)
    kind: str = Field(default=SMART, max_length=10)
    role: str = Field(default=CUSTOMER_METER, max_length=10)
    multiplier: int = 1
    tou: bool = False  # records 尖峰平谷 registers beside the total
    installed_on: date


class District(SQLModel, table=True):
    __tablename__ = "district"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=20, unique=True)
    name: str = Field(max_length=100)
    district_meter_id: int | None = Field(default=None, foreign_key="meter.id")


class Account(SQLModel, table=True):
    __tablename__ = "account"
    __table_args__ = (
        CheckConstraint("length(account_no) = 10", name="account_no_length"),
        _one_of("category", CATEGORIES),
        _one_of("regime", REGIMES),
        _one_of("status", STATUSES),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_no: str = Field(max_length=10, unique=True)
    holder_name: str = Field(max_length=100)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    district_id: int = Field(foreign_key="district.id", index=True)
    meter_id: int = Field(foreign_key="meter.id", unique=True)
    address: str = Field(default="", max_length=200)
    category: str = Field(default=RESIDENTIAL, max_length=20)
    regime: str = Field(default=POSTPAID, max_length=10)
    status: str = Field(default=ACTIVE, max_length=15)
    protected: bool = False  # never disconnected automatically (hospital, life support, ...)
    opened_on: date
    tariff_id: str | None = Field(default=None, max_length=40)  # None: the category's (DEFAULT_TARIFFS)
    capacity_kva: int | None = None  # transformer capacity, for a two-part tariff's basic charge
    # 智能交费: a settlement that takes the balance below this writes a balance_low event (30 元 unless set)
    balance_low_fen: int = Field(default=BALANCE_LOW_FEN, sa_type=BigInteger,
                                 sa_column_kwargs={"server_default": str(BALANCE_LOW_FEN)})


# The tariff of an account that names none (billing/tariffs/<id>.toml).
DEFAULT_TARIFFS = {RESIDENTIAL: "zj-residential", NON_RESIDENTIAL: "zj-commercial", LARGE_INDUSTRY: "zj-large-industry"}


def validate_account_no(account_no: object, field: str = "account_no") -> str:
    if not isinstance(account_no, str) or not _ACCOUNT_NO.match(account_no):
        raise InvalidInput(field, f"户号 must be 10 digits, got {account_no!r}")
    return account_no


def _require(field: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InvalidInput(field, f"must be one of {', '.join(allowed)}, got {value!r}")


def open_account(
    session: Session,
    *,
    account_no: str,
    holder_name: str,
    customer: Customer,
    district: District,
    meter: Meter,
    opened_on: date,
    category: str = RESIDENTIAL,
    regime: str = POSTPAID,
    address: str = "",
    protected: bool = False,
) -> Account:
    """Create a 户号 together with its customer balance on the ledger."""
    validate_account_no(account_no)
    _require("category", category, CATEGORIES)
    _require("regime", regime, REGIMES)
    if not holder_name.strip():
        raise InvalidInput("holder_name", "户名 is required")
    account = Account(
        account_no=account_no,
        holder_name=holder_name,
        customer_id=customer.id,
        district_id=district.id,
        meter_id=meter.id,
        address=address,
        category=category,
        regime=regime,
        protected=protected,
        opened_on=opened_on,
        tariff_id=DEFAULT_TARIFFS[category],
    )
    session.add(account)
    session.flush()
    install(session, account_id=account.id, meter_id=meter.id, multiplier=meter.multiplier, on=opened_on,
            now=datetime.combine(opened_on, datetime.min.time(), tzinfo=UTC), reason="开户")
    open_ledger_account(session, customer_code(account_no), LIABILITY, account.id)
    return account


def get_account(session: Session, account_no: str) -> Account:
    account = session.exec(select(Account).where(Account.account_no == validate_account_no(account_no))).first()
    if account is None:
        raise NotFound(f"no 户号 {account_no}", field="account_no")
    return account
