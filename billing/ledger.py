"""The double-entry ledger: the only writer of transfers.

Rules (TigerBeetle's, in SQL): a transfer moves ``amount_fen`` from a debit account to a credit
account, so every transfer balances by construction.  Transfers are immutable (database triggers
refuse UPDATE and DELETE); a mistake is corrected by a reversing transfer.  Every transfer carries
a deterministic idempotency key, UNIQUE in the database: posting the same key again with the same
fields returns ``exists``; with different fields it raises ``TransferConflict`` and leaves an
incident behind.  Each ledger account caches its posted debits and credits, updated in the same
transaction as the insert and checked against the sum of transfers by ``check_invariants``.  A
posting that would take a cached total beyond BIGINT is refused (``InvalidInput``) and writes
nothing, whatever amount a caller passes.

Sign convention: a customer's balance is credits - debits (positive = prepaid money we hold,
negative = arrears).  Payments credit it; bills and late fees debit it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, bindparam, case, func, literal, or_, select, update
from sqlmodel import Field, Session, SQLModel

from billing.clock import beijing_date
from billing.db import insert_ignoring_duplicates
from billing.errors import InvalidInput, TransferConflict
from billing.incidents import record_incident
from billing.money import MAX_FEN, require_fen

ASSET, LIABILITY, EQUITY, REVENUE, EXPENSE = "asset", "liability", "equity", "revenue", "expense"
DEBIT_NORMAL = (ASSET, EXPENSE)  # kinds whose balance is debits - credits

# Accounts that exist in every installation; materialised on first use.
SYSTEM_ACCOUNTS: dict[str, str] = {
    "clearing:wechat": ASSET,
    "clearing:alipay": ASSET,
    "clearing:counter": ASSET,
    "revenue:energy": REVENUE,
    "revenue:late_fee": REVENUE,
    "refunds:payable": LIABILITY,
    "allowance:bad_debt": ASSET,
    "equity:opening": EQUITY,
    # Money a channel reported that we hold until finance decides (payments.suspense).
    "suspense:wechat": LIABILITY,
    "suspense:alipay": LIABILITY,
    "suspense:counter": LIABILITY,
    # What the channels charge us, booked a day at a time (payments.fees).
    "expense:fees:wechat": EXPENSE,
    "expense:fees:alipay": EXPENSE,
    # 对账 differences finance wrote off (payments.write_offs): a 短款 lost, a 长款 nobody can claim.
    "expense:write_off": EXPENSE,
    "revenue:unclaimed": REVENUE,
    # 坏账核销 and what came in after it (billing.bad_debt, billing.bad_debt_recovery).
    "expense:bad_debt": EXPENSE,
    "revenue:bad_debt_recovered": REVENUE,
}


class LedgerAccount(SQLModel, table=True):
    __tablename__ = "ledger_account"
    __table_args__ = (
        CheckConstraint("kind IN ('asset', 'liability', 'equity', 'revenue', 'expense')", name="kind"),
        CheckConstraint("debits_fen >= 0 AND credits_fen >= 0", name="posted_non_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    kind: str = Field(max_length=10)
    account_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    debits_fen: int = Field(default=0, sa_type=BigInteger)
    credits_fen: int = Field(default=0, sa_type=BigInteger)


class Transfer(SQLModel, table=True):
    __tablename__ = "ledger_transfer"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("debit_id <> credit_id", name="distinct_accounts"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=120, unique=True)
    debit_id: int = Field(foreign_key="ledger_account.id", index=True)
    credit_id: int = Field(foreign_key="ledger_account.id", index=True)
    amount_fen: int = Field(sa_type=BigInteger)
    code: str = Field(max_length=20)
    memo: str = Field(default="", max_length=200)
    posted_at: datetime
    business_date: date  # the Beijing day the money moved for: statements, due dates, late-fee days


@dataclass(frozen=True)
class Posting:
    """What to post.  ``debit`` and ``credit`` are ledger account codes."""

    key: str
    debit: str
    credit: str
    amount_fen: int
    code: str
    memo: str = ""
    business_date: date | None = None  # the Beijing date of ``at`` unless the caller knows better (a bill's issue date)

    def validate(self) -> None:
        require_fen(self.amount_fen)
        if not 0 < self.amount_fen <= MAX_FEN:
            raise InvalidInput("amount_fen", f"must be between 1 and {MAX_FEN}, got {self.amount_fen}")
        if self.debit == self.credit:
            raise InvalidInput("credit", f"a transfer cannot move money from {self.debit} to itself")
        if not self.key or len(self.key) > 120:
            raise InvalidInput("key", "an idempotency key of 1 to 120 characters is required")


@dataclass(frozen=True)
class Posted:
    status: str  # "created" or "exists"
    transfer_id: int
    credit_balance_fen: int | None = None  # credits - debits of the credited account, when created
    debit_balance_fen: int | None = None  # credits - debits of the debited account, when created

    @property
    def created(self) -> bool:
        return self.status == "created"


class TransferConflictError(TransferConflict):
    """Raised on a key reused with other fields; the unit of work records it after rolling back."""

    def __init__(self, posting: Posting, existing: dict, at: datetime) -> None:
        super().__init__(f"transfer key {posting.key!r} was already posted with other fields", key=posting.key)
        self.posting, self.existing, self.at = posting, existing, at

    def record_after_rollback(self, session: Session) -> None:
        attempted = {k: getattr(self.posting, k) for k in ("debit", "credit", "amount_fen", "code")}
        detail = {"existing": self.existing, "attempted": attempted}
        record_incident(session, kind="transfer_conflict", ref=self.posting.key, detail=detail, at=self.at)


def post(session: Session, posting: Posting, *, at: datetime, known_ids: dict[str, int] | None = None) -> Posted:
    """Post one transfer in the caller's transaction; idempotent by ``posting.key``.

    ``known_ids`` (ledger account ids by code) saves a lookup on hot paths that read them anyway."""
    posting.validate()
    codes = [posting.debit, posting.credit]
    ids = known_ids if known_ids and all(known_ids.get(code) for code in codes) else account_ids(session, codes)
    db = session.connection()
    amounts = {"d": ids[posting.debit], "c": ids[posting.credit], "a": posting.amount_fen}
    balances = dict(db.execute(_APPLY, amounts).all())
    if len(balances) < 2:  # a cached total would leave BIGINT: the guard held that row back
        _revert(db, amounts, balances)
        return _existing(session, posting, at, refused=True)
    row = {"key": posting.key, "debit_id": ids[posting.debit], "credit_id": ids[posting.credit],
           "amount_fen": posting.amount_fen, "code": posting.code, "memo": posting.memo[:200], "posted_at": at,
           "business_date": posting.business_date or beijing_date(at)}
    new_id = db.execute(insert_ignoring_duplicates(db, Transfer.__table__, ["key"], returning="id"), row).scalar()
    if new_id is None:
        _revert(db, amounts, balances)
        return _existing(session, posting, at)
    return Posted("created", new_id, balances[ids[posting.credit]], balances[ids[posting.debit]])


def _revert(db, amounts: dict[str, int], applied: dict[int, int]) -> None:
    """Take back what ``_APPLY`` added (a duplicate key, or the one side that fitted)."""
    if applied:
        db.execute(_REVERT, amounts | {"ids": list(applied)})


def _existing(session: Session, posting: Posting, at: datetime, *, refused: bool = False) -> Posted:
    debit, credit = LedgerAccount.__table__.alias("d"), LedgerAccount.__table__.alias("c")
    t = Transfer.__table__
    row = session.execute(
        select(t.c.id, debit.c.code, credit.c.code, t.c.amount_fen, t.c.code)
        .join(debit, debit.c.id == t.c.debit_id)
        .join(credit, credit.c.id == t.c.credit_id)
        .where(t.c.key == posting.key)
    ).one_or_none()
    if row is None and refused:
        raise InvalidInput("amount_fen", f"{posting.amount_fen} fen would take the posted totals of {posting.debit} "
                                         f"or {posting.credit} beyond {MAX_FEN} fen")
    transfer_id, *fields = row
    existing = dict(zip(("debit", "credit", "amount_fen", "code"), fields))
    if tuple(fields) != (posting.debit, posting.credit, posting.amount_fen, posting.code):
        raise TransferConflictError(posting, existing, at)
    return Posted("exists", transfer_id)


_accounts = LedgerAccount.__table__
_debit, _credit = _accounts.c.id == bindparam("d"), _accounts.c.id == bindparam("c")
_room = literal(MAX_FEN, BigInteger) - bindparam("a")
# Both sides of a transfer in one statement (rows are locked in index order, so two transfers on
# the same pair cannot deadlock); returns credits - debits of each account afterwards.  A side whose
# cached total would leave BIGINT is not updated (PostgreSQL would raise, SQLite would silently turn
# it into a float), so fewer than two rows come back; the WHERE is re-checked on the latest row
# version after waiting for a lock, so a concurrent posting cannot slip past it.
_APPLY = (
    update(_accounts)
    .where(or_(_debit, _credit), or_(~_debit, _accounts.c.debits_fen <= _room),
           or_(~_credit, _accounts.c.credits_fen <= _room))
    .values(
        debits_fen=_accounts.c.debits_fen + case((_debit, bindparam("a")), else_=0),
        credits_fen=_accounts.c.credits_fen + case((_credit, bindparam("a")), else_=0),
    )
    .returning(_accounts.c.id, _accounts.c.credits_fen - _accounts.c.debits_fen)
)
_REVERT = (
    update(_accounts)
    .where(_accounts.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        debits_fen=_accounts.c.debits_fen - case((_debit, bindparam("a")), else_=0),
        credits_fen=_accounts.c.credits_fen - case((_credit, bindparam("a")), else_=0),
    )
)
_IDS = select(_accounts.c.code, _accounts.c.id).where(_accounts.c.code.in_(bindparam("codes", expanding=True)))


def account_ids(session: Session, codes: list[str]) -> dict[str, int]:
    """Ledger account ids by code; system accounts are created on first use."""
    found = dict(session.connection().execute(_IDS, {"codes": codes}).all())
    missing = [code for code in codes if code not in found]
    if missing:
        _create_system_accounts(session, missing)
        found = dict(session.connection().execute(_IDS, {"codes": codes}).all())
    return found


def _create_system_accounts(session: Session, codes: list[str]) -> None:
    unknown = [code for code in codes if code not in SYSTEM_ACCOUNTS]
    if unknown:
        raise InvalidInput("code", f"no ledger account {', '.join(unknown)}")
    insert = insert_ignoring_duplicates(session, LedgerAccount.__table__, ["code"])
    session.execute(insert, [{"code": code, "kind": SYSTEM_ACCOUNTS[code]} for code in codes])


def customer_code(account_no: str) -> str:
    return f"customer:{account_no}"


def manager_code(manager_id: int) -> str:
    return f"manager:{manager_id}"


def ensure_ledger_account(session: Session, code: str, kind: str) -> None:
    """Create a ledger account if it does not exist yet (a manager's float on first bulk payment)."""
    insert = insert_ignoring_duplicates(session, LedgerAccount.__table__, ["code"])
    session.execute(insert, {"code": code, "kind": kind, "debits_fen": 0, "credits_fen": 0})


def open_ledger_account(session: Session, code: str, kind: str, account_id: int | None = None) -> LedgerAccount:
    ledger_account = LedgerAccount(code=code, kind=kind, account_id=account_id)
    session.add(ledger_account)
    session.flush()
    return ledger_account


def balance_fen(session: Session, code: str) -> int:
    """Balance on the account's normal side: credits - debits for liabilities, the reverse for assets and expenses."""
    row = session.execute(
        select(LedgerAccount.kind, LedgerAccount.debits_fen, LedgerAccount.credits_fen).where(LedgerAccount.code == code)
    ).one_or_none()
    if row is None:
        return 0
    kind, debits, credits = row
    return debits - credits if kind in DEBIT_NORMAL else credits - debits


def customer_balances(session: Session, account_ids_: list[int]) -> dict[int, int]:
    """Customer balance (credits - debits) by ``Account.id``."""
    if not account_ids_:
        return {}
    rows = session.execute(
        select(LedgerAccount.account_id, LedgerAccount.credits_fen - LedgerAccount.debits_fen).where(
            LedgerAccount.account_id.in_(account_ids_), LedgerAccount.code.startswith("customer:")
        )
    )
    return {account_id: balance for account_id, balance in rows}


def check_invariants(session: Session) -> list[str]:
    """Every way the ledger could be out of balance, as sentences; empty when all is well."""
    problems = []
    accounts, transfers = LedgerAccount.__table__, Transfer.__table__
    # Summed here, not in SQL: each total fits in BIGINT, their sum over all accounts need not
    # (SQLite's sum() raises on overflow).
    cached = session.execute(select(accounts.c.debits_fen, accounts.c.credits_fen)).all()
    total_debits, total_credits = sum(row[0] for row in cached), sum(row[1] for row in cached)
    if total_debits != total_credits:
        problems.append(f"cached debits {total_debits} != cached credits {total_credits}")
    for side, column in (("debit", "debits_fen"), ("credit", "credits_fen")):
        summed = (
            select(transfers.c[f"{side}_id"].label("id"), func.sum(transfers.c.amount_fen).label("total"))
            .group_by(transfers.c[f"{side}_id"])
            .subquery()
        )
        mismatches = session.execute(
            select(accounts.c.code, accounts.c[column], func.coalesce(summed.c.total, 0))
            .outerjoin(summed, summed.c.id == accounts.c.id)
            .where(accounts.c[column] != func.coalesce(summed.c.total, 0))
        )
        problems += [f"{code}: cached {column} {cached} != summed {total}" for code, cached, total in mismatches]
    return problems
