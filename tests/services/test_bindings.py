"""Binding a 户号 with proof: the ID number's tail or the meter number, the masked holder name, wrong
tries rate limited per resident, client and 户号, the per-resident maximum, labels, a family member
binding the same 户号, and unbinding that touches only one's own binding."""

import pytest
from sqlmodel import select

from billing import bindings
from billing.accounts import Customer, Meter
from billing.bindings import Proof
from billing.db import read_session, unit_of_work
from billing.errors import BillingError, InvalidInput, RateLimited
from billing.events import Event
from billing.residents import Binding
from billing.throttle import ThrottleBucket
from tests import factories

CLIENT = "203.0.113.7"
TAIL = "123X"


def _county(engine, clock):
    with unit_of_work(engine) as db:
        account = factories.account(db, at=clock(), account_no="3301000001", holder_name="李小荣")
        other = factories.account(db, at=clock(), account_no="3301000002", holder_name="王芳")
        for found in (account, other):
            customer = db.get(Customer, found.customer_id)
            customer.id_number_tail = TAIL if found is account else "5678"
            db.add(customer)
        me = factories.resident(db, "13800000001", at=clock())
        family = factories.resident(db, "13800000002", at=clock())
        meter_no = db.get(Meter, account.meter_id).meter_no
        return me.id, family.id, meter_no


def _bind(engine, clock, resident_id, account_no="3301000001", proof=Proof(id_tail=TAIL), *, label="",
          client=CLIENT, max_bindings=10):
    with unit_of_work(engine) as db:
        return bindings.bind(db, resident_id, account_no, proof, label=label, client=client, now=clock(),
                             max_bindings=max_bindings)


def _check(engine, clock, resident_id, account_no="3301000001", proof=Proof(id_tail=TAIL), client=CLIENT):
    with unit_of_work(engine) as db:
        return bindings.check_proof(db, resident_id, account_no, proof, client=client, now=clock())


def _bound(engine, resident_id):
    with read_session(engine) as db:
        return [(b.account_no, b.label) for b in bindings.bindings(db, resident_id)]


def test_the_id_tail_shows_the_holder_masked_then_binds_with_a_label(engine, clock):
    me, _, _ = _county(engine, clock)
    candidate = _check(engine, clock, me, proof=Proof(id_tail="123x"))  # x or X alike
    assert (candidate.account_no, candidate.holder_masked, candidate.bound_already) == ("3301000001", "李*荣", False)
    assert _bound(engine, me) == []  # checking binds nothing
    bound = _bind(engine, clock, me, label=" 父母家 ")
    assert (bound.account_no, bound.label, bound.holder_masked) == ("3301000001", "父母家", "李*荣")
    assert _bound(engine, me) == [("3301000001", "父母家")]
    with read_session(engine) as db:
        event = db.exec(select(Event).where(Event.kind == bindings.ACCOUNT_BOUND)).one()
        assert event.data == {"resident_id": me, "proof": "id_tail"} and event.account_id == bound.account_id


def test_the_meter_number_is_proof_too(engine, clock):
    me, _, meter_no = _county(engine, clock)
    _bind(engine, clock, me, proof=Proof(meter_no=meter_no.lower()))
    assert _bound(engine, me) == [("3301000001", "")]


@pytest.mark.parametrize("proof, field", [
    (Proof(id_tail="5678"), "id_tail"),  # another holder's tail
    (Proof(meter_no="T0000000000"), "meter_no"),
])
def test_a_wrong_proof_names_its_field_binds_nothing_and_is_counted(engine, clock, proof, field):
    me, _, _ = _county(engine, clock)
    with pytest.raises(bindings.BindingProofWrong) as error:
        _bind(engine, clock, me, proof=proof)
    assert error.value.field == field and error.value.code == "binding_proof_wrong"
    assert _bound(engine, me) == []
    with read_session(engine) as db:
        counted = {row.rule: row.hits for row in db.exec(select(ThrottleBucket))}
    assert counted == {"bind:resident:hour": 1, "bind:resident:day": 1, "bind:client:hour": 1, "bind:client:day": 1,
                       "bind:account:hour": 1, "bind:account:day": 1}


def test_an_unknown_account_looks_like_a_wrong_proof(engine, clock):
    me, _, _ = _county(engine, clock)
    with pytest.raises(bindings.BindingProofWrong):
        _check(engine, clock, me, account_no="3309999999")


@pytest.mark.parametrize("account_no, proof, field", [
    ("12345", Proof(id_tail=TAIL), "account_no"),
    ("3301000001", Proof(), "proof"),
    ("3301000001", Proof(id_tail=TAIL, meter_no="M1"), "proof"),
    ("3301000001", Proof(id_tail="12"), "id_tail"),
    ("3301000001", Proof(id_tail="X123"), "id_tail"),
    ("3301000001", Proof(meter_no="M 1<"), "meter_no"),
    (None, Proof(id_tail=TAIL), "account_no"),
])
def test_malformed_input_names_the_field_and_counts_nothing(engine, clock, account_no, proof, field):
    me, _, _ = _county(engine, clock)
    with pytest.raises(InvalidInput) as error:
        _bind(engine, clock, me, account_no=account_no, proof=proof)
    assert error.value.field == field
    with read_session(engine) as db:
        assert db.exec(select(ThrottleBucket)).all() == [] and db.exec(select(Binding)).all() == []


