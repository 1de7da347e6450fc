"""Property managers (物业): organisations whose members pay for many 户号 at once."""

from __future__ import annotations

from typing import NamedTuple

from sqlmodel import Field, Session, SQLModel, select

from billing.accounts import Account
from billing.errors import InvalidInput, NotFound, PermissionDenied


class Manager(SQLModel, table=True):
    """A property-management organisation (物业)."""

    __tablename__ = "manager"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    contact_phone: str = Field(default="", max_length=20)


class ManagerAccount(SQLModel, table=True):
    __tablename__ = "manager_account"

    manager_id: int = Field(foreign_key="manager.id", primary_key=True)
    account_id: int = Field(foreign_key="account.id", primary_key=True)
    label: str = Field(default="", max_length=40, sa_column_kwargs={"server_default": ""})  # 3栋201, 物业办公室


class ManagerMember(SQLModel, table=True):
    """A resident login that acts for a manager organisation."""

    __tablename__ = "manager_member"

    manager_id: int = Field(foreign_key="manager.id", primary_key=True)
    resident_id: int = Field(foreign_key="resident.id", primary_key=True)


LABEL_CHARS = 40


def set_label(session: Session, manager_id: int, account_no: str, label: str) -> ManagerAccount:
    """The manager's own name for one of its 户号 (blank clears it)."""
    label = " ".join(label.split())
    if len(label) > LABEL_CHARS:
        raise InvalidInput("manager_label", f"at most {LABEL_CHARS} characters")
    managed = session.exec(select(ManagerAccount).join(Account, Account.id == ManagerAccount.account_id)
                           .where(ManagerAccount.manager_id == manager_id, Account.account_no == account_no)).first()
    if managed is None:
        raise NotFound(f"no 户号 {account_no[:10]} managed here", field="account_no")
    managed.label = label
    session.add(managed)
    return managed


def managers_of(session: Session, resident_id: int) -> list[Manager]:
    return list(session.exec(
        select(Manager).join(ManagerMember, ManagerMember.manager_id == Manager.id)
        .where(ManagerMember.resident_id == resident_id).order_by(Manager.id)
    ))


class Membership(NamedTuple):
    """The organisations a member belongs to and the one they act for (None: they must choose)."""

    choices: list[Manager]
    acting: Manager | None

    def includes(self, manager_id: int | None) -> bool:
        return any(manager.id == manager_id for manager in self.choices)


def membership(session: Session, resident_id: int, chosen_id: int | None) -> Membership:
    """A member of one organisation acts for it; a member of several acts for the one they chose
    (and still belong to), and otherwise for none until they choose: never the first by accident."""
    choices = managers_of(session, resident_id)
    acting = next((manager for manager in choices if manager.id == chosen_id), None)
    if acting is None and len(choices) == 1:
        acting = choices[0]
    return Membership(choices, acting)


def choose_manager(session: Session, resident_id: int, manager_id: int | None) -> Manager:
    """The organisation the member picked, if they belong to it."""
    chosen = membership(session, resident_id, manager_id)
    if chosen.acting is None or chosen.acting.id != manager_id:
        raise PermissionDenied("not a member of that property manager", field="manager")
    return chosen.acting
