"""Finding an account at the service-hall desk: by 户号, holder name, phone or meter number, as
much of it as the person in front of the counter remembers.

Digits match the 户号, the phone and the meter number anywhere in them (at least four, so that
"1" does not list the county); other text matches the holder's name or the customer's name.
A complete 户号 that exists is the one answer (``exact_account``): the desk goes straight to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, or_
from sqlmodel import Session, select

from billing.accounts import Account, Customer, District, Meter
from billing.errors import InvalidInput

PER_PAGE = 20
MAX_TEXT = 40
MIN_DIGITS = 4  # fewer digits match too much to be a search
_DIGITS = re.compile(r"\d+")
_METER_NO = re.compile(r"[A-Za-z]\d+")  # M3300000001: the meter number as printed on the meter


@dataclass(frozen=True)
class Found:
    account_no: str
    holder_name: str
    phone: str  # unmasked: the page masks it
    meter_no: str
    district: str
    status: str
    address: str


@dataclass(frozen=True)
class SearchPage:
    rows: list[Found]
    total: int
    page: int
    pages: int


def clean(text: object, field: str = "q") -> str:
    """The search text as typed, checked: a clear error naming the field when it cannot be searched."""
    if not isinstance(text, str):
        raise InvalidInput(field, "type a 户号, a name, a phone or a meter number")
    text = " ".join(text.split())
    if not text:
        raise InvalidInput(field, "type a 户号, a name, a phone or a meter number")
    if len(text) > MAX_TEXT:
        raise InvalidInput(field, f"at most {MAX_TEXT} characters")
    if any(not ch.isprintable() for ch in text):
        raise InvalidInput(field, "only printable characters")
    if _DIGITS.fullmatch(text) and len(text) < MIN_DIGITS:
        raise InvalidInput(field, f"at least {MIN_DIGITS} digits of a 户号, phone or meter number")
    return text


def exact_account(session: Session, text: str) -> str | None:
    """The 户号 itself when ``text`` is a whole 户号 that exists."""
    if len(text) != 10 or not text.isdigit():
        return None
    return session.exec(select(Account.account_no).where(Account.account_no == text)).first()


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _matches(text: str):
    pattern = _like(text)
    if _DIGITS.fullmatch(text):
        return or_(Account.account_no.like(pattern, escape="\\"), Customer.phone.like(pattern, escape="\\"),
                   Meter.meter_no.like(pattern, escape="\\"))
    if _METER_NO.fullmatch(text):
        return func.upper(Meter.meter_no).like(_like(text.upper()), escape="\\")
    return or_(Account.holder_name.like(pattern, escape="\\"), Customer.name.like(pattern, escape="\\"))


def search(session: Session, text: str, *, page: int = 1, per_page: int = PER_PAGE) -> SearchPage:
    """Accounts matching ``text`` (checked by ``clean``), by 户号, one page of them."""
    where = _matches(text)
    joined = (Account.__table__.join(Customer, Customer.id == Account.customer_id)
              .join(Meter, Meter.id == Account.meter_id))
    total = session.exec(select(func.count()).select_from(joined).where(where)).one()
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    rows = session.exec(
        select(Account.account_no, Account.holder_name, Customer.phone, Meter.meter_no, District.name,
               Account.status, Account.address)
        .select_from(joined).join(District, District.id == Account.district_id).where(where)
        .order_by(Account.account_no).offset((page - 1) * per_page).limit(per_page))
    return SearchPage([Found(no, name, phone or "", meter, district, status, address)
                       for no, name, phone, meter, district, status, address in rows], total, page, pages)
