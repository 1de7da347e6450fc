"""Binding a 户号 to a resident: proof, limits, labels, unbinding.

A resident proves they may see and pay for a 户号 by knowing, beside the 户号, the last four
characters of the holder's ID number (``Customer.id_number_tail``) or the number of the meter that
serves it.  ``check_proof`` shows the holder's name masked (李*荣) for the resident to confirm;
``bind`` checks the proof again and binds.  Several residents may bind the same 户号 (a family
member paying for a parent's flat); each resident binds at most ``max_bindings``.

Wrong proofs are rate limited per resident, per client address and per target 户号: a wrong try is
counted after the caller's rollback (``record_after_rollback``, run by ``unit_of_work``), so callers
check proofs inside ``unit_of_work``.  Only wrong tries count: the owner who typed it right once
never runs into the limit by looking twice.  Every error names its field and changes nothing.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, func
from sqlmodel import Session, select

from billing import events, throttle
from billing.accounts import CLOSED, Account, Customer, Meter, validate_account_no
from billing.errors import InvalidInput, NotFound, PermissionDenied, RateLimited
from billing.privacy import mask_name
from billing.residents import Binding
from billing.throttle import Rule

MAX_LABEL_CHARS = 20
SUGGESTED_LABELS = ("家", "父母家", "店铺")
ID_TAIL, METER_NO = "id_tail", "meter_no"
MAX_BALANCE_LOW_FEN = 1_000_000  # 10,000 元: a reminder threshold beyond that is a typo
ACCOUNT_BOUND, ACCOUNT_UNBOUND = "account_bound", "account_unbound"
HOUR, DAY = timedelta(hours=1), timedelta(days=1)

# Wrong proofs allowed, by what they are counted against (the key's kind names the refusal's field).
RULES = {
    "resident": (Rule("bind:resident:hour", 5, HOUR, "resident"), Rule("bind:resident:day", 10, DAY, "resident")),
    "client": (Rule("bind:client:hour", 10, HOUR, "client"), Rule("bind:client:day", 30, DAY, "client")),
    "account_no": (Rule("bind:account:hour", 5, HOUR, "account_no"), Rule("bind:account:day", 10, DAY, "account_no")),
}

_ID_TAIL = re.compile(r"^[0-9]{3}[0-9X]$")
_METER_NO = re.compile(r"^[0-9A-Z-]{1,24}$")


@dataclass(frozen=True)
class Proof:
    """What the resident knows: exactly one of the ID number's last four characters or the meter number."""

    id_tail: str = ""
    meter_no: str = ""


@dataclass(frozen=True)
class BindingCandidate:
    """A 户号 whose proof was right, as the resident confirms it before binding."""

    account_no: str
    holder_masked: str
    category: str
    regime: str
    bound_already: bool  # by this resident


@dataclass(frozen=True)
class BoundAccount:
    """One of a resident's 户号 as they see it in lists: never the holder's full name."""

    binding_id: int
    account_id: int
    account_no: str
    label: str
    holder_masked: str
    address: str
    category: str
    regime: str
    status: str
    balance_low_fen: int
    bound_at: datetime


class BindingProofWrong(PermissionDenied):
    """The 户号 and the proof do not match (or the 户号 is unknown or closed: the same answer, so
    that nobody learns which 户号 exist).  The try is counted after the rollback."""

    code = "binding_proof_wrong"

    def __init__(self, field: str, keys: dict[str, str], at: datetime) -> None:
        super().__init__("the 户号 and the proof do not match", field=field)
        self.keys, self.at = keys, at

    def record_after_rollback(self, session: Session) -> None:
        for kind, key in self.keys.items():
            for rule in RULES[kind]:
                throttle.hit(session, rule, key, now=self.at)


class AlreadyBound(InvalidInput):
    code = "binding_exists"


class BindingLimit(PermissionDenied):
    code = "binding_limit"


