"""Staff login abuse: failures back off per user name and per client address; an unknown user
costs the same password hash as a real one."""

import pytest

from billing.db import unit_of_work
from billing.errors import PermissionDenied, RateLimited
from billing.staff import add_staff, authenticate_staff, check_password

HERE, ELSEWHERE = "203.0.113.7", "198.51.100.1"


@pytest.fixture
def staff(engine):
    with unit_of_work(engine) as db:
        add_staff(db, username="cashier1", name="张丽", password="right-pass", roles=["cashier"])


def _log_in(engine, clock, username="cashier1", password="right-pass", client=HERE, check=check_password):
    with unit_of_work(engine) as db:
        return authenticate_staff(db, username, password, client=client, now=clock(), check=check)


def _fail(engine, clock, username="cashier1", client=HERE):
    with pytest.raises(PermissionDenied):
        _log_in(engine, clock, username, "wrong-pass", client)


def test_five_failures_hold_the_user_name_wherever_from(engine, clock, staff):
    for _ in range(5):
        _fail(engine, clock)
    with pytest.raises(RateLimited) as error:
        _log_in(engine, clock, client=ELSEWHERE)  # even the right password, even from elsewhere
    assert error.value.field == "login" and error.value.params["minutes"] == 15
    clock.advance(minutes=15)
    assert _log_in(engine, clock).username == "cashier1"


def test_a_success_clears_the_user_names_failures(engine, clock, staff):
    for _ in range(4):
        _fail(engine, clock)
    _log_in(engine, clock)
    for _ in range(4):
        _fail(engine, clock)
    assert _log_in(engine, clock).username == "cashier1"


def test_twenty_failures_hold_the_address_whatever_the_names(engine, clock, staff):
    for n in range(20):
        _fail(engine, clock, username=f"guess{n}")
    with pytest.raises(RateLimited):
        _log_in(engine, clock)
    assert _log_in(engine, clock, client=ELSEWHERE).username == "cashier1"


def test_an_unknown_user_costs_one_password_check_against_a_real_hash(engine, clock, staff):
    checked = []

    def counting_check(password, stored):
        checked.append(stored)
        return check_password(password, stored)

    with pytest.raises(PermissionDenied) as unknown:
        _log_in(engine, clock, username="nobody", check=counting_check)
    with pytest.raises(PermissionDenied) as wrong:
        _log_in(engine, clock, password="wrong-pass", check=counting_check)
    assert unknown.value.code == wrong.value.code and unknown.value.field == wrong.value.field
    assert len(checked) == 2 and all(stored.startswith("scrypt$") for stored in checked)
    assert checked[0] != checked[1]  # the dummy hash, not the real user's
