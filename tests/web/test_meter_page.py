"""The desk page for meter changes (换表) and multiplier changes: a reader finds the 户号, records the
change, and a refusal names the field and changes nothing."""

from sqlmodel import select

from billing.accounts import Account, Meter
from billing.audit import AuditEntry
from billing.db import read_session, unit_of_work
from billing.meters import installations
from tests.conftest import csrf_token
from tests.read_helpers import DAY, TODAY, old_account, reads, steady
from tests.staff_helpers import add_team, log_in

CHANGE = TODAY - 3 * DAY


def _account(engine, clock) -> Account:
    add_team(engine)
    with unit_of_work(engine) as db:
        account = old_account(db, account_no="3301000777")
        reads(db, account.meter_id, CHANGE - 9 * DAY, steady(5_000_000, 8_000, 10), clock)  # last: 5,072,000 Wh
        return account


def _meter_no(engine, account: Account) -> str:
    with read_session(engine) as db:
        return db.get(Meter, account.meter_id).meter_no


def _form(client, **fields) -> dict:
    page = "/staff/accounts/3301000777/meter"
    return {"csrf_token": csrf_token(client, page), "on": CHANGE.isoformat(), "old_final": "5072.00",
            "new_meter_no": "H-0001", "new_kind": "smart", "new_initial": "0.00", "multiplier": "1",
            "reason": "表计烧坏"} | fields


def test_a_reader_records_a_meter_change(engine, clock, client):
    account = _account(engine, clock)
    log_in(client, "reader1")
    found = client.get("/staff/meters?account_no=3301000777")
    assert found.status_code == 302 and found.headers["Location"].endswith("/staff/accounts/3301000777/meter")
    page = client.get("/staff/accounts/3301000777/meter").get_data(as_text=True)
    assert "5072.00" in page and "换表" in page and "倍率变更" in page
    done = client.post("/staff/accounts/3301000777/meter", data=_form(client), follow_redirects=True)
    assert done.status_code == 200 and "已换表：新表 H-0001" in done.get_data(as_text=True)
    with read_session(engine) as db:
        changed = db.get(Account, account.id)
        assert db.get(Meter, changed.meter_id).meter_no == "H-0001"
        assert [(i.removed_on, i.reason) for i in installations(db, account.id)] == [(CHANGE, "开户"), (None, "表计烧坏")]
        (entry,) = db.exec(select(AuditEntry).where(AuditEntry.action == "meter_change")).all()
    assert entry.target == "account:3301000777"
    assert "H-0001" in client.get("/staff/accounts/3301000777/meter").get_data(as_text=True)


def test_a_dead_meter_is_changed_without_a_final_read(engine, clock, client):
    _account(engine, clock)
    log_in(client, "reader1")
    done = client.post("/staff/accounts/3301000777/meter", data=_form(client, old_final=""), follow_redirects=True)
    assert "拆表示数未填写，已转复核估算" in done.get_data(as_text=True)


def test_refusals_name_the_field_and_change_nothing(engine, clock, client):
    account = _account(engine, clock)
    log_in(client, "reader1")
    for fields, says in (
        ({"old_final": "5000.00"}, "拆表示数 5000.00 低于该表"),
        ({"old_final": "五千"}, "拆表示数应为千瓦时数"),
        ({"on": TODAY.replace(year=TODAY.year + 1).isoformat()}, "日期须在"),
        ({"on": "yesterday"}, "请选择日期"),
        ({"multiplier": "0"}, "倍率应为1至100000之间的整数"),
        ({"multiplier": "x" * 50}, "倍率应为1至100000之间的整数"),
        ({"new_meter_no": _meter_no(engine, account)}, "正在使用中"),
        ({"new_meter_no": "坏 号"}, "新表表号应为1至24位"),
        ({"reason": ""}, "请填写换表或倍率变更的原因"),
    ):
        refused = client.post("/staff/accounts/3301000777/meter", data=_form(client, **fields))
        text = refused.get_data(as_text=True)
        assert refused.status_code == 400 and says in text, (fields, text[-3000:])
    same = client.post("/staff/accounts/3301000777/multiplier", data=_form(client, multiplier="1", reading=""))
    assert same.status_code == 400 and "新倍率与当前倍率 1 相同" in same.get_data(as_text=True)
    with read_session(engine) as db:
        assert db.get(Account, account.id).meter_id == account.meter_id
        assert [i.removed_on for i in installations(db, account.id)] == [None]


def test_a_multiplier_change_and_who_may_make_it(engine, clock, client):
    account = _account(engine, clock)
    log_in(client, "cashier1")
    assert client.get("/staff/meters").status_code == 403
    assert client.post("/staff/accounts/3301000777/multiplier", data={"multiplier": "30"}).status_code in (400, 403)
    log_in(client, "reader1")
    assert client.get("/staff/meters?account_no=3301009999").status_code == 404
    done = client.post("/staff/accounts/3301000777/multiplier",
                       data=_form(client, multiplier="30", reading="", reason="更换互感器 150/5"), follow_redirects=True)
    assert "已变更倍率：自" in done.get_data(as_text=True)
    with read_session(engine) as db:
        assert [i.multiplier for i in installations(db, account.id)] == [1, 30]
