"""Every route of the app, with GET and POST, as every kind of user, with random path parameters
(and real ids from the data), query strings, forms, uploads, raw bodies and callback headers:
never a 5xx, and a refused request (4xx) leaves the ledger exactly as it was.

CSRF is off for this app so that the handlers themselves are exercised.  SQLite only: the point is
the handlers, and both databases take long enough elsewhere.
"""

from __future__ import annotations

import os
import io
import re
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import parse_qs, unquote_plus, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select
from werkzeug.routing import BuildError

from billing import bad_debt, bills, late_fee_posting, ledger, waivers
from billing.bad_debt_records import BadDebt
from billing.bill_records import Bill
from billing.db import read_session, unit_of_work
from billing.accounts import Account
from billing.clock import beijing_date
from billing.incidents import Incident
from billing.reads import NewRead, Read, record_read
from billing.review import ReviewItem, open_item
from billing.review_actions import READ_ACTIONS
from billing.ledger import LedgerAccount, Posting, Transfer
from billing.staff import StaffUser, add_staff
from billing.waivers import Waiver
from payments import counter, reconciliation, write_offs
from payments.checkout import Limits
from payments.orders import ChannelPayment, PaymentOrder, create_order
from payments.reconciliation_records import Difference
from payments.refunds import Refund
from payments.write_offs import WriteOff
from portal import sealed
from portal.auth import MAX_NEXT
from portal.staff.counter import RECEIPT_SEAL
from portal.staff.held_bills import BILL_ACTIONS
from portal.security import local_path
from tests import factories
from tests.payment_helpers import acknowledged, booked_without_the_channel, phone, start_payment
from tests.web.test_staff_routes import ACCESS, PUBLIC

pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)

EXAMPLES_PER_ROUTE = int(os.environ.get("FUZZ_EXAMPLES", "8"))  # per route and role (more when hunting)
# A staff route refuses every role not in its row of test_staff_routes.ACCESS before it reads anything:
# a few examples show the refusal holds whatever is sent; the handler's own work gets the rest.
REFUSED_EXAMPLES = 2
RESIDENT, MANAGER_MEMBER, OUTSIDER = "13800000001", "13900000000", "13800000002"
STAFF_ROLES = ("reader", "reviewer", "cashier", "finance", "admin")
ROLES = ("anonymous", "resident", "manager", *STAFF_ROLES)
# Logging out, or in as someone (the fuzz knows the test passwords), ends the caller's session on the
# server: these are fuzzed anonymously, so every role stays itself to the end.
ENDS_SESSION = ("auth.logout", "staff.logout", "auth.verify", "staff.login")
FIELDS = ("phone", "code", "username", "password", "amount", "channel", "what", "account_no", "decision", "note",
          "reason", "channel_txn_id", "method", "counted", "pick", "next", "lang", "file", "account_no-1", "amount-1",
          "account_no-2", "amount-2", "amount-3301000011", "amount-3301000012", "csrf_token", "value", "reader",
          "register-peak", "month", "district", "rule", "age", "page", "total", "peak",
          "valley", "confirmed", "photo_token", "bill_id", "date", "day", "kind", "status", "id_tail", "meter_no", "label",
          "quiet_from_hour", "quiet_until_hour", "balance_low-3301000001", "sms", "optional", "view", "days")
WORDS = ("", " ", "0", "1", "10", "10.00", "0.01", "5000.00", "5000.01", "-1", "1e3", "NaN", "1,000.00", "１００",
         "9" * 400, "9999999999999999.99", "x" * 5000, "<script>", "\x00", "'; --", "../..", "//evil.example",
         "/\\evil.example", "\r\nSet-Cookie: x=1", "wechat", "alipay", "counter", "cash", "card", "approve", "reject",
         "credit", "refund", "keep", "acknowledge", "prepay", "arrears", "overpayment", "duplicate_payment", "en",
         "zh", "admin", "demo1234", "2026-11-30", "0001-01-01", RESIDENT, MANAGER_MEMBER)
CONTENT_TYPES = ("application/json", "application/x-www-form-urlencoded", "text/plain", "multipart/form-data",
                 "application/octet-stream", "text/csv; charset=gbk")
CALLBACK_HEADERS = ("Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature", "Wechatpay-Serial",
                    "Wechatpay-Signature-Type")
