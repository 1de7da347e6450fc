"""The resident pages with the Flask client: a new phone is led to bind, binding with proof and the
masked holder's name, labels and unbinding, the home card's figures, usage with its table, payment
history and receipts, reminder settings and quick amounts.  Other residents' 户号, ids and sequential
户号 are 404; bad input is a 4xx naming the field, never a 500, and changes nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from sqlmodel import select

from billing import ledger
from billing.accounts import Account, Customer, Meter
from billing.db import read_session, unit_of_work
from billing.ledger import Posting
from billing.payment_history import payment_history
from billing.residents import Binding, Resident
from notifications.records import Preference
from tests import factories
from tests.bill_helpers import pay, refund
from tests.conftest import csrf_token
from tests.explained_helpers import resident_log_in
from tests.read_helpers import OPENED, old_account, reads

ME, STRANGER = "13800000001", "13800000002"
MINE, THEIRS, FREE = "3301000001", "3301000002", "3301000003"
TAIL = "123X"


def _seed(engine, clock):
    """My prepaid 户号 with reads, a stranger's, and one nobody has bound (proof: TAIL)."""
    with unit_of_work(engine) as db:
        mine = old_account(db, account_no=MINE, regime="prepaid", holder_name="李小荣")
        theirs = old_account(db, account_no=THEIRS, holder_name="赵强")
        free = old_account(db, account_no=FREE, holder_name="王芳芳")
        customer = db.get(Customer, free.customer_id)
        customer.id_number_tail = TAIL
        db.add(customer)
        reads(db, mine.meter_id, date(2026, 10, 1), [n * 10_000 for n in range(57)], clock,
              registers=[{"peak": n * 6_000, "valley": n * 4_000} for n in range(57)])
        factories.resident(db, ME, at=OPENED, accounts=(mine,))
        factories.resident(db, STRANGER, at=OPENED, accounts=(theirs,))
        meter_no = db.get(Meter, free.meter_id).meter_no
    pay(engine, clock, mine, 10_000)
    pay(engine, clock, theirs, 20_000)
    return meter_no


def _post(client, path, **data):
    return client.post(path, data={"csrf_token": csrf_token(client), **data})


def _bindings(engine, phone=ME) -> list[tuple[str, str]]:
    with read_session(engine) as db:
        rows = db.exec(select(Account.account_no, Binding.label).join(Binding, Binding.account_id == Account.id)
                       .where(Binding.resident_id == _resident_id(db, phone))).all()
        return sorted(rows)


def _resident_id(db, phone):
    return db.exec(select(Resident.id).where(Resident.phone == phone)).one()


def test_a_new_phone_is_shown_how_to_bind(engine, clock, client):
    _seed(engine, clock)
    page = client.get(resident_log_in(client, "13800000003").headers["Location"]).get_data(as_text=True)
    assert "还没有绑定户号" in page and 'href="/bind"' in page and "身份证号的后四位" in page


def test_bind_with_the_id_tail_after_confirming_the_masked_name(engine, clock, client):
    _seed(engine, clock)
    resident_log_in(client, ME)
    assert "户主身份证号后四位" in client.get("/bind").get_data(as_text=True)
    check = _post(client, "/bind/check", account_no=FREE, id_tail=TAIL.lower(), meter_no="", label="父母家")
    page = check.get_data(as_text=True)
    assert check.status_code == 200 and "王*芳" in page and "王芳芳" not in page and "确认绑定" in page
    assert _bindings(engine) == [(MINE, "")]  # nothing bound before the confirmation
    done = _post(client, "/bind", account_no=FREE, id_tail=TAIL, meter_no="", label="父母家")
    assert done.status_code == 303
    assert _bindings(engine) == [(MINE, ""), (FREE, "父母家")]
    home = client.get("/").get_data(as_text=True)
    assert "已绑定户号 3301000003" in home and "父母家" in home and "王*芳" in home


def test_bind_with_the_meter_number(engine, clock, client):
    meter_no = _seed(engine, clock)
    resident_log_in(client, ME)
    assert _post(client, "/bind", account_no=FREE, id_tail="", meter_no=meter_no, label="").status_code == 303
    assert (FREE, "") in _bindings(engine)


def test_wrong_or_malformed_proof_names_the_field_and_binds_nothing(engine, clock, client):
    _seed(engine, clock)
    resident_log_in(client, ME)
    cases = [({"account_no": FREE, "id_tail": "0000"}, 403, "户号与户主身份证号后四位不匹配"),
             ({"account_no": FREE, "meter_no": "X1"}, 403, "户号与电表表号不匹配"),
             ({"account_no": "33010", "id_tail": TAIL}, 400, "户号应为10位数字"),
             ({"account_no": FREE}, 400, "请填写户主身份证号后四位或电表表号"),
             ({"account_no": FREE, "id_tail": "12"}, 400, "身份证号后四位应为4个字符"),
             ({"account_no": FREE, "id_tail": TAIL, "label": "长" * 21}, 400, "备注最多 20 个字")]
    for form, status, text in cases:
        for path in ("/bind/check", "/bind"):
            answer = _post(client, path, **form)
            assert (answer.status_code, text in answer.get_data(as_text=True)) == (status, True), (path, form)
    assert _bindings(engine) == [(MINE, "")]


