"""An account with two months of bills made by the bill run from its freezes, for the tests of bills
explained, cancelled and rebilled: September 200 kWh (all tier 1), October 300 kWh crossing into tier 2."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from billing import bills
from billing.accounts import Account
from billing.bill_records import Bill
from billing.bill_run import run_bills
from billing.db import read_session, unit_of_work
from billing.reads import AMI, NewRead, record_read
from tests import factories
from tests.conftest import csrf_token
from tests.read_helpers import old_account

JAN, SEP, OCT, NOV = date(2026, 1, 1), date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)
FREEZES = {JAN: 0, SEP: 2_400_000, OCT: 2_600_000, NOV: 2_900_000}
SEP_FEN = 10760  # 200 kWh x 0.538
OCT_FEN = 16840  # 160 kWh x 0.538 = 86.08 + 140 kWh x 0.588 = 82.32


@dataclass(frozen=True)
class Billed:
    account: Account
    september: Bill
    october: Bill


def billed_account(engine, clock, **fields) -> Billed:
    with unit_of_work(engine) as db:
        account = old_account(db, **fields)
        for day, wh in FREEZES.items():
            record_read(db, NewRead(account.meter_id, day, AMI, wh), now=clock())
    run_bills(engine, (2026, 9), now=clock())  # a first bill: held
    with unit_of_work(engine) as db:
        (held,) = db.execute(select(Bill.id).where(Bill.account_id == account.id)).scalars()
        bills.issue(db, held, now=clock())
    run_bills(engine, (2026, 10), now=clock())
    with read_session(engine) as db:
        september, october = db.execute(select(Bill).where(Bill.account_id == account.id).order_by(Bill.period_start)).scalars()
    assert (september.total_fen, october.total_fen) == (SEP_FEN, OCT_FEN)
    return Billed(account, september, october)


def correct_read(engine, clock, meter_id: int, day: date, wh: int) -> None:
    with unit_of_work(engine) as db:
        record_read(db, NewRead(meter_id, day, AMI, wh), now=clock(), replace=True)


def bind(engine, clock, phone: str, *account_ids: int) -> None:
    with unit_of_work(engine) as db:
        factories.resident(db, phone, at=clock(), accounts=tuple(db.get(Account, a) for a in account_ids))


def resident_log_in(client, phone: str):
    token = csrf_token(client, "/login")
    page = client.post("/login/code", data={"phone": phone, "csrf_token": token}, follow_redirects=True)
    code = re.search(r"验证码：(\d{6})", page.get_data(as_text=True)).group(1)
    return client.post("/login", data={"phone": phone, "code": code, "csrf_token": token})