# Printable latin-1 (what an HTTP header can carry), digits in every width and huge numbers.
header_values = st.one_of(st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=60),
                          st.integers().map(str), st.sampled_from(["9" * 400, "1" * 5000, "-1", "WECHATPAY/SIGNTEST/x",
                                                                   "PUB_KEY_ID_0000", ""]))


def _kept_for_login(answer) -> bool:
    """The one URL built from a request: a login redirect carrying the page asked for as ``next``,
    a parsed local path of bounded length (so that a deep link survives the login)."""
    location = urlsplit(answer.headers.get("Location", ""))
    target = parse_qs(location.query).get("next", [""])[0]
    return location.path in ("/login", "/staff/login") and len(target) <= MAX_NEXT and local_path(target) == target


@dataclass
class World:
    """The fixture data: real ids to aim at, and a logged-in cookie jar per role."""

    app: object
    ids: dict[str, list[str]]
    cookies: dict[str, list[tuple[str, str]]]
    signed: list[tuple[dict[str, str], bytes]]  # real signed notifications: (headers, body)


def _log_in(app, role: str) -> list[tuple[str, str]]:
    client = app.test_client()
    if role in ("resident", "manager"):
        number = RESIDENT if role == "resident" else MANAGER_MEMBER
        page = client.post("/login/code", data={"phone": number}, follow_redirects=True).get_data(as_text=True)
        code = re.search(r"验证码：(\d{6})", page).group(1)
        assert client.post("/login", data={"phone": number, "code": code}).status_code == 302
        assert client.get("/pay/3301000001" if role == "resident" else "/manager/").status_code == 200
    elif role != "anonymous":
        client.post("/staff/login", data={"username": f"{role}1", "password": "demo1234"})
        assert client.get("/staff/").status_code == 200
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = client.get_cookie(name)
    return [(name, cookie.value)] if cookie else []


def _people(engine, clock) -> tuple:
    """Residents (one with two bound 户号, one in arrears with an issued bill), a property manager with
    its member, staff with each role; a counter receipt; a read finding and a held bill in the review queue.  Returns the two 户号 of the resident."""
    with unit_of_work(engine) as db:
        mine = factories.account(db, at=clock(), account_no="3301000001", regime="prepaid")
        owing = factories.account(db, at=clock(), account_no="3301000002")
        theirs = factories.account(db, at=clock(), account_no="3399999999")
        factories.resident(db, RESIDENT, at=clock(), accounts=(mine, owing))
        factories.resident(db, OUTSIDER, at=clock(), accounts=(theirs,))
        factories.manager(db, at=clock(), account_nos=["3301000011", "3301000012"], member_phone=MANAGER_MEMBER)
        staff = {role: add_staff(db, username=f"{role}1", name=role, password="demo1234", roles=[role]).id
                 for role in STAFF_ROLES}
        add_staff(db, username="finance2", name="finance2", password="demo1234", roles=["finance"])
        ledger.post(db, Posting("bill:fuzz", ledger.customer_code(owing.account_no), "revenue:energy", 12345, "bill"),
                    at=clock())
        counter.take_payment(db, cashier_id=staff["cashier"], method="cash", rows=[(mine.account_no, "50.00")],
                             receipt_no=counter.new_receipt_no(clock()),
                             limits=Limits(), now=clock())
        read, _ = record_read(db, NewRead(mine.meter_id, beijing_date(clock()), "manual", 1_000_000,
                                          reader_id=staff["reader"]), now=clock())
        open_item(db, kind="read", rule="high_use", subject_on=read.read_on, at=clock(), account_id=mine.id,
                  meter_id=mine.meter_id, read_id=read.id)
        held = bills.create(db, bills.Draft(theirs.id, date(2026, 10, 1), date(2026, 10, 31), date(2026, 12, 15),
                                            (bills.Line("energy", "bill.line.energy", 5380, 100_000, 53_800),)),
                            now=clock(), hold=True)
        open_item(db, kind="bill", rule="first_bill", subject_on=date(2026, 10, 1), at=clock(), account_id=theirs.id,
                  detail={"bill_id": held.id, "rules": ["first_bill"]})
        _late_fee_waiver(db, clock, owing, staff["cashier"])
        _bad_debt(db, clock, owing, staff["cashier"])
        # An issued bill on the resident's 户号: its page, its PDF, and 作废 / 重开 at the desk.
        bills.create(db, bills.Draft(owing.id, date(2026, 10, 1), date(2026, 10, 31), date(2026, 12, 15),
                                     (bills.Line("energy", "bill.line.energy", 5380, 100_000, 53_800),)), now=clock())
    return mine, owing