class BindingNotFound(NotFound):
    """Not one of the resident's 户号 (someone else's, unbound, or no such 户号: one answer)."""

    code = "binding_not_found"

    def __init__(self) -> None:
        super().__init__("not one of your 户号", field="account_no")


def bindings(session: Session, resident_id: int) -> list[BoundAccount]:
    """The resident's 户号 in 户号 order."""
    rows = session.connection().execute(_BINDINGS, {"resident_id": resident_id})
    return [bound_from_row(row) for row in rows]


def bound_account(session: Session, resident_id: int, account_no: object) -> BoundAccount:
    """One of the resident's 户号, or ``BindingNotFound`` (a malformed 户号 too: nothing to probe)."""
    if not isinstance(account_no, str):
        raise BindingNotFound()
    row = session.connection().execute(_ONE_BINDING, {"resident_id": resident_id, "account_no": account_no}).first()
    if row is None:
        raise BindingNotFound()
    return bound_from_row(row)


def check_proof(session: Session, resident_id: int, account_no: object, proof: Proof, *, client: str,
                now: datetime) -> BindingCandidate:
    """The 户号 with its holder's name masked if the proof is right; ``BindingProofWrong`` (counted)
    if not, ``RateLimited`` once too many wrong tries were made.  Run it in ``unit_of_work``."""
    account_no = validate_account_no(account_no)
    field, given = _proof_field(proof)
    keys = {"resident": str(resident_id), "client": client, "account_no": account_no}
    for kind, key in keys.items():
        for rule in RULES[kind]:
            if throttle.exceeded(session, rule, key, now=now):
                raise RateLimited(f"too many wrong proofs ({rule.name})", field=rule.field)
    found = session.exec(select(Account, Customer, Meter).join(Customer, Customer.id == Account.customer_id)
                         .join(Meter, Meter.id == Account.meter_id).where(Account.account_no == account_no)).first()
    if found is None or found[0].status == CLOSED or not _matches(field, given, found[1], found[2]):
        raise BindingProofWrong(field, keys, now)
    account = found[0]
    bound = session.exec(select(Binding.id).where(Binding.resident_id == resident_id,
                                                  Binding.account_id == account.id)).first()
    return BindingCandidate(account.account_no, mask_name(account.holder_name), account.category, account.regime,
                            bound is not None)


def bind(session: Session, resident_id: int, account_no: object, proof: Proof, *, label: object = "",
         client: str, now: datetime, max_bindings: int) -> BoundAccount:
    """Bind the 户号 to the resident after checking the proof again (as ``check_proof``)."""
    label = validate_label(label)
    account_no = validate_account_no(account_no)
    held = session.exec(select(func.count()).select_from(Binding).where(Binding.resident_id == resident_id)).one()
    candidate = check_proof(session, resident_id, account_no, proof, client=client, now=now)
    if candidate.bound_already:
        raise AlreadyBound("account_no", f"{account_no} is bound already")
    if held >= max_bindings:
        raise BindingLimit(f"at most {max_bindings} 户号 per resident", field="account_no", maximum=max_bindings)
    account = session.exec(select(Account).where(Account.account_no == account_no)).one()
    session.add(Binding(resident_id=resident_id, account_id=account.id, bound_at=now, label=label))
    session.flush()
    events.emit(session, ACCOUNT_BOUND, at=now, account_id=account.id, resident_id=resident_id,
                proof=_proof_field(proof)[0])
    return bound_account(session, resident_id, account_no)


def relabel(session: Session, resident_id: int, account_no: object, label: object) -> BoundAccount:
    label = validate_label(label)
    return _change(session, resident_id, account_no, lambda found: session.get(Binding, found.binding_id), label=label)


