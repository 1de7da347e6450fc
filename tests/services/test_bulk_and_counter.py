"""Property-manager bulk payment and the service-hall counter."""

import pytest
from sqlmodel import select

from billing import ledger
from billing.audit import AuditEntry
from billing.clock import beijing_date
from billing.db import read_session, unit_of_work
from billing.errors import InvalidInput
from billing.incidents import Incident
from billing.ledger import Transfer
from billing.staff import add_staff
from payments import bulk, checkout, counter
from payments.errors import BulkFileInvalid
from payments.orders import order_lines
from tests import factories
from tests.payment_helpers import acknowledged, balance, new_account, order, phone

LIMITS = checkout.Limits()


@pytest.fixture
def manager(engine, clock):
    """A property manager with three 户号, and one 户号 it does not manage."""
    with unit_of_work(engine) as db:
        org, accounts = factories.manager(db, at=clock(), account_nos=[f"33010000{n:02d}" for n in range(1, 4)])
        outsider = factories.account(db, at=clock(), account_no="3399999999")
    return org, accounts, outsider


def _managed(engine, manager_id):
    with read_session(engine) as db:
        return bulk.managed_accounts(db, manager_id)


def test_bulk_file_is_read_whole(engine, manager):
    org, accounts, _ = manager
    text = "户号,金额\n3301000001,120.50\n\n3301000003,80\n"
    lines = bulk.parse_lines(text, _managed(engine, org.id), max_line_fen=500000)
    assert [(a.account_no, fen) for a, fen in lines] == [("3301000001", 12050), ("3301000003", 8000)]
    assert bulk.decode_upload(text.encode("gbk")) == text
    assert bulk.decode_upload(b"\xef\xbb\xbf" + text.encode()) == text


def test_bulk_file_names_every_bad_line(engine, manager):
    org, _, outsider = manager
    text = ("3301000001,10.00\n"
            "3301000001,20.00\n"  # 2: repeated
            "33010000,5\n"  # 3: not 10 digits
            f"{outsider.account_no},5\n"  # 4: not managed
            "3301000002,1.234\n"  # 5: three decimals
            "3301000003,9000.00\n"  # 6: over the limit
            "3301000003\n")  # 7: one column
    with pytest.raises(BulkFileInvalid) as error:
        bulk.parse_lines(text, _managed(engine, org.id), max_line_fen=500000)
    assert [(line, code) for line, code, _ in error.value.problems] == [
        (2, "account_repeated"), (3, "account_no_format"), (4, "account_not_managed"), (5, "amount_format"),
        (6, "amount_range"), (7, "columns")]
    for bad in ("", "户号,金额\n"):
        with pytest.raises(BulkFileInvalid):
            bulk.parse_lines(bad, _managed(engine, org.id), max_line_fen=500000)


def _problems(data: bytes, managed) -> list[tuple[int, str]]:
    with pytest.raises(BulkFileInvalid) as error:
        bulk.parse_lines(bulk.decode_upload(data), managed, max_line_fen=500000)
    return [(line, code) for line, code, _ in error.value.problems]


def test_files_the_csv_module_chokes_on_are_refused_naming_the_line(engine, manager):
    """A 200 KB field, an unterminated quote, 20 MB without a newline: once a 500 (csv.Error)."""
    managed = _managed(engine, manager[0].id)
    assert _problems(b"3301000001,10\n3301000002," + b"9" * 200_000 + b"\n", managed) == [(2, "line_too_long")]
    assert _problems(b'3301000001,10\n3301000002,"10\n3301000003,5\n', managed) == [(2, "quote")]
    assert _problems(b'3301000001,"10"x\n', managed) == [(1, "quote")]
    assert _problems(b"3301000001," + b"1" * 20_000_000, managed) == [(1, "too_large")]
    crossing = bulk.MAX_FILE_BYTES // 101 + 1  # 101 bytes a line: the line in which the limit falls
    assert _problems(b"\n".join([b"x" * 100] * 3000), managed) == [(crossing, "too_large")]
    assert _problems(b"3301000001,10\n33010\x0000002,5\n", managed) == [(2, "nul")]
    assert _problems("户号,金额\n".encode("utf-16"), managed) == [(1, "nul")]  # Excel's "Unicode text"
    assert _problems("3301000001,10\n".encode() + "3301000002,５".encode("utf-16-le"), managed) == [(2, "nul")]
    assert _problems(b"3301000001,10\n3301000002,\xff\xff\n", managed) == [(2, "encoding")]


