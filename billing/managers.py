"""Property managers (物业): organisations whose members pay for many 户号 at once."""

from __future__ import annotations

from sqlmodel import Field, Session, SQLModel, select


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


class ManagerMember(SQLModel, table=True):
    """A resident login that acts for a manager organisation."""

    __tablename__ = "manager_member"

    manager_id: int = Field(foreign_key="manager.id", primary_key=True)
    resident_id: int = Field(foreign_key="resident.id", primary_key=True)


def managers_of(session: Session, resident_id: int) -> list[Manager]:
    return list(session.exec(
        select(Manager).join(ManagerMember, ManagerMember.manager_id == Manager.id)
        .where(ManagerMember.resident_id == resident_id).order_by(Manager.id)
    ))
