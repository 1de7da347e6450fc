"""Meter changes (换表) and multiplier changes: both meters count, the history is kept, the rules
call a change a change, and what cannot be right is refused naming the field, changing nothing."""

import pytest
from sqlmodel import select

from billing.accounts import Account, Meter
from billing.audit import AuditEntry
from billing.db import read_session, unit_of_work
from billing.errors import BillingError
from billing.meter_changes import MeterChangeRefused, Reading, change_meter, change_multiplier
from billing.meters import MeterInstallation, energy, install, installations
from billing.read_findings import METER_CHANGE, kind_of_drop
from billing.read_history import Point
from billing.read_rules import ReadRules, check_reads
from billing.reads import AMI, SUPERSEDED, VALID, Read
from billing.review import open_items
from tests.read_helpers import DAY, TODAY, old_account, reads, steady

END = TODAY - DAY
CHANGE = END - 10 * DAY
START = END - 39 * DAY


def _account_reading_until(db, clock, last_day, start_wh=5_000_000):
    account = old_account(db)
    reads(db, account.meter_id, START, steady(start_wh, 8_000, (last_day - START).days + 1), clock)
    return account


def _change(db, account, clock, **overrides):
    fields = dict(on=CHANGE, old_final=Reading(5_243_000), new_meter_no="N-0001", new_initial=Reading(0),
                  multiplier=1, staff_id=None, now=clock(), reason="表计烧坏")
    return change_meter(db, account, **(fields | overrides))


@pytest.fixture
def staff_id(engine):
    from billing.staff import add_staff

    with unit_of_work(engine) as db:
        return add_staff(db, username="admin1", name="管理员", password="demo1234", roles=["admin"]).id


def test_a_meter_change_counts_both_meters_and_keeps_the_history(engine, clock, staff_id):
    with unit_of_work(engine) as db:
        account = _account_reading_until(db, clock, CHANGE)  # the AMI freeze of CHANGE: 5,232,000 Wh
        old_meter = account.meter_id
        _change(db, account, clock, staff_id=staff_id)  # taken off later that day at 5,243,000
        new_meter = account.meter_id
        reads(db, new_meter, CHANGE + DAY, steady(8_000, 8_000, 10), clock)
    with read_session(engine) as db:
        spans = [(i.meter_id, i.installed_on, i.removed_on, i.reason) for i in installations(db, account.id)]
        assert spans[1:] == [(new_meter, CHANGE, None, "表计烧坏")] and spans[0][1:3] == (account.opened_on, CHANGE)
        assert db.get(Account, account.id).meter_id == new_meter != old_meter
        assert db.exec(select(Meter.meter_no).where(Meter.id == new_meter)).one() == "N-0001"
        day_reads = db.exec(select(Read.source, Read.status, Read.total_wh).where(
            Read.meter_id == old_meter, Read.read_on == CHANGE).order_by(Read.id)).all()
        assert day_reads == [(AMI, SUPERSEDED, 5_232_000), ("manual", VALID, 5_243_000)]  # the final read wins
        used = energy(db, account.id, START, END)
        assert used.total_wh == (5_243_000 - 5_000_000) + 80_000
        (entry,) = db.exec(select(AuditEntry).where(AuditEntry.action == "meter_change")).all()
        assert entry.staff_id == staff_id and entry.target == f"account:{account.account_no}"
        assert '"N-0001"' in entry.after and '"meter_no": "' in entry.before
    with unit_of_work(engine) as db:  # the drop from 5,243,000 to 0 is the change, not a misread
        assert check_reads(db, rules=ReadRules(), first=START + DAY, last=END, now=clock()) == {}


def test_the_drop_at_a_change_is_called_a_change():
    final, initial = Point(1, 1, CHANGE, 5_243_000, None, None, None, None, "manual"), \
        Point(2, 2, CHANGE, 0, None, None, None, None, "manual")
    assert kind_of_drop(final, initial, changed=True, wrap_wh=ReadRules().wrap_wh) == METER_CHANGE
    assert kind_of_drop(final, initial, changed=False, wrap_wh=ReadRules().wrap_wh) == "negative_use"