def _bad_debt(db, clock, account, cashier_id: int) -> None:
    """The resident's arrears marked bad (as the desk does at the ladder's end), a write-off asked by the cashier."""
    debt = BadDebt(account_id=account.id, owed_fen=12345, reason="户主失联", marked_by=cashier_id, marked_at=clock())
    db.add(debt)
    db.flush()
    bad_debt.request_write_off(db, debt.id, reason="无可执行财产", staff_id=cashier_id, now=clock())


def _late_fee_waiver(db, clock, account, cashier_id: int) -> None:
    """A bill with a 1.50 元 fee bill posted for it, and a waiver of 1 元 asked by the cashier."""
    bill = bills.create(db, bills.Draft(account.id, date(2026, 10, 1), date(2026, 10, 31), beijing_date(clock()),
                                        (bills.Line("energy", "bill.line.energy", 5000),)), now=clock())
    late_fee_posting.post_fee_bill(db, bill.id, 150, key="late-fee:fuzz", accrued_to=beijing_date(clock()),
                                   accrued_fen=150, now=clock())
    waivers.request(db, bill_id=bill.id, amount_fen=100, reason="核实减免", staff_id=cashier_id, now=clock())


def _payments(request, engine, clock, gateways, mine, owing) -> list[tuple[dict[str, str], bytes]]:
    """A duplicate WeChat payment (refund proposed), an Alipay payment, an open order, held money
    (a different amount; an unknown order).  Returns real signed notifications of them."""
    wechat, alipay = phone(request, "wechat"), phone(request, "alipay")
    paid = start_payment(engine, gateways["wechat"], mine, 3000, clock)
    txns = [wechat.pay(paid, "phone-a"), wechat.pay(paid, "phone-b")]
    for txn in txns:
        assert acknowledged("wechat", wechat.deliver(wechat.notification(paid.out_trade_no, txn)))
    by_alipay = start_payment(engine, gateways["alipay"], owing, 2000, clock)
    alipay_txn = alipay.pay(by_alipay)
    assert acknowledged("alipay", alipay.deliver(alipay.notification(by_alipay.out_trade_no, alipay_txn)))
    start_payment(engine, gateways["alipay"], owing, 1000, clock)
    with unit_of_work(engine) as db:
        mismatched = create_order(db, channel="wechat", scene="h5", purpose="prepay", lines=[(mine, 3000)],
                                  description="电费预存", now=clock(), ttl=timedelta(minutes=30))
    wechat.sandbox.register_order(mismatched.out_trade_no, 3001, gateways["wechat"].config.notify_url)
    txns.append(wechat.sandbox.pay(mismatched.out_trade_no, notify=False))
    for forge in (None, "unknown_order"):
        assert acknowledged("wechat", wechat.deliver(wechat.sandbox.notification(txns[-1], forge=forge)))
    signed = [wechat.sandbox.notification(txn) for txn in txns] + [alipay.notification(by_alipay.out_trade_no, "")]
    return [(delivery.headers, delivery.body) for delivery in signed]


def _reconciled(engine, clock, gateways) -> None:
    """The day's WeChat Pay statement matched (the second payment and the held one are differences),
    with a 短款 besides, whose write-off finance2 asked for."""
    day = beijing_date(clock())
    booked_without_the_channel(engine, clock, gateways, "wechat", 700)
    clock.advance(days=1)  # the channel publishes the day's statement the next morning
    gateway = gateways["wechat"]
    reconciliation.reconcile(engine, None, "wechat", day, merchant=gateway.merchant, now=clock(),
                             data=gateway.statement_file(day) or b"")
    with unit_of_work(engine) as db:
        short = db.execute(select(Difference).where(Difference.kind == "ledger_only")).scalar_one()
        asker = db.execute(select(StaffUser.id).where(StaffUser.username == "finance2")).scalar_one()
        write_offs.request(db, short.id, amount_fen=short.amount_fen, reason="查无此款", staff_id=asker, now=clock())


