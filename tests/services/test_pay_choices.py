"""The decisions the pay pages used to make themselves, now services below the portal: what a
resident's pay form charges, what a manager's tick form selects, and which organisation a member
of several property managers acts for."""

from datetime import date

import pytest

from billing.accounts import Account
from billing.db import read_session, unit_of_work
from billing.errors import InvalidInput, PermissionDenied
from billing.managers import Manager, ManagerMember, choose_manager, membership
from payments import bulk
from payments.checkout import ResidentChoice, resident_charge
from payments.errors import BulkFileInvalid
from payments.orders import ARREARS, PREPAY
from tests import factories

MAX = 500_000


# --- the resident's pay form -------------------------------------------------------------------

def test_paying_arrears_charges_exactly_the_arrears_the_page_showed():
    assert resident_charge(-18524, ResidentChoice(ARREARS, "", "wechat", 18524)) == (ARREARS, 18524)
    assert resident_charge(-18524, ResidentChoice(ARREARS, "185.24", "wechat", 18524)) == (ARREARS, 18524)


def test_an_amount_typed_while_paying_arrears_is_asked_about_not_overridden():
    """The field trial: 10 typed, 缴清欠费 selected, 185.24 charged."""
    with pytest.raises(InvalidInput) as refused:
        resident_charge(-18524, ResidentChoice(ARREARS, "10", "wechat", 18524))
    assert refused.value.field == "what_amount" and refused.value.params == {"arrears_fen": 18524}


def test_arrears_that_changed_since_the_page_are_not_charged_blind():
    with pytest.raises(InvalidInput) as refused:
        resident_charge(-19000, ResidentChoice(ARREARS, "", "wechat", 18524))
    assert refused.value.field == "arrears" and refused.value.params == {"arrears_fen": 19000}
    with pytest.raises(InvalidInput) as nothing_owed:
        resident_charge(500, ResidentChoice(ARREARS, "", "wechat", 18524))
    assert nothing_owed.value.field == "what"


def test_prepaying_charges_the_typed_amount():
    assert resident_charge(-18524, ResidentChoice(PREPAY, "10", "wechat", 18524)) == (PREPAY, 1000)
    assert resident_charge(2000, ResidentChoice(PREPAY, "88.80", "alipay")) == (PREPAY, 8880)


# --- the manager's tick form -------------------------------------------------------------------

def _managed(*numbers: str) -> dict[str, Account]:
    return {no: Account(id=n, account_no=no, holder_name="李小荣", customer_id=n, district_id=1, meter_id=n,
                        opened_on=date(2025, 1, 1)) for n, no in enumerate(numbers, start=1)}


MANAGED = _managed("3301000011", "3301000012", "3301000013")


def test_every_problem_names_its_account():
    rows = [bulk.Row("3301000011", True, "abc"), bulk.Row("3301000012", True, ""),
            bulk.Row("3301000013", True, "1.005"), bulk.Row("3301000099", True, "5")]
    with pytest.raises(BulkFileInvalid) as refused:
        bulk.check_selection(MANAGED, rows, {}, max_line_fen=MAX)
    named = [(values["account_no"], code) for _, code, values in refused.value.problems]
    assert named == [("3301000011", "amount_format"), ("3301000012", "amount_missing"),
                     ("3301000013", "amount_format"), ("3301000099", "account_not_managed")]


def test_an_amount_in_an_unticked_row_is_ticked_and_said_so():
    rows = [bulk.Row("3301000011", True, "10"), bulk.Row("3301000012", False, "20"), bulk.Row("3301000013", False, "")]
    preview = bulk.check_selection(MANAGED, rows, {}, max_line_fen=MAX)
    assert [(a.account_no, fen) for a, fen in preview.lines] == [("3301000011", 1000), ("3301000012", 2000)]
    assert preview.ticked_for_them == ("3301000012",) and preview.total_fen == 3000


def test_an_unticked_row_keeping_its_prefilled_arrears_is_left_out():
    rows = [bulk.Row("3301000011", True, "10"), bulk.Row("3301000012", False, "136.02"),
            bulk.Row("3301000013", False, "136.00")]
    preview = bulk.check_selection(MANAGED, rows, {"3301000012": 13602, "3301000013": 13602}, max_line_fen=MAX)
    assert [a.account_no for a, _ in preview.lines] == ["3301000011", "3301000013"]
    assert preview.ticked_for_them == ("3301000013",)


def test_nothing_ticked_is_named():
    with pytest.raises(InvalidInput) as refused:
        bulk.check_selection(MANAGED, [bulk.Row("3301000011", False, "")], {}, max_line_fen=MAX)
    assert refused.value.field == "pick"


def test_a_confirmed_selection_is_checked_again():
    lines = bulk.confirmed_lines(MANAGED, [("3301000011", 1000), ("3301000013", 2000)], max_line_fen=MAX)
    assert [(a.account_no, fen) for a, fen in lines] == [("3301000011", 1000), ("3301000013", 2000)]
    with pytest.raises(BulkFileInvalid) as refused:
        bulk.confirmed_lines(_managed("3301000011"), [("3301000011", 1000), ("3301000013", 2000)],
                             max_line_fen=MAX)
    assert [code for _, code, _ in refused.value.problems] == ["account_not_managed"]
    with pytest.raises(BulkFileInvalid):
        bulk.confirmed_lines(MANAGED, [("3301000011", MAX + 1)], max_line_fen=MAX)


# --- a member of several property managers -----------------------------------------------------

@pytest.fixture
def two_organisations(engine, clock):
    with unit_of_work(engine) as db:
        first, _ = factories.manager(db, at=clock(), account_nos=["3301000011"], member_phone="13900000000")
        second, _ = factories.manager(db, at=clock(), account_nos=["3301000021"])
        third, _ = factories.manager(db, at=clock(), account_nos=["3301000031"])
        member = db.exec(ManagerMember.__table__.select()).first().resident_id
        db.add(ManagerMember(manager_id=second.id, resident_id=member))
    return member, first.id, second.id, third.id


def test_a_member_of_several_acts_for_none_until_they_choose(engine, two_organisations):
    member, first, second, third = two_organisations
    with read_session(engine) as db:
        assert [m.id for m in membership(db, member, None).choices] == [first, second]
        assert membership(db, member, None).acting is None  # not the first by accident
        assert membership(db, member, second).acting.id == second
        assert membership(db, member, third).acting is None  # a choice they may not make
        assert choose_manager(db, member, second).id == second
        with pytest.raises(PermissionDenied):
            choose_manager(db, member, third)


def test_a_member_of_one_acts_for_it(engine, clock):
    with unit_of_work(engine) as db:
        org, _ = factories.manager(db, at=clock(), account_nos=["3301000011"], member_phone="13900000000")
        member = db.exec(ManagerMember.__table__.select()).first().resident_id
    with read_session(engine) as db:
        assert membership(db, member, None).acting.id == org.id
        assert isinstance(membership(db, member, 999).acting, Manager)