def test_too_many_wrong_tries_are_refused_even_with_the_right_proof(engine, clock, client):
    _seed(engine, clock)
    resident_log_in(client, ME)
    for n in range(5):
        assert _post(client, "/bind/check", account_no=FREE, id_tail=f"{n:04d}").status_code == 403
    answer = _post(client, "/bind", account_no=FREE, id_tail=TAIL)
    assert answer.status_code == 429 and "请1小时后再试" in answer.get_data(as_text=True)
    assert _bindings(engine) == [(MINE, "")]


def test_the_maximum_is_the_setting(engine, clock, app, client):
    _seed(engine, clock)
    services = app.extensions["dianfei"]
    services.settings = replace(services.settings, MAX_BINDINGS=1)
    resident_log_in(client, ME)
    answer = _post(client, "/bind", account_no=FREE, id_tail=TAIL)
    assert answer.status_code == 403 and "最多绑定 1 个户号" in answer.get_data(as_text=True)
    assert "达到上限" in client.get("/").get_data(as_text=True)


def test_relabel_and_unbind_only_ones_own(engine, clock, client):
    _seed(engine, clock)
    resident_log_in(client, ME)
    assert "备注与解绑" in client.get(f"/accounts/{MINE}").get_data(as_text=True)
    assert _post(client, f"/accounts/{MINE}/label", label="家").status_code == 303
    bad = _post(client, f"/accounts/{MINE}/label", label="x" * 21)
    assert bad.status_code == 400 and "备注最多 20 个字" in bad.get_data(as_text=True)
    assert _bindings(engine) == [(MINE, "家")]
    for path in (f"/accounts/{THEIRS}", f"/accounts/{FREE}", "/accounts/3301000004", "/accounts/x"):
        assert client.get(path).status_code == 404
    for path in (f"/accounts/{THEIRS}/label", f"/accounts/{THEIRS}/unbind"):
        assert _post(client, path, label="家").status_code == 404
    assert _bindings(engine, STRANGER) == [(THEIRS, "")]
    assert _post(client, f"/accounts/{MINE}/unbind").status_code == 303
    assert _bindings(engine) == [] and "还没有绑定户号" in client.get("/").get_data(as_text=True)


def test_home_card_figures(engine, clock, client):
    _seed(engine, clock)
    resident_log_in(client, ME)
    page = client.get("/").get_data(as_text=True)
    # 10-01 .. 11-25 read (56 days of 10 kWh), this year all in tier 1: 2760 - 560 = 2200 kWh left
    assert "余额 100.00 元" in page and "第1档，今年已用 560.00 kWh" in page and "本档还剩 2200.00 kWh" in page
    # a day: peak 6 x 0.568 + valley 4 x 0.288 = 3.41 + 1.15 = 4.56 元; 100 元 last 21 days
    assert "约 21 天" in page and "约 4.56 元/天" in page
    # November: 250 kWh read + 5 days x 10 = 300 kWh: peak 180 x 0.568 = 102.24, valley 120 x 0.288 = 34.56
    assert "300.00 kWh · 约 136.80 元" in page
    assert "柜台 · ¥100.00" in page and THEIRS not in page


def test_usage_pages_with_their_tables(engine, clock, client):
    _seed(engine, clock)
    resident_log_in(client, ME)
    day = client.get(f"/usage/{MINE}").get_data(as_text=True)
    assert "合计 290.00 kWh" in day and "查看数据表" in day and "<td>2026-11-25</td>" in day
    assert "峰 174.00 kWh" in day and "谷 116.00 kWh" in day and "60.00%" in day
    month = client.get(f"/usage/{MINE}?view=month").get_data(as_text=True)
    assert "<td>2026-10</td>" in month and "310.00" in month and "去年同月" in month
    year = client.get(f"/usage/{MINE}?view=year").get_data(as_text=True)
    assert "<td>2026</td>" in year and "合计 560.00 kWh" in year
    for odd in ("?view=decade", "?days=7", "?days=" + "9" * 400, "?view=day&days=90"):
        assert client.get(f"/usage/{MINE}{odd}").status_code == 200
    assert "合计 560.00 kWh" in client.get(f"/usage/{MINE}?days=90").get_data(as_text=True)