def _ids(engine) -> dict[str, list[str]]:
    with read_session(engine) as db:
        return {
            "account_no": ["3301000001", "3301000002", "3301000011", "3399999999", "0000000000"],
            "out_trade_no": list(db.execute(select(PaymentOrder.out_trade_no)).scalars()),
            "channel_txn_id": list(db.execute(select(ChannelPayment.channel_txn_id)).scalars()),
            "refund_no": list(db.execute(select(Refund.refund_no)).scalars()),
            "incident_id": [str(i) for i in db.execute(select(Incident.id)).scalars()],
            "item_id": [str(i) for i in db.execute(select(ReviewItem.id)).scalars()],
            "read_id": [str(i) for i in db.execute(select(Read.id)).scalars()],
            "action": [*READ_ACTIONS, *BILL_ACTIONS], "bill_id": [str(i) for i in db.execute(select(Bill.id)).scalars()],
            "decision": ["approve", "reject", "refuse"],
            "waiver_id": [str(i) for i in db.execute(select(Waiver.id)).scalars()], "name": ["wechatpay", "alipay"], "filename": ["css/app.css"],
            "meter_id": [str(i) for i in db.execute(select(Account.meter_id)).scalars()],
            "difference_id": [str(i) for i in db.execute(select(Difference.id)).scalars()],
            "write_off_id": [str(i) for i in db.execute(select(WriteOff.id)).scalars()],
            "bad_debt_id": [str(i) for i in db.execute(select(BadDebt.id)).scalars()],
            "transfer_id": [str(i) for i in db.execute(select(Transfer.id)).scalars()],
            "receipt_id": [str(i) for i in db.execute(select(Transfer.id)).scalars()],
        }


@pytest.fixture
def world(request, engine, clock, app, gateways) -> World:
    app.config["WTF_CSRF_ENABLED"] = False  # the handlers themselves, not the CSRF check in front of them
    signed = _payments(request, engine, clock, gateways, *_people(engine, clock))
    _reconciled(engine, clock, gateways)
    ids = _ids(engine) | {"receipt": [_confirm_page_receipt(app, engine, clock)]}
    return World(app, ids, {role: _log_in(app, role) for role in ROLES}, signed)


def _confirm_page_receipt(app, engine, clock) -> str:
    """The sealed receipt number a counter confirm page hands cashier1, so the fuzz reaches the till."""
    with read_session(engine) as db:
        cashier = db.execute(select(StaffUser.id).where(StaffUser.username == "cashier1")).scalar_one()
    with app.app_context():
        return sealed.seal(RECEIPT_SEAL, {"cashier": cashier, "receipt": counter.new_receipt_no(clock())})


def _ledger(engine) -> tuple:
    with read_session(engine) as db:
        transfers = db.execute(select(func.count()).select_from(Transfer)).scalar()
        totals = db.execute(select(LedgerAccount.id, LedgerAccount.debits_fen, LedgerAccount.credits_fen)
                            .order_by(LedgerAccount.id)).all()
    return transfers, [tuple(row) for row in totals]


def _values(world: World) -> st.SearchStrategy[str]:
    real = [value for values in world.ids.values() for value in values]
    return st.one_of(st.sampled_from(WORDS + tuple(real)), st.text(max_size=30), st.integers().map(str))


def _path_values(world: World, rule) -> st.SearchStrategy[dict]:
    def one(name: str, converter) -> st.SearchStrategy:
        real = st.sampled_from(world.ids.get(name) or ["x"])  # two in three draws: ids that exist
        if type(converter).__name__ == "IntegerConverter":
            edges = st.sampled_from([0, 2**31, 2**63 - 1, 2**63, 2**64, 10**30])
            return st.one_of(real.map(int), real.map(int), edges, st.integers(min_value=0, max_value=2**70))
        return st.one_of(real, real, st.text(min_size=1, max_size=40), st.sampled_from(["9" * 400, "%00", ".."]))

    return st.fixed_dictionaries({name: one(name, converter) for name, converter in rule._converters.items()})


