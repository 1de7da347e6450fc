"""The demo's resident logins as `demo load` and `dianfei run` print them: two phones with 户号
bound, and one with nothing bound beside a 户号 and its proof, for a newcomer to bind.

The holders' ID number tails are made up from the 户号 (not from the county's random stream, so
adding them changed no other figure of the demo)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlmodel import Session

from billing.accounts import PREPAID, RESIDENTIAL, SMART, Account, Customer, Meter
from billing.managers import ManagerAccount
from billing.residents import Binding, Resident

FIRST_LOGIN, SECOND_LOGIN, UNBOUND_LOGIN = "13800000001", "13800000002", "13800000003"


@dataclass(frozen=True)
class BindingExample:
    account_no: str
    id_tail: str
    meter_no: str


def id_tail(account_no: str) -> str:
    """A made-up last four characters of an ID number: three digits and a check character (0-9 or X)."""
    digest = hashlib.sha256(f"demo-id:{account_no}".encode()).digest()
    check = digest[3] % 11
    return f"{int.from_bytes(digest[:3]) % 1000:03d}{'X' if check == 10 else check}"


def binding_example(session: Session) -> BindingExample | None:
    """A prepaid household on a smart meter that nobody has bound and no property manager pays for,
    the lowest 户号 of them; None on a database without one (not the demo's, or all bound)."""
    bound = exists().where(Binding.account_id == Account.id)
    managed = exists().where(ManagerAccount.account_id == Account.id)
    row = session.execute(
        select(Account.account_no, Customer.id_number_tail, Meter.meter_no)
        .join(Customer, Customer.id == Account.customer_id).join(Meter, Meter.id == Account.meter_id)
        .where(Account.category == RESIDENTIAL, Account.regime == PREPAID, Meter.kind == SMART,
               Customer.id_number_tail != "", ~bound, ~managed)
        .order_by(Account.account_no).limit(1)).first()
    return None if row is None else BindingExample(*row)


def unbound_login_is_free(session: Session) -> bool:
    """The phone shown as having nothing bound really has nothing bound."""
    return session.execute(select(Binding.id).join(Resident, Resident.id == Binding.resident_id)
                           .where(Resident.phone == UNBOUND_LOGIN).limit(1)).first() is None


def logins_line(example: BindingExample | None) -> str:
    line = f"resident logins: {FIRST_LOGIN} (2 户号), {SECOND_LOGIN} (1 户号)"
    if example is None:
        return line
    return (f"{line}, {UNBOUND_LOGIN} (nothing bound: bind 户号 {example.account_no} with ID tail "
            f"{example.id_tail} or meter {example.meter_no})")