def unbind(session: Session, resident_id: int, account_no: object, *, now: datetime) -> None:
    """Remove the resident's own binding; other residents bound to the same 户号 keep theirs."""
    found = bound_account(session, resident_id, account_no)
    session.execute(delete(Binding).where(Binding.id == found.binding_id, Binding.resident_id == resident_id))
    events.emit(session, ACCOUNT_UNBOUND, at=now, account_id=found.account_id, resident_id=resident_id)


def set_balance_low(session: Session, resident_id: int, account_no: object, threshold_fen: object) -> BoundAccount:
    """The balance below which a bound prepaid 户号 sends its low-balance reminder (the 户号's own
    setting: every resident bound to it sees the same threshold)."""
    if isinstance(threshold_fen, bool) or not isinstance(threshold_fen, int) \
            or not 0 <= threshold_fen <= MAX_BALANCE_LOW_FEN:
        raise InvalidInput("balance_low", f"must be 0 to {MAX_BALANCE_LOW_FEN} fen", maximum=MAX_BALANCE_LOW_FEN // 100)
    return _change(session, resident_id, account_no, lambda found: session.get(Account, found.account_id),
                   balance_low_fen=threshold_fen)


def _change(session: Session, resident_id: int, account_no: object, row_of, **values) -> BoundAccount:
    """Set ``values`` on the row ``row_of`` picks (the binding, the account) of one of the resident's 户号."""
    found = bound_account(session, resident_id, account_no)
    row = row_of(found)
    for name, value in values.items():
        setattr(row, name, value)
    session.add(row)
    session.flush()
    return bound_account(session, resident_id, found.account_no)


def validate_label(label: object) -> str:
    text = label.strip() if isinstance(label, str) else None
    if text is None or len(text) > MAX_LABEL_CHARS or any(not ch.isprintable() for ch in text):
        raise InvalidInput("label", f"a label of at most {MAX_LABEL_CHARS} characters", maximum=MAX_LABEL_CHARS)
    return text


def _proof_field(proof: Proof) -> tuple[str, str]:
    """Which proof was given, normalised, or ``InvalidInput`` naming the field."""
    id_tail = proof.id_tail.strip().upper() if isinstance(proof.id_tail, str) else ""
    meter_no = proof.meter_no.strip().upper() if isinstance(proof.meter_no, str) else ""
    if bool(id_tail) == bool(meter_no):
        raise InvalidInput("proof", "give the ID number's last four characters or the meter number")
    if id_tail and not _ID_TAIL.match(id_tail):
        raise InvalidInput(ID_TAIL, "the last four characters of an ID number: digits, the last may be X")
    if meter_no and not _METER_NO.match(meter_no):
        raise InvalidInput(METER_NO, "a meter number of 1 to 24 letters, digits or '-'")
    return (ID_TAIL, id_tail) if id_tail else (METER_NO, meter_no)


def _matches(field: str, given: str, customer: Customer, meter: Meter) -> bool:
    held = (customer.id_number_tail if field == ID_TAIL else meter.meter_no).upper()
    return bool(held) and hmac.compare_digest(held.encode(), given.encode())


# A BoundAccount's columns in its field order (the holder's name is masked on the way out); the
# statements are built once because every resident page asks.
BOUND_COLUMNS = (Binding.id, Account.id, Account.account_no, Binding.label, Account.holder_name, Account.address,
                 Account.category, Account.regime, Account.status, Account.balance_low_fen, Binding.bound_at)
_BOUND = (select(*BOUND_COLUMNS).join(Account, Account.id == Binding.account_id)
          .where(Binding.resident_id == bindparam("resident_id")))
_BINDINGS = _BOUND.order_by(Account.account_no)
_ONE_BINDING = _BOUND.where(Account.account_no == bindparam("account_no"))


def bound_from_row(row) -> BoundAccount:
    """A BoundAccount from the first ``len(BOUND_COLUMNS)`` values of a row that selected them."""
    values = list(row[:len(BOUND_COLUMNS)])
    values[4] = mask_name(values[4])
    return BoundAccount(*values)