def _plausible(world: World, rule) -> list[dict[str, str]]:
    """Forms as the route's page sends them (all pages' forms for the other routes), so that random
    changes to them reach past the first check."""
    by_route = {
        "/login": [{"phone": RESIDENT}, {"phone": OUTSIDER, "code": "123456"}],
        "/login/code": [{"phone": RESIDENT}],
        "/staff/login": [{"username": "admin1", "password": "demo1234"}],
        "/pay/<account_no>": [{"what": "prepay", "amount": "10.00", "channel": "wechat"},
                              {"what": "arrears", "channel": "alipay"}],
        "/manager/pay": [{"pick": "3301000011", "amount-3301000011": "10.00", "channel": "wechat"}],
        "/manager/upload": [{"channel": "alipay"}, {"channel": "wechat"}],
        "/staff/counter": [{"method": "cash", "receipt": world.ids["receipt"][0], "account_no-1": "3301000001",
                            "amount-1": "10",
                            "account_no-2": "3301000002", "amount-2": "1.00"}],
        "/staff/counter/close": [{"counted": "50.00"}],
        "/staff/accounts/<account_no>/bills/<int:bill_id>/cancel": [{"reason": "示数抄错"}],
        "/staff/incidents/<int:incident_id>": [{"decision": "credit", "account_no": "3301000001"},
                                               {"decision": "refund"}, {"decision": "keep"},
                                               {"decision": "acknowledge", "note": "已核实"}],
        "/staff/reading/meters/<int:meter_id>": [{"total": "1000.00"}, {"total": "99999", "confirmed": "99999000",
                                                                          "note": "已核对"}],
        "/staff/refunds": [{"channel_txn_id": one, "amount": "1.00", "reason": "overpayment"}
                           for one in world.ids["channel_txn_id"]],
        "/staff/waivers": [{"bill_id": one, "amount": "0.50", "reason": "核实减免"} for one in world.ids["bill_id"]],
        "/staff/reconciliation/<int:difference_id>/write-off": [{"amount": "7.00", "reason": "查无此款"}],
        "/staff/reconciliation/<int:difference_id>/note": [{"note": "已致电渠道"}],
        "/staff/reconciliation": [{"day": "2026-11-27", "channel": "wechat", "kind": "ledger_only", "status": "all"}],
    }
    return by_route.get(rule.rule) or [form for forms in by_route.values() for form in forms]


UPLOADS = (b"3301000011,10.00\n3301000012,20\n", b'="3301000011","5,000.00"\r', "３３０１０００００１１，１０".encode(),
           "户号,金额\n3301000011,10".encode("gbk"), b"\xff\xfe3\x003\x00", b"3301000011," + b"9" * 200_000,
           b'3301000011,"10\n', b"3301000011,10\x00", b"x" * 300_000, b"")


def _request(world: World, rule, role: str) -> st.SearchStrategy[dict]:
    values = _values(world)

    def changed(base: dict) -> st.SearchStrategy[dict]:
        names = st.one_of(st.sampled_from(sorted(base) or FIELDS), st.sampled_from(FIELDS), st.text(max_size=8))
        return st.dictionaries(names, values, max_size=3).map(lambda changes: {"data": {**base, **changes}})

    form = st.sampled_from(_plausible(world, rule)).flatmap(changed)
    contents = st.sampled_from(UPLOADS)
    upload = st.builds(lambda data, name: (io.BytesIO(data), name),
                       st.one_of(contents, contents, st.binary(max_size=300)), st.sampled_from(["a.csv", ""]))
    with_file = st.builds(lambda body, file: {"data": {**body["data"], "file": file}}, form, upload)
    raw = st.builds(lambda data, kind: {"data": data, "content_type": kind}, st.binary(max_size=500),
                    st.sampled_from(CONTENT_TYPES))
    bodies = {"callbacks.notify": _callback_bodies(world), "manager.pay_upload": st.one_of(with_file, with_file, raw)}
    headers = st.dictionaries(st.sampled_from(CALLBACK_HEADERS + ("Content-Type", "Accept-Language")), header_values,
                              max_size=3)
    return st.fixed_dictionaries({
        "role": st.just(role), "method": _methods(rule), "path": _path_values(world, rule),
        "query": st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=8)), values, max_size=4),
        "body": bodies.get(rule.endpoint, st.one_of(form, with_file, raw)), "headers": headers,
    })