def test_payment_history_and_receipts(engine, clock, client):
    _seed(engine, clock)
    with unit_of_work(engine) as db:
        mine = db.exec(select(Account).where(Account.account_no == MINE)).one()
        ledger.post(db, Posting("settle:t", ledger.customer_code(MINE), "revenue:energy", 1_000, "energy"), at=clock())
    refund(engine, clock, mine, 2_000)
    resident_log_in(client, ME)
    page = client.get(f"/payments/{MINE}").get_data(as_text=True)
    assert "+¥100.00" in page and "-¥20.00" in page and "余额 ¥70.00" in page and "余额 ¥100.00" in page
    with read_session(engine) as db:
        entries = payment_history(db, mine.id)
        theirs = db.exec(select(Account).where(Account.account_no == THEIRS)).one()
        their_entry = payment_history(db, theirs.id)[0]
    receipt = client.get(f"/payments/{MINE}/{entries[-1].transfer_id}").get_data(as_text=True)
    assert "缴费凭证" in receipt and "李*荣" in receipt and "¥100.00" in receipt
    assert "退款凭证" in client.get(f"/payments/{MINE}/{entries[0].transfer_id}").get_data(as_text=True)
    for path in (f"/payments/{THEIRS}", f"/payments/{THEIRS}/{their_entry.transfer_id}",
                 f"/payments/{MINE}/{their_entry.transfer_id}", f"/payments/{MINE}/{entries[-1].transfer_id + 1000}",
                 f"/payments/{MINE}/99999999999999999999", f"/usage/{THEIRS}", f"/usage/{FREE}", "/usage/3301000004"):
        assert client.get(path).status_code == 404, path
    assert client.get(f"/payments/{MINE}?page=-1").status_code == 200
    assert "较早" not in client.get(f"/payments/{MINE}?page=2").get_data(as_text=True)


def test_reminder_settings(engine, clock, client):
    _seed(engine, clock)
    resident_log_in(client, ME)
    page = client.get("/settings").get_data(as_text=True)
    assert "免打扰时段" in page and f'name="balance_low-{MINE}"' in page and 'value="30.00"' in page
    saved = _post(client, "/settings", sms="on", quiet_from_hour="12", quiet_until_hour="14",
                  **{f"balance_low-{MINE}": "50"})
    assert saved.status_code == 303
    with read_session(engine) as db:
        preference = db.exec(select(Preference)).one()
        mine = db.exec(select(Account).where(Account.account_no == MINE)).one()
    assert (preference.sms, preference.wechat, preference.optional, preference.quiet_from_hour,
            preference.quiet_until_hour, mine.balance_low_fen) == (True, False, False, 12, 14, 5000)
    for form, text in (({"quiet_from_hour": "24", "quiet_until_hour": "8"}, "开始时间"),
                       ({"quiet_from_hour": "8", "quiet_until_hour": "22"}, "不能占满全天"),
                       ({"quiet_from_hour": "x", "quiet_until_hour": "8"}, "开始时间"),
                       ({"quiet_from_hour": "22", "quiet_until_hour": "8", f"balance_low-{MINE}": "abc"}, "提醒金额"),
                       ({"quiet_from_hour": "22", "quiet_until_hour": "8", f"balance_low-{MINE}": "20000"}, "提醒金额")):
        answer = _post(client, "/settings", sms="on", wechat="on", optional="on", **form)
        assert answer.status_code == 400 and text in answer.get_data(as_text=True), form
    with read_session(engine) as db:
        assert db.exec(select(Preference)).one().quiet_from_hour == 12  # nothing changed
        assert db.exec(select(Account).where(Account.account_no == MINE)).one().balance_low_fen == 5000
    # another resident's 户号 in a field name is ignored, not changed
    _post(client, "/settings", quiet_from_hour="22", quiet_until_hour="8", **{f"balance_low-{THEIRS}": "1"})
    with read_session(engine) as db:
        assert db.exec(select(Account).where(Account.account_no == THEIRS)).one().balance_low_fen == 3000


def test_quick_amounts_on_the_pay_page(engine, clock, client):
    _seed(engine, clock)
    resident_log_in(client, ME)
    page = client.get(f"/pay/{MINE}").get_data(as_text=True)
    assert all(f"/pay/{MINE}?amount={yuan}" in page for yuan in (50, 100, 200))
    assert 'value="100.00"' in client.get(f"/pay/{MINE}?amount=100").get_data(as_text=True)
    assert 'value="77.00"' not in client.get(f"/pay/{MINE}?amount=77").get_data(as_text=True)


def test_pages_need_a_login(client):
    for path in ("/bind", f"/usage/{MINE}", f"/payments/{MINE}", "/settings", f"/accounts/{MINE}"):
        assert client.get(path).status_code == 302


def test_the_pages_in_english(engine, clock, client):
    _seed(engine, clock)
    resident_log_in(client, ME)
    home = client.get("/?lang=en").get_data(as_text=True)
    assert "Tier 1, 560.00 kWh used this year" in home and "about 21 days" in home and "Last payment" in home
    for path, text in ((f"/usage/{MINE}?view=month", "Same month last year"), (f"/payments/{MINE}", "Payments"),
                       ("/bind", "Last four characters of the holder&#39;s ID number"), ("/settings", "Quiet hours"),
                       (f"/accounts/{MINE}", "Unbind")):
        page = client.get(path).get_data(as_text=True)
        assert text in page, path
    wrong = _post(client, "/bind/check", account_no=FREE, id_tail="0000")
    assert "do not match" in wrong.get_data(as_text=True)