def test_wrong_tries_are_limited_per_resident_client_and_account(engine, clock):
    me, family, _ = _county(engine, clock)
    wrong = Proof(id_tail="0000")
    for n in range(5):
        with pytest.raises(bindings.BindingProofWrong):
            _check(engine, clock, me, proof=wrong, client=f"10.0.0.{n}")
    with pytest.raises(RateLimited) as error:  # even the right proof, now
        _check(engine, clock, me, client="10.0.1.1")
    assert error.value.field == "resident"
    with pytest.raises(RateLimited) as error:  # the target 户号 is held for everyone for the hour
        _check(engine, clock, family, client="10.0.1.2")
    assert error.value.field == "account_no"
    _check(engine, clock, family, account_no="3301000002", proof=Proof(id_tail="5678"), client="10.0.1.2")
    clock.advance(hours=1, minutes=1)
    assert _check(engine, clock, me, client="10.0.1.1").account_no == "3301000001"


def test_one_client_address_is_limited_across_residents_and_accounts(engine, clock):
    me, family, _ = _county(engine, clock)
    with unit_of_work(engine) as db:
        factories.account(db, at=clock(), account_no="3301000003")
        third = factories.resident(db, "13800000003", at=clock()).id
    for n in range(10):  # at most 4 wrong tries per resident and per 户号
        with pytest.raises(bindings.BindingProofWrong):
            _check(engine, clock, (me, family, third)[n % 3], account_no=f"330100000{n // 4 + 1}",
                   proof=Proof(id_tail=f"{n:04d}"))
    with pytest.raises(RateLimited) as error:
        _check(engine, clock, family, account_no="3301000002", proof=Proof(id_tail="5678"))
    assert error.value.field == "client"
    _check(engine, clock, family, account_no="3301000002", proof=Proof(id_tail="5678"), client="10.9.9.9")


def test_the_maximum_per_resident(engine, clock):
    me, _, _ = _county(engine, clock)
    _bind(engine, clock, me, max_bindings=1)
    with pytest.raises(bindings.BindingLimit) as error:
        _bind(engine, clock, me, account_no="3301000002", proof=Proof(id_tail="5678"), max_bindings=1)
    assert (error.value.field, error.value.params) == ("account_no", {"maximum": 1})
    assert _bound(engine, me) == [("3301000001", "")]


def test_binding_twice_is_refused(engine, clock):
    me, _, _ = _county(engine, clock)
    _bind(engine, clock, me)
    assert _check(engine, clock, me).bound_already
    with pytest.raises(bindings.AlreadyBound):
        _bind(engine, clock, me)


def test_a_family_member_binds_the_same_account_and_unbinding_is_ones_own(engine, clock):
    me, family, _ = _county(engine, clock)
    _bind(engine, clock, me, label="家")
    _bind(engine, clock, family, label="父母家")
    assert _bound(engine, me) == [("3301000001", "家")] and _bound(engine, family) == [("3301000001", "父母家")]
    with unit_of_work(engine) as db:
        bindings.unbind(db, family, "3301000001", now=clock())
    assert _bound(engine, family) == [] and _bound(engine, me) == [("3301000001", "家")]
    with pytest.raises(bindings.BindingNotFound), unit_of_work(engine) as db:
        bindings.unbind(db, family, "3301000001", now=clock())


def test_relabel_and_labels_are_checked(engine, clock):
    me, family, _ = _county(engine, clock)
    _bind(engine, clock, me)
    with unit_of_work(engine) as db:
        assert bindings.relabel(db, me, "3301000001", "店铺").label == "店铺"
    for bad in ("长" * 21, "a\nb", None):
        with pytest.raises(InvalidInput) as error, unit_of_work(engine) as db:
            bindings.relabel(db, me, "3301000001", bad)
        assert error.value.field == "label"
    with pytest.raises(bindings.BindingNotFound), unit_of_work(engine) as db:  # not theirs
        bindings.relabel(db, family, "3301000001", "家")
    assert _bound(engine, me) == [("3301000001", "店铺")]


def test_someone_elses_account_is_not_found_for_every_scoped_call(engine, clock):
    me, family, _ = _county(engine, clock)
    _bind(engine, clock, me)
    calls = (lambda db: bindings.bound_account(db, family, "3301000001"),
             lambda db: bindings.set_balance_low(db, family, "3301000001", 100),
             lambda db: bindings.bound_account(db, family, ["3301000001"]))
    for call in calls:
        with pytest.raises(bindings.BindingNotFound), read_session(engine) as db:
            call(db)


def test_the_low_balance_threshold(engine, clock):
    me, _, _ = _county(engine, clock)
    _bind(engine, clock, me)
    with unit_of_work(engine) as db:
        assert bindings.set_balance_low(db, me, "3301000001", 5000).balance_low_fen == 5000
    for bad in (-1, 1_000_001, "50", True):
        with pytest.raises(InvalidInput) as error, unit_of_work(engine) as db:
            bindings.set_balance_low(db, me, "3301000001", bad)
        assert error.value.field == "balance_low"
    with read_session(engine) as db:
        assert bindings.bound_account(db, me, "3301000001").balance_low_fen == 5000


def test_a_closed_account_cannot_be_bound(engine, clock):
    me, _, _ = _county(engine, clock)
    with unit_of_work(engine) as db:
        from billing.accounts import get_account
        account = get_account(db, "3301000001")
        account.status = "closed"
        db.add(account)
    with pytest.raises(BillingError):
        _bind(engine, clock, me)
