"""The demo's printed logins: every holder has an ID tail, a phone with nothing bound, and a 户号
whose printed proof binds it; production prints no such hint."""

from types import SimpleNamespace

from sqlmodel import select

from billing import bindings
from billing.accounts import Customer
from billing.db import read_session, unit_of_work
from billing.residents import verify_login_code, issue_login_code
from demo.county import load_demo_county
from demo.logins import UNBOUND_LOGIN, BindingExample, binding_example, id_tail, logins_line, unbound_login_is_free
from portal.cli import _banner, _binding_example


def test_the_printed_proof_binds_the_printed_account(engine, clock):
    load_demo_county(engine, accounts=40, now=clock())
    with read_session(engine) as db:
        tails = db.exec(select(Customer.id_number_tail)).all()
        example = binding_example(db)
        assert unbound_login_is_free(db)
    assert all(len(tail) == 4 and tail[:3].isdigit() and tail[3] in "0123456789X" for tail in tails)
    assert example.id_tail == id_tail(example.account_no)
    assert f"{UNBOUND_LOGIN} (nothing bound: bind 户号 {example.account_no} with ID tail {example.id_tail}" in \
        logins_line(example)
    with unit_of_work(engine) as db:
        resident = verify_login_code(db, UNBOUND_LOGIN, issue_login_code(db, UNBOUND_LOGIN, client="c", now=clock()),
                                     now=clock())
        assert bindings.bindings(db, resident.id) == []
        bound = bindings.bind(db, resident.id, example.account_no, bindings.Proof(id_tail=example.id_tail),
                              label="家", client="c", now=clock(), max_bindings=10)
    assert bound.account_no == example.account_no
    with read_session(engine) as db:
        assert getattr(binding_example(db), "account_no", None) != example.account_no
        assert not unbound_login_is_free(db)


def test_production_prints_no_binding_hint():
    production = SimpleNamespace(settings=SimpleNamespace(production=True), engine=None)
    assert _binding_example(production) is None


def test_the_banner_names_the_phone_and_the_proof_under_the_resident_logins():
    settings = SimpleNamespace(PAYMENTS_SANDBOX=False, SMS_SANDBOX=False, HEAD_END_SANDBOX=False, WECHAT_SANDBOX=False)
    lines = _banner("http://127.0.0.1:5000", settings, BindingExample("3302000032", "6352", "M3300000031")).splitlines()
    assert lines[3].strip() == "13800000003 has nothing bound: bind 户号 3302000032 with ID tail 6352 (or meter M3300000031)"
    assert "13800000003" not in _banner("http://127.0.0.1:5000", settings)
