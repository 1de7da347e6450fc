"""What a resident's home page is made of, fetched in one query: their phone, whether they act for a
property manager, and each bound 户号 with the fingerprint of its summary (``billing.account_summary``).

``HomeFacts`` is hashable and holds everything the page shows that can change, so it is also the key
under which the web layer keeps the rendered page: a payment, a read, a new label or a new binding
changes it, and the next visit renders afresh.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import bindparam, exists, select
from sqlalchemy.engine import Connection

from billing.account_summary import fingerprint_columns
from billing.accounts import Account
from billing.bindings import BOUND_COLUMNS, BoundAccount, bound_from_row
from billing.managers import ManagerMember
from billing.residents import Binding, Resident


class HomeFacts(NamedTuple):
    phone: str
    manages: bool  # acts for a property manager: the page links to the manager's desk
    accounts: tuple[tuple[BoundAccount, tuple], ...]  # in 户号 order, each with its summary's fingerprint


_FACTS = (
    select(Resident.phone, exists().where(ManagerMember.resident_id == Resident.id), *BOUND_COLUMNS,
           *fingerprint_columns())
    .select_from(Resident)
    .outerjoin(Binding, Binding.resident_id == Resident.id)
    .outerjoin(Account, Account.id == Binding.account_id)
    .where(Resident.id == bindparam("resident_id"))
    .order_by(Account.account_no)
)
_BOUND_FROM = 2  # the row's first BoundAccount column; its fingerprint follows the binding's columns


def home_facts(connection: Connection, resident_id: int) -> HomeFacts | None:
    """None when there is no such resident (a database reset under a live login)."""
    rows = connection.execute(_FACTS, {"resident_id": resident_id}).all()
    if not rows:
        return None
    prints_from = _BOUND_FROM + len(BOUND_COLUMNS)
    accounts = tuple((bound_from_row(row[_BOUND_FROM:]), tuple(row[prints_from:]))
                     for row in rows if row[_BOUND_FROM] is not None)
    return HomeFacts(rows[0][0], bool(rows[0][1]), accounts)