def test_a_change_without_its_reads_is_a_finding(engine, clock):
    with unit_of_work(engine) as db:
        account = _account_reading_until(db, clock, CHANGE - 3 * DAY)  # no final read on CHANGE
        old_no = db.get(Meter, account.meter_id).meter_no
        spare = Meter(meter_no="N-0002", installed_on=CHANGE)
        db.add(spare)
        db.flush()
        current = db.exec(select(MeterInstallation).where(MeterInstallation.account_id == account.id)).one()
        current.removed_on = CHANGE
        db.add(current)
        db.flush()
        install(db, account_id=account.id, meter_id=spare.id, multiplier=1, on=CHANGE, now=clock())
        reads(db, spare.id, CHANGE, steady(0, 8_000, 11), clock)
        opened = check_reads(db, rules=ReadRules(), first=CHANGE, last=CHANGE, now=clock())
    assert opened == {"meter_change": 1, "ami_gap": 1}  # the old meter was silent for its last three days
    with read_session(engine) as db:
        (item,) = [item for item in open_items(db) if item.rule == "meter_change"]
    assert "final_wh" not in item.details and item.details["initial_wh"] == 0
    assert (item.details["old_meter"], item.details["new_meter"]) == (old_no, "N-0002")


@pytest.mark.parametrize(("overrides", "field"), [
    ({"old_final": Reading(5_000_000)}, "old_final"),  # below the read of the day before
    ({"on": START - 400 * DAY}, "on"),  # before the meter was installed
    ({"on": TODAY + DAY}, "on"),  # tomorrow
    ({"on": CHANGE - 5 * DAY}, "on"),  # the old meter has reads after it
    ({"new_meter_no": "taken"}, "new_meter_no"),  # another account's meter
    ({"new_meter_no": "坏 号"}, "new_meter_no"),
    ({"multiplier": 0}, "multiplier"),
    ({"reason": " "}, "change_reason"),
    ({"old_final": Reading(5_243_000, {"peak": 1})}, "old_final_registers"),  # registers that do not add up
])
def test_what_cannot_be_right_is_refused_naming_the_field(engine, clock, overrides, field):
    with unit_of_work(engine) as db:
        account = _account_reading_until(db, clock, CHANGE)
        other = old_account(db)
        db.get(Meter, other.meter_id).meter_no = "taken"
        account_id, meter_id = account.id, account.meter_id
    with pytest.raises(BillingError) as refused, unit_of_work(engine) as db:
        _change(db, db.get(Account, account_id), clock, **overrides)
    assert refused.value.field == field
    with read_session(engine) as db:
        assert db.get(Account, account_id).meter_id == meter_id
        assert [i.removed_on for i in installations(db, account_id)] == [None]


def test_a_multiplier_change_counts_each_side_with_its_own_multiplier(engine, clock, staff_id):
    with unit_of_work(engine) as db:
        account = _account_reading_until(db, clock, END)
        change_multiplier(db, account, on=CHANGE, reading=None, multiplier=30, staff_id=staff_id, now=clock(),
                          reason="更换互感器 150/5")
        with pytest.raises(MeterChangeRefused) as same:
            change_multiplier(db, account, on=END, reading=None, multiplier=30, staff_id=staff_id, now=clock(),
                              reason="again")
        assert same.value.field == "multiplier"
    with read_session(engine) as db:
        assert [(i.multiplier, i.removed_on) for i in installations(db, account.id)] == [(1, CHANGE), (30, None)]
        assert db.get(Meter, account.meter_id).multiplier == 30
        used = energy(db, account.id, START, END)
        assert used.total_wh == 29 * 8_000 + 10 * 8_000 * 30
    with unit_of_work(engine) as db:
        assert check_reads(db, rules=ReadRules(), first=CHANGE - DAY, last=CHANGE + DAY, now=clock()) == {}