def test_spreadsheet_quirks_are_read_as_meant(engine, manager):
    managed = _managed(engine, manager[0].id)
    quirky = [
        ("\ufeff户号,金额\r\n3301000001,10\r\n", "a BOM and CRLF"),
        ("户号,金额\r3301000001,10\r", "old Mac Excel: CR alone"),
        ('="3301000001",="10.00"\n', "Excel's =\"...\" to keep text as text"),
        ('"=""3301000001""",10\n', "the same, quoted once more"),
        ("３３０１０００００１，１０．００\n", "full-width digits and comma from an input method"),
        ("3301000001,10,,,\n,,,\n", "columns and rows padded by Excel"),
        ('3301000001,"10.00"\n', "a quoted amount"),
        (" 3301000001 ,\u300010 \n", "spaces, full-width too"),
        ("3301000001,¥10.00\n", "a currency-formatted cell"),
        ("3301000001,￥10\n", "the full-width yuan sign"),
        ("户号,金额\n3301000001,10元\n", "yuan written after the amount"),
        ("户号\t金额\n3301000001\t10\n", "tab-separated, as Excel's text export"),
    ]
    for text, quirk in quirky:
        for encoding in ("utf-8", "gbk"):
            if encoding == "gbk" and (text.startswith("\ufeff") or "\xa5" in text):  # neither is in GBK
                continue
            lines = bulk.parse_lines(bulk.decode_upload(text.encode(encoding)), managed, max_line_fen=500000)
            assert [(a.account_no, fen) for a, fen in lines] == [("3301000001", 1000)], (quirk, encoding)
    lines = bulk.parse_lines('3301000001,"1,234.50"\n', managed, max_line_fen=500000)
    assert [fen for _, fen in lines] == [123450]  # a number-formatted cell


def test_a_long_bad_value_is_quoted_back_short(engine, manager):
    managed = _managed(engine, manager[0].id)
    with pytest.raises(BulkFileInvalid) as error:
        bulk.check_selection(managed, [bulk.Row("3301000001", True, "9" * 100_000), bulk.Row("3301000002", True, '1"0,\n5')],
                             {}, max_line_fen=500000)
    assert [(line, code) for line, code, _ in error.value.problems] == [(1, "amount_format"), (2, "amount_format")]
    assert error.value.problems[0][2]["amount"] == "9" * 24 + "…"


def test_bulk_payment_allocates_to_every_account_in_one_commit(request, engine, clock, app, gateways, manager):
    org, accounts, _ = manager
    lines = bulk.parse_lines("3301000001,100\n3301000002,200\n3301000003,300.01\n", _managed(engine, org.id),
                             max_line_fen=500000)
    started = checkout.start(engine, gateways["wechat"], purpose="bulk", scene="native", lines=lines,
                             description="物业代缴", limits=checkout.Limits(), now=clock(), manager_id=org.id).order
    assert started.amount_fen == 60001 and started.checkout_url.startswith("weixin://wxpay/bizpayurl")
    device = phone(request, "wechat")
    txn = device.pay(started)
    assert acknowledged("wechat", device.deliver(device.notification(started.out_trade_no, txn)))
    assert [balance(engine, a) for a in accounts] == [10000, 20000, 30001]
    with read_session(engine) as db:
        assert ledger.balance_fen(db, ledger.manager_code(org.id)) == 0
        keys = sorted(db.exec(select(Transfer.key)).all())
        assert [(a.account_no, fen) for a, fen in order_lines(db, order(engine, started.out_trade_no))] == [
            ("3301000001", 10000), ("3301000002", 20000), ("3301000003", 30001)]
    assert keys == sorted([f"pay:wechat:{txn}"] + [f"bulk:{started.out_trade_no}:33010000{n:02d}" for n in (1, 2, 3)])


@pytest.fixture
def cashier(engine):
    with unit_of_work(engine) as db:
        return add_staff(db, username="cashier1", name="张丽", password="pw", roles=["cashier"]).id


