"""The set-based bill run writes what the single-account services write: twin accounts (the same
reads, payments, earlier bills and carried estimates) in two districts, one district billed by
``run_bills`` (bulk), the other account by account through ``bill_drafts.make`` and
``bills.create``; their bills, lines, transfers, allocations, events and balances compare row for
row once the ids are named by what they are."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import or_, select

from billing import events, bills, ledger
from billing.accounts import LARGE_INDUSTRY, NON_RESIDENTIAL, Account, District
from billing.bill_drafts import HoldRules, make
from billing.bill_records import Allocation, Bill, BillLine
from billing.bill_run import run_bills
from billing.clock import beijing_date
from billing.db import read_session, unit_of_work
from billing.events import Event
from billing.ledger import LedgerAccount, Posting, Transfer
from billing.meters import ReadMissing
from billing.reads import ESTIMATED, EstimateCarry, NewRead, record_read
from billing.tariff_files import shipped_tariffs
from billing.late_fee_posting import post_late_fees
from tests.bill_helpers import draft, pay
from tests.read_helpers import old_account

JAN, SEP, OCT, NOV = date(2026, 1, 1), date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)
TOU = {OCT: {"sharp": 0, "peak": 0, "flat": 0, "valley": 0},
       NOV: {"sharp": 10_000, "peak": 100_000, "flat": 200_000, "valley": 300_000}}

# name -> (freezes in Wh, payments in fen, earlier September bill in fen or None, account fields)
CASES = {
    "clean": ({OCT: 1_000_000, NOV: 1_300_000}, [], 15_000, {}),
    "annual tiers from January": ({JAN: 0, OCT: 2_700_000, NOV: 3_000_000}, [], 15_000, {}),
    "credit covers it": ({OCT: 0, NOV: 300_000}, [20_000, 30_000], 15_000, {}),
    "credit covers part": ({OCT: 0, NOV: 300_000}, [5_000], 15_000, {}),
    "arrears": ({OCT: 0, NOV: 300_000}, [], 15_000, {}),
    "no use": ({OCT: 500_000, NOV: 500_000}, [], 15_000, {}),
    "first bill": ({OCT: 0, NOV: 100_000}, [], None, {}),
    "estimated": ({OCT: 0, NOV: 100_000}, [], 15_000, {"estimated": True}),
    "high": ({OCT: 0, NOV: 2_000_000}, [], 15_000, {}),
    "carried estimate": ({OCT: 0, NOV: 100_000}, [1_000], 15_000, {"carry_wh": 40_000}),
    "flat commercial": ({OCT: 0, NOV: 700_000}, [], 60_000, {"category": NON_RESIDENTIAL}),
    "large industry": (TOU, [2_000_000], 900_000, {"category": LARGE_INDUSTRY}),
    "missing read": ({NOV: 100_000}, [], 15_000, {}),
    # a debit posted without its allocation: the run's shortcut does not add up, it replays in full
    "unallocated debit": ({OCT: 0, NOV: 300_000}, [30_000], 15_000, {"raw_debit": 3_000}),
}


def _district(db, code: str) -> District:
    district = District(code=code, name=code)
    db.add(district)
    db.flush()
    return district


def _twin(db, clock, district: District, case: str) -> Account:
    freezes, payments, september, fields = CASES[case]
    fields = dict(fields)
    estimated, carry_wh = fields.pop("estimated", False), fields.pop("carry_wh", 0)
    fields.pop("raw_debit", None)
    account = old_account(db, district_=district, **fields)
    for day, wh in freezes.items():
        registers = wh if isinstance(wh, dict) else {}
        total = sum(registers.values()) if registers else wh
        source = ESTIMATED if estimated and day == NOV else "ami"
        (read, *_) = record_read(db, NewRead(account.meter_id, day, source, total, registers), now=clock())
        if carry_wh and day == OCT:
            db.add(EstimateCarry(account_id=account.id, estimated_read_id=read.id, actual_read_id=read.id,
                                 difference_wh=carry_wh, created_at=clock()))
    if september is not None:
        bills.create(db, draft(account, september, due=date(2026, 10, 20), period=(SEP, date(2026, 9, 30))),
                     now=clock() - timedelta(days=58))
    db.flush()
    return account


def _single(engine, clock, account_id: int) -> None:
    """The reference: one account through the single-account services (its late fees first, as the
    run posts them before its bills, whether or not the account can be billed)."""
    with unit_of_work(engine) as db:
        post_late_fees(db, [account_id], on=beijing_date(clock()), now=clock())
    with unit_of_work(engine) as db:
        account = db.get(Account, account_id)
        made = make(db, account, OCT, NOV, issue_on=beijing_date(clock()), rules=HoldRules(), tariffs=shipped_tariffs())
        bills.create(db, made.draft, now=clock(), hold=bool(made.holds))


def _picture(db, account: Account) -> dict:
    """Everything the bill of October wrote for ``account``, its ids named by what they are."""
    customer = ledger.customer_code(account.account_no)
    october = db.execute(select(Bill).where(Bill.account_id == account.id, Bill.period_start >= OCT)).scalars().all()
    transfers = {t.id: t for t in db.execute(select(Transfer).join(
        LedgerAccount, or_(LedgerAccount.id == Transfer.debit_id, LedgerAccount.id == Transfer.credit_id))
        .where(LedgerAccount.code == customer)).scalars()}
    codes = dict(db.execute(select(LedgerAccount.id, LedgerAccount.code)).all())
    numbers = set(db.execute(select(Bill.number).where(Bill.account_id == account.id, Bill.number.is_not(None))).scalars())
    bill_ids = {bill.id: f"bill{n}" for n, bill in enumerate(db.execute(
        select(Bill).where(Bill.account_id == account.id).order_by(Bill.id)).scalars())}

    keys = {f"bill:{bill_id}": f"bill:{name}" for bill_id, name in bill_ids.items()}

    def named(text: str) -> str:
        return keys.get(text, text).replace(account.account_no, "<account>")

    def transfer(transfer_id: int | None):
        if transfer_id is None:
            return None
        t = transfers[transfer_id]
        return (named(t.key), named(codes[t.debit_id]), named(codes[t.credit_id]), t.amount_fen, t.code,
                "<number>" if t.memo in numbers else t.memo, t.posted_at, t.business_date)

    picture = {"bills": [], "allocations": [], "events": [], "balance": ledger.balance_fen(db, customer)}
    for bill in october:
        lines = db.execute(select(BillLine).where(BillLine.bill_id == bill.id).order_by(BillLine.position)).scalars()
        picture["bills"].append({
            **{column: getattr(bill, column) for column in Bill.model_fields if column not in (
                "id", "account_id", "number", "transfer_id")},
            "numbered": bill.number is not None, "transfer": transfer(bill.transfer_id),
            "lines": [(line.position, line.kind, line.description_key, line.energy_wh, line.unit_price_millifen_per_kwh,
                       line.amount_fen) for line in lines]})
    for row in db.execute(select(Allocation).where(Allocation.account_id == account.id).order_by(Allocation.id)).scalars():
        picture["allocations"].append((transfer(row.credit_transfer_id), transfer(row.debit_transfer_id),
                                       bill_ids.get(row.bill_id), row.amount_fen, row.paid_on, row.at, row.reverses_id))
    for event in db.execute(select(Event).where(Event.account_id == account.id).order_by(Event.id)).scalars():
        data = event.data
        if event.kind == bills.BILL_ISSUED:
            data |= {"bill_id": bill_ids[data["bill_id"]], "account_no": "<account>", "number": data["number"] is not None}
        elif event.kind == events.LATE_FEE_POSTED:
            data |= {"bill_id": bill_ids[data["bill_id"]], "fee_bill_id": bill_ids[data["fee_bill_id"]],
                     "number": data["number"] is not None, "fee_number": data["fee_number"] is not None}
        picture["events"].append((event.kind, data, event.created_at))
    return picture


def test_the_bulk_run_writes_row_for_row_what_the_single_account_services_write(engine, clock):
    with unit_of_work(engine) as db:
        bulk, single = _district(db, "BULK"), _district(db, "SINGLE")
        twins = [(_twin(db, clock, bulk, case).id, _twin(db, clock, single, case).id) for case in CASES]
    for n, case in enumerate(CASES):  # the same payments, posted in the same order for both twins
        for fen in CASES[case][1]:
            for account_id in twins[n]:
                with read_session(engine) as db:
                    account = db.get(Account, account_id)
                pay(engine, clock, account, fen, key=f"pay:twin:{account.account_no}:{fen}")
        if debit := CASES[case][3].get("raw_debit"):
            for account_id in twins[n]:
                with unit_of_work(engine) as db:
                    account_no = db.get(Account, account_id).account_no
                    ledger.post(db, Posting(f"debit:twin:{account_no}", ledger.customer_code(account_no),
                                            "equity:opening", debit, "opening"), at=clock())
    result = run_bills(engine, (2026, 10), district="BULK", now=clock(), chunk=5)
    for case, (_, account_id) in zip(CASES, twins):
        if case == "missing read":  # what the run counts as not billed, the single path refuses
            with pytest.raises(ReadMissing):
                _single(engine, clock, account_id)
        else:
            _single(engine, clock, account_id)
    assert dict(result.not_billed) == {"read_missing": 1}
    assert (result.issued, dict(result.held_by_rule)) == (10, {"first_bill": 1, "estimated_read": 1, "high_amount": 1})
    with read_session(engine) as db:
        for case, (bulk_id, single_id) in zip(CASES, twins):
            assert _picture(db, db.get(Account, bulk_id)) == _picture(db, db.get(Account, single_id)), case
        numbered = db.execute(select(Bill.period_start, Bill.number).join(Account).join(District).where(
            District.code == "BULK", Bill.issue_date == beijing_date(clock()), Bill.number.is_not(None))
            .order_by(Account.id, Bill.id)).all()
        serials = sorted(int(number.split("-")[1]) for _, number in numbered)  # October's bills and the fee bills
        assert serials == list(range(serials[0], serials[0] + len(serials)))  # gapless
        october = [int(number.split("-")[1]) for start, number in numbered if start == OCT]
        assert october == sorted(october)  # in account order
