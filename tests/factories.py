"""Small builders for test data, going through the same functions production uses."""

from __future__ import annotations

from datetime import date
from itertools import count

from sqlmodel import Session

from billing.accounts import Account, Customer, District, Meter, open_account
from billing.clock import beijing_date
from billing.managers import Manager, ManagerAccount, ManagerMember
from billing.residents import Binding, Resident

_serial = count(1)


def district(session: Session, code: str | None = None) -> District:
    n = next(_serial)
    row = District(code=code or f"TQ-{n:04d}", name=f"测试台区{n}")
    session.add(row)
    session.flush()
    return row


def account(session: Session, *, at, account_no: str | None = None, district_: District | None = None, **fields) -> Account:
    n = next(_serial)
    district_ = district_ or district(session)
    meter = Meter(meter_no=f"T{n:010d}", installed_on=date(2025, 1, 1))
    customer = Customer(name=fields.pop("holder_name", "李小荣"), phone="13700000000", created_at=at)
    session.add_all([meter, customer])
    session.flush()
    return open_account(
        session,
        account_no=account_no or f"99{n:08d}",
        holder_name=customer.name,
        customer=customer,
        district=district_,
        meter=meter,
        opened_on=beijing_date(at),
        **fields,
    )


def resident(session: Session, phone: str, *, at, accounts: tuple[Account, ...] = ()) -> Resident:
    row = Resident(phone=phone, created_at=at)
    session.add(row)
    session.flush()
    session.add_all(Binding(resident_id=row.id, account_id=a.id, bound_at=at) for a in accounts)
    session.flush()
    return row


def manager(session: Session, *, at, account_nos: list[str], member_phone: str | None = None) -> tuple[Manager, list[Account]]:
    """A property manager with its 户号 (and a member who logs in for it, if a phone is given)."""
    org = Manager(name="幸福家园物业")
    session.add(org)
    session.flush()
    accounts = [account(session, at=at, account_no=number) for number in account_nos]
    session.add_all(ManagerAccount(manager_id=org.id, account_id=a.id) for a in accounts)
    if member_phone:
        member = resident(session, member_phone, at=at)
        session.add(ManagerMember(manager_id=org.id, resident_id=member.id))
    session.flush()
    return org, accounts