def test_counter_takes_cash_for_many_accounts(engine, clock, cashier):
    first, second = new_account(engine, clock), new_account(engine, clock)
    with unit_of_work(engine) as db:
        receipt = counter.take_payment(db, receipt_no=counter.new_receipt_no(clock()), cashier_id=cashier, method="cash", limits=LIMITS, now=clock(),
                                       rows=[(first.account_no, "50"), ("", ""), (second.account_no, "25.50")])
    assert receipt.out_trade_no.startswith("GT") and receipt.state == "paid" and receipt.amount_fen == 7550
    assert (balance(engine, first), balance(engine, second)) == (5000, 2550)
    with read_session(engine) as db:
        assert db.exec(select(AuditEntry.action)).all() == ["counter_payment"]


def test_cash_close_records_the_difference_and_closes_the_day(engine, clock, cashier):
    account = new_account(engine, clock)
    with unit_of_work(engine) as db:
        counter.take_payment(db, receipt_no=counter.new_receipt_no(clock()), cashier_id=cashier, method="cash", rows=[(account.account_no, "100")], limits=LIMITS,
                             now=clock())
        counter.take_payment(db, receipt_no=counter.new_receipt_no(clock()), cashier_id=cashier, method="card", rows=[(account.account_no, "30")], limits=LIMITS,
                             now=clock())
    with unit_of_work(engine) as db:
        closed = counter.close_day(db, cashier_id=cashier, counted_fen=9950, now=clock())
    assert (closed.expected_fen, closed.counted_fen, closed.difference_fen, closed.card_fen) == (10000, 9950, -50, 3000)
    with read_session(engine) as db:
        assert db.exec(select(Incident.kind)).all() == ["cash_difference"]
    with pytest.raises(counter.DayAlreadyClosed), unit_of_work(engine) as db:
        counter.take_payment(db, receipt_no=counter.new_receipt_no(clock()), cashier_id=cashier, method="cash", rows=[(account.account_no, "1")], limits=LIMITS,
                             now=clock())
    clock.advance(days=1)
    with unit_of_work(engine) as db:
        counter.take_payment(db, receipt_no=counter.new_receipt_no(clock()), cashier_id=cashier, method="cash", rows=[(account.account_no, "1")], limits=LIMITS,
                             now=clock())


def test_counter_refuses_bad_input(engine, clock, cashier):
    account = new_account(engine, clock)
    with pytest.raises(InvalidInput), unit_of_work(engine) as db:
        counter.take_payment(db, receipt_no=counter.new_receipt_no(clock()), cashier_id=cashier, method="cheque", rows=[(account.account_no, "1")], limits=LIMITS,
                             now=clock())
    with pytest.raises(InvalidInput), unit_of_work(engine) as db:
        counter.take_payment(db, receipt_no=counter.new_receipt_no(clock()), cashier_id=cashier, method="cash", rows=[], limits=LIMITS, now=clock())
    assert balance(engine, account) == 0


@pytest.mark.parametrize("amount", ["0", "-1", "0.99", "5000.01", "9999999999999999.99"])
def test_counter_checks_every_amount_against_the_portal_limits(engine, clock, cashier, amount):
    """These once reached the CHECK constraint (a 500) or overflowed the cached ledger totals."""
    account = new_account(engine, clock)
    with pytest.raises(counter.CounterRowsInvalid) as refused, unit_of_work(engine) as db:
        counter.take_payment(db, receipt_no=counter.new_receipt_no(clock()), cashier_id=cashier, method="cash", limits=LIMITS, now=clock(),
                             rows=[(account.account_no, "10"), (account.account_no, amount)])
    assert [problem[:2] for problem in refused.value.problems] == [(2, "account_repeated")]
    with pytest.raises(counter.CounterRowsInvalid) as refused, unit_of_work(engine) as db:
        counter.take_payment(db, receipt_no=counter.new_receipt_no(clock()), cashier_id=cashier, method="cash", limits=LIMITS, now=clock(),
                             rows=[(account.account_no, amount)])
    assert refused.value.problems == [(1, "amount_range", {"amount": amount, "minimum_fen": 100, "maximum_fen": 500000})]
    assert balance(engine, account) == 0


def test_a_negative_cash_count_is_refused(engine, clock, cashier):
    with pytest.raises(InvalidInput), unit_of_work(engine) as db:
        counter.close_day(db, cashier_id=cashier, counted_fen=-1, now=clock())
    with read_session(engine) as db:
        assert counter.day_closed(db, cashier, beijing_date(clock())) is None