def _callback_bodies(world: World) -> st.SearchStrategy[dict]:
    """Real signed notifications with a header or two changed, or cut short, and random bodies."""
    signed = st.sampled_from(world.signed)
    changes = st.dictionaries(st.sampled_from(CALLBACK_HEADERS), header_values, min_size=1, max_size=2)
    return st.one_of(
        st.builds(lambda one, changed: {"data": one[1], "headers": {**one[0], **changed}}, signed, changes),
        st.builds(lambda one, cut: {"data": one[1][:cut], "headers": one[0]}, signed, st.integers(0, 3000)),
        st.builds(lambda one: {"data": one[1], "headers": one[0]}, signed),
        st.builds(lambda data, kind: {"data": data, "content_type": kind}, st.binary(max_size=500),
                  st.sampled_from(CONTENT_TYPES)),
    )


def _methods(rule) -> st.SearchStrategy[str]:
    """Mostly the route's own methods, sometimes the other one (GET and POST on every route)."""
    own = st.sampled_from(sorted(rule.methods & {"GET", "POST"}) or ["GET", "POST"])  # a PATCH/DELETE-only route
    return st.one_of(own, own, st.sampled_from(["GET", "POST"]))


def _url(world: World, rule, path: dict) -> str | None:
    try:
        return world.app.url_map.bind("localhost").build(rule.endpoint, path, force_external=False)
    except BuildError:
        return None


def _send(world: World, engine, rule, drawn: dict) -> None:
    url = _url(world, rule, drawn["path"])
    if url is None:
        return
    client = world.app.test_client()
    role = "anonymous" if rule.endpoint in ENDS_SESSION else drawn["role"]
    for key, value in world.cookies[role]:
        client.set_cookie(key, value)
    body = dict(drawn["body"])
    headers = {**body.pop("headers", {}), **drawn["headers"]}
    before = _ledger(engine)
    answer = client.open(url, method=drawn["method"], query_string=drawn["query"], headers=headers, **body)
    assert answer.status_code < 500, (drawn["method"], url, answer.status_code)
    echoed = _echoed(answer, drawn)
    assert echoed is None or _kept_for_login(answer), \
        f"{drawn['method']} {url} echoed {echoed[:40]!r}... into Location"
    if 400 <= answer.status_code < 500:
        assert _ledger(engine) == before, f"{drawn['method']} {url} was refused ({answer.status_code}) yet moved money"


def _echoed(answer, drawn: dict) -> str | None:
    """A value the request carried that came back in the Location header (no input goes into a URL)."""
    location = unquote_plus(answer.headers.get("Location", ""))
    form = drawn["body"]["data"] if isinstance(drawn["body"]["data"], dict) else {}
    sent = [*form.values(), *drawn["query"].values(), *drawn["path"].values()]
    return next((value for value in sent if isinstance(value, str) and len(value) >= 16 and value in location), None)


def test_no_route_answers_5xx_and_a_refusal_moves_no_money(engine, world):
    rules = sorted(world.app.url_map.iter_rules(), key=lambda rule: rule.rule)
    assert len(rules) > 20
    for rule in rules:
        for role in ROLES:
            @settings(max_examples=_examples(rule, role), deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(drawn=_request(world, rule, role))
            def fuzz(drawn: dict) -> None:
                _send(world, engine, rule, drawn)

            fuzz()
    _assert_still_logged_in(world)


def _examples(rule, role: str) -> int:
    rows = [ACCESS.get((rule.endpoint, method), PUBLIC) for method in rule.methods & {"GET", "POST"}]
    if not rule.endpoint.startswith("staff.") or PUBLIC in rows or not rows:
        return EXAMPLES_PER_ROUTE
    return EXAMPLES_PER_ROUTE if role in frozenset().union(*rows) else min(REFUSED_EXAMPLES, EXAMPLES_PER_ROUTE)


def _assert_still_logged_in(world: World) -> None:
    """Every role was itself to the end: its session was never ended by a fuzzed request."""
    homes = {"resident": "/", "manager": "/manager/", **{role: "/staff/" for role in STAFF_ROLES}}
    for role, path in homes.items():
        client = world.app.test_client()
        for key, value in world.cookies[role]:
            client.set_cookie(key, value)
        answer = client.get(path)
        assert answer.status_code == 200, (role, answer.status_code, answer.headers.get("Location"))
