"""The demo's 催费 walk always meets a protected account in arrears: when none would owe long enough,
the hospital gets a back-billing bill that fell due a month before the walk, once, and the ladder
holds it for staff on the walk's first morning."""

from datetime import date, datetime, timedelta

from sqlalchemy import select

from billing import dunning
from billing.accounts import Account
from billing.bill_records import Bill
from billing.clock import BEIJING
from billing.db import read_session
from billing.dunning_records import OVERDUE, PROTECTED
from demo.county import load_demo_county
from portal.demo_dunning import DAYS, RUNS, protected_in_arrears
from tests.conftest import START


def test_the_hospital_gets_a_back_billing_bill_when_no_protected_account_would_owe(engine):
    load_demo_county(engine, accounts=10, now=START)  # no bills: nobody owes
    first = date(2026, 11, 6)
    for _ in range(2):  # once
        protected_in_arrears(engine, first, first + timedelta(days=DAYS - 1))
    with read_session(engine) as db:
        owing = db.execute(select(Account.holder_name, Bill.due_date).join(Bill, Bill.account_id == Account.id)).all()
    assert owing == [("县人民医院", first - timedelta(days=31))]
    assert dunning.run(engine, on=first, now=datetime.combine(first, RUNS[0], tzinfo=BEIJING)) == {OVERDUE: 1, PROTECTED: 1}
