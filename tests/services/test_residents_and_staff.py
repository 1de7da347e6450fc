"""Resident login codes (rate limited, attempts counted), binding scope, staff passwords."""

import pytest
from sqlmodel import select

from billing.db import read_session, unit_of_work
from billing.errors import InvalidInput, PermissionDenied, RateLimited
from billing.residents import LoginCode, Resident, bound_accounts, issue_login_code, verify_login_code
from billing.staff import add_staff, authenticate_staff, staff_roles
from tests import factories

PHONE = "13812345678"
CLIENT = "203.0.113.7"


def _issue(engine, clock, phone=PHONE, client=CLIENT):
    with unit_of_work(engine) as db:
        return issue_login_code(db, phone, client=client, now=clock())


def _verify(engine, clock, code, phone=PHONE):
    with unit_of_work(engine) as db:
        return verify_login_code(db, phone, code, now=clock())


def test_code_logs_in_and_creates_the_resident_once(engine, clock):
    code = _issue(engine, clock)
    assert len(code) == 6 and code.isdigit()
    first = _verify(engine, clock, code)
    clock.advance(minutes=2)
    second = _verify(engine, clock, _issue(engine, clock))
    assert first.id == second.id
    with read_session(engine) as db:
        assert db.exec(select(Resident)).all()[0].phone == PHONE


def test_a_code_works_once(engine, clock):
    code = _issue(engine, clock)
    _verify(engine, clock, code)
    with pytest.raises(PermissionDenied):
        _verify(engine, clock, code)


def test_wrong_codes_are_counted_and_five_burn_the_code(engine, clock):
    code = _issue(engine, clock)
    wrong = "000000" if code != "000000" else "111111"
    for attempt in range(5):
        with pytest.raises(PermissionDenied) as error:
            _verify(engine, clock, wrong)
        assert error.value.params["attempts_left"] == 4 - attempt
        assert error.value.code == ("login_code_wrong" if attempt < 4 else "login_code_burnt")
    with read_session(engine) as db:
        assert db.exec(select(LoginCode.attempts)).one() == 5
    with pytest.raises(PermissionDenied) as error:
        _verify(engine, clock, code)  # the right code no longer helps
    assert error.value.code == "login_code_expired"


def test_a_wrong_code_says_so_and_the_right_one_still_works(engine, clock):
    code = _issue(engine, clock)
    with pytest.raises(PermissionDenied) as error:
        _verify(engine, clock, "000000" if code != "000000" else "111111")
    assert error.value.code == "login_code_wrong" and error.value.params["attempts_left"] == 4
    assert _verify(engine, clock, code).phone == PHONE


def test_codes_expire_after_five_minutes(engine, clock):
    code = _issue(engine, clock)
    clock.advance(minutes=5, seconds=1)
    with pytest.raises(PermissionDenied) as error:
        _verify(engine, clock, code)
    assert error.value.code == "login_code_expired"


def test_one_code_a_minute_per_phone_and_five_a_day_per_client_and_phone(engine, clock):
    _issue(engine, clock)
    with pytest.raises(RateLimited) as error:
        _issue(engine, clock, client="198.51.100.1")  # whoever asks: the code just went to the phone
    assert error.value.field == "resend"
    for _ in range(4):
        clock.advance(minutes=1)
        _issue(engine, clock)
    clock.advance(minutes=1)
    with pytest.raises(RateLimited) as error:
        _issue(engine, clock)
    assert error.value.field == "phone"
    assert _issue(engine, clock, client="198.51.100.1")  # the phone's owner, elsewhere, still gets one
    clock.advance(days=1)
    assert _issue(engine, clock)


def test_twenty_codes_a_day_per_phone_from_anywhere(engine, clock):
    for n in range(20):
        _issue(engine, clock, client=f"198.51.100.{n}")
        clock.advance(minutes=1)
    with pytest.raises(RateLimited) as error:
        _issue(engine, clock, client="198.51.100.99")
    assert error.value.field == "phone"


def test_one_client_gets_ten_codes_an_hour_whatever_the_phones(engine, clock):
    for n in range(10):
        _issue(engine, clock, phone=f"138000000{n:02d}")
    with pytest.raises(RateLimited) as error:
        _issue(engine, clock, phone="13800000099")
    assert error.value.field == "client"
    assert _issue(engine, clock, phone="13800000099", client="198.51.100.1")
    clock.advance(hours=1)
    assert _issue(engine, clock, phone="13800000099")


def test_a_refused_request_uses_up_nothing(engine, clock):
    for n in range(10):
        _issue(engine, clock, phone=f"138000000{n:02d}")
    for _ in range(3):
        with pytest.raises(RateLimited):
            _issue(engine, clock, phone="13800000099")
    clock.advance(hours=1)
    for n in range(10):  # the refusals counted neither for the client nor for the phone
        _issue(engine, clock, phone=f"138000001{n:02d}")


@pytest.mark.parametrize("phone", ["1381234567", "23812345678", "1381234567a", ""])
def test_bad_phone_is_named(engine, clock, phone):
    with pytest.raises(InvalidInput) as error:
        _issue(engine, clock, phone)
    assert error.value.field == "phone"


def test_a_resident_sees_only_bound_accounts(engine, clock):
    with unit_of_work(engine) as db:
        mine = factories.account(db, at=clock())
        theirs = factories.account(db, at=clock())
        me = factories.resident(db, "13800000011", at=clock(), accounts=(mine,))
        factories.resident(db, "13800000012", at=clock(), accounts=(theirs,))
    with read_session(engine) as db:
        assert [a.account_no for a in bound_accounts(db, me.id)] == [mine.account_no]


def test_staff_log_in_with_password_and_have_roles(engine, clock):
    with unit_of_work(engine) as db:
        add_staff(db, username="cashier9", name="张丽", password="s3cret-pass", roles=["cashier", "finance"])
    with unit_of_work(engine) as db:
        staff = authenticate_staff(db, "cashier9", "s3cret-pass", client=CLIENT, now=clock())
        assert staff_roles(db, staff.id) == {"cashier", "finance"}
    with pytest.raises(PermissionDenied), unit_of_work(engine) as db:
        authenticate_staff(db, "cashier9", "wrong", client=CLIENT, now=clock())
    with pytest.raises(InvalidInput), unit_of_work(engine) as db:
        add_staff(db, username="x", name="x", password="x", roles=["boss"])
