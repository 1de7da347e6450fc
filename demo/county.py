"""The demo county: three 台区, a few hundred households, shops and two factories, a property
manager, staff, 14 months of reads and opening balances.  Deterministic from its seed and day.

Bulk rows go in through SQLAlchemy Core (COPY on PostgreSQL); the opening balances go through the
ledger like any other money.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import Table, func, insert, select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from billing import ledger
from billing.accounts import (
    DISTRICT_METER, LARGE_INDUSTRY, MANUAL, NON_RESIDENTIAL, POSTPAID, PREPAID, RESIDENTIAL, SMART,
    Account, Customer, District, Meter,
)
from billing.clock import beijing_date, from_beijing
from billing.db import bulk_insert, timestamp_value, writer
from demo.routes import add_routes
from demo.reads import (
    BUSINESS_SHARES, RESIDENTIAL_SHARES, Calendar, SyntheticMeter, day_range, district_rows, meter_rows,
)
from billing.ledger import LedgerAccount, Posting
from billing.meters import MeterInstallation
from billing.reads import READ_COLUMNS, Read
from billing.managers import Manager, ManagerAccount, ManagerMember
from billing.residents import Binding, Resident
from billing.staff import add_staff
from demo.logins import FIRST_LOGIN, SECOND_LOGIN, id_tail
from demo.trouble import add_trouble

DEMO_PASSWORD = "demo1234"
DEMO_STAFF = (
    ("admin", "系统管理员", ["admin"]),
    ("reader1", "王建国", ["reader"]),
    ("reviewer1", "李秀英", ["reviewer"]),
    ("cashier1", "张丽", ["cashier"]),
    ("finance1", "陈静", ["finance"]),
)
DISTRICTS = (("TQ-CG01", "城关一号台区", "城关镇", 45), ("TQ-CN02", "城南二号台区", "城南镇", 68), ("TQ-HX03", "河西三号台区", "河西乡", 32))
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁沈姚卢姜崔钟谭陆汪范金石廖贾夏付方邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国红梅文玉海燕志春花龙荣德福生祥云凤琴"
ROADS = ("幸福路", "人民路", "解放街", "建设路", "河滨路", "新华街", "文化路", "东风路")
SHOPS = ("超市", "五金店", "饭店", "理发店", "药店", "加工厂", "修理部", "茶馆", "宾馆", "幼儿园")
FACTORIES = ("海川水泥有限公司", "恒通纺织厂")
MANAGER_NAME = "幸福家园物业服务有限公司"
DISTRICT_MULTIPLIER = 200
CHUNK = 50_000


@dataclass
class Planned:
    account_no: str
    holder_name: str
    phone: str
    address: str
    category: str
    regime: str
    district_index: int
    meter: SyntheticMeter
    protected: bool = False
    opening_fen: int = 0


@dataclass
class DemoSummary:
    accounts: int = 0
    by_category: dict[str, int] = field(default_factory=dict)
    by_regime: dict[str, int] = field(default_factory=dict)
    manager_accounts: int = 0
    reads: int = 0
    first_read: date | None = None
    last_read: date | None = None
    resident_logins: list[str] = field(default_factory=list)
    manager_login: str = ""
    staff_logins: list[str] = field(default_factory=list)


def database_is_empty(engine: Engine) -> bool:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(Account)).scalar() == 0


def load_demo_county(engine: Engine, *, accounts: int = 400, seed: int = 2026, now: datetime) -> DemoSummary:
    """Fill an empty database with the demo county, in one transaction."""
    rng = random.Random(seed)
    today = beijing_date(now)
    days = day_range(_months_back(today, 14), today - timedelta(days=1))
    plan = _plan(rng, accounts)
    summary = DemoSummary(accounts=len(plan), first_read=days[0], last_read=days[-1])
    for planned in plan:
        summary.by_category[planned.category] = summary.by_category.get(planned.category, 0) + 1
        summary.by_regime[planned.regime] = summary.by_regime.get(planned.regime, 0) + 1
    with writer(engine).begin() as connection:
        session = Session(bind=connection)
        reader_id = _staff(session, summary)
        account_ids, district_meters = _entities(connection, plan, days[0], now)
        summary.manager_accounts = _people(session, plan, account_ids, now, summary)
        _opening_balances(session, plan, _opening_at(days[0]))
        session.flush()
        summary.reads = _reads(connection, plan, district_meters, days, rng, now, reader_id)
        add_trouble(session, days=days, now=now)
        add_routes(session, plan, reader_id, today, now)
    return summary


def _months_back(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 - months
    return date(month_index // 12, month_index % 12 + 1, 1)


def _plan(rng: random.Random, total: int) -> list[Planned]:
    large = 2 if total >= 100 else 0
    business = max(20, round(total * 0.06)) if total >= 100 else max(1, total // 10)
    residential = total - large - business
    plan = [_household(rng, n) for n in range(residential)]
    plan += [_business(rng, n) for n in range(business)]
    plan += [_factory(rng, n) for n in range(large)]
    for sequence, planned in enumerate(plan, start=1):
        planned.account_no = f"33{planned.district_index + 1:02d}{sequence:06d}"
    return plan


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def _address(rng: random.Random, district_index: int) -> str:
    town = DISTRICTS[district_index][2]
    return f"{town}{rng.choice(ROADS)}{rng.randint(1, 199)}号{rng.randint(1, 6)}单元{rng.randint(1, 6)}0{rng.randint(1, 4)}"


def _household(rng: random.Random, n: int) -> Planned:
    district_index = n % 3
    manual = n % 37 == 5  # a few old meters still read by hand
    regime = PREPAID if rng.random() < 0.6 else POSTPAID
    opening = rng.randint(3000, 30000) if regime == PREPAID else rng.choice((0, 0, 0, 0, 0, 0, 0, 2000, 5000, -rng.randint(5000, 40000)))
    meter = SyntheticMeter(0, district_index, rng.uniform(3, 14), shares={} if manual else RESIDENTIAL_SHARES, manual=manual)
    return Planned("", _name(rng), _phone(rng), _address(rng, district_index), RESIDENTIAL, regime, district_index, meter,
                   protected=n == 7, opening_fen=opening)


def _business(rng: random.Random, n: int) -> Planned:
    district_index = n % 3
    if n == 0:
        name, protected, kwh = "县人民医院", True, 900.0
    else:
        name, protected, kwh = f"{rng.choice(SURNAMES)}记{rng.choice(SHOPS)}", False, rng.uniform(20, 200)
    meter = SyntheticMeter(0, district_index, kwh, multiplier=1 if kwh < 500 else 30, shares=BUSINESS_SHARES, weekday_only=not protected)
    opening = rng.choice((0, 0, 10000, -rng.randint(20000, 200000)))
    return Planned("", name, _phone(rng), _address(rng, district_index), NON_RESIDENTIAL, POSTPAID, district_index, meter,
                   protected=protected, opening_fen=opening)


def _factory(rng: random.Random, n: int) -> Planned:
    meter = SyntheticMeter(0, 2, rng.uniform(3000, 8000), multiplier=200, shares=BUSINESS_SHARES, weekday_only=True)
    return Planned("", FACTORIES[n], _phone(rng), f"河西乡工业园区{n + 1}号", LARGE_INDUSTRY, POSTPAID, 2, meter)


def _phone(rng: random.Random) -> str:
    return f"1{rng.choice('35789')}{rng.randrange(10**9):09d}"


def _insert_returning_ids(connection: Connection, table: Table, rows: list[dict]) -> list[int]:
    result = connection.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
    return list(result.scalars())


def _entities(connection: Connection, plan: list[Planned], installed: date, now: datetime) -> tuple[list[int], list[tuple[int, int]]]:
    meter_rows_ = [
        {"meter_no": f"M{3300000000 + n:010d}", "kind": MANUAL if p.meter.manual else SMART, "multiplier": p.meter.multiplier,
         "tou": bool(p.meter.shares), "installed_on": installed}
        for n, p in enumerate(plan)
    ]
    meter_ids = _insert_returning_ids(connection, Meter.__table__, meter_rows_)
    for planned, meter_id in zip(plan, meter_ids):
        planned.meter.meter_id = meter_id
    district_meter_ids = _insert_returning_ids(connection, Meter.__table__, [
        {"meter_no": f"Z{code}", "kind": SMART, "role": DISTRICT_METER, "multiplier": DISTRICT_MULTIPLIER, "tou": False, "installed_on": installed}
        for code, *_ in DISTRICTS
    ])
    district_ids = _insert_returning_ids(connection, District.__table__, [
        {"code": code, "name": name, "district_meter_id": meter_id}
        for (code, name, _town, _loss), meter_id in zip(DISTRICTS, district_meter_ids)
    ])
    customer_ids = _insert_returning_ids(connection, Customer.__table__, [
        {"name": p.holder_name, "phone": p.phone, "id_number_tail": id_tail(p.account_no), "created_at": now}
        for p in plan
    ])
    account_ids = _insert_returning_ids(connection, Account.__table__, [
        {"account_no": p.account_no, "holder_name": p.holder_name, "customer_id": customer_id,
         "district_id": district_ids[p.district_index], "meter_id": p.meter.meter_id, "address": p.address,
         "category": p.category, "regime": p.regime, "status": "active", "protected": p.protected, "opened_on": installed}
        for p, customer_id in zip(plan, customer_ids)
    ])
    connection.execute(insert(MeterInstallation.__table__), [
        {"account_id": account_id, "meter_id": p.meter.meter_id, "multiplier": p.meter.multiplier,
         "installed_on": installed, "removed_on": None, "reason": "开户", "recorded_by": None, "recorded_at": now}
        for p, account_id in zip(plan, account_ids)
    ])
    connection.execute(insert(LedgerAccount.__table__), [
        {"code": ledger.customer_code(p.account_no), "kind": ledger.LIABILITY, "account_id": account_id,
         "debits_fen": 0, "credits_fen": 0}
        for p, account_id in zip(plan, account_ids)
    ])
    loss = [district[3] for district in DISTRICTS]
    return account_ids, list(zip(district_meter_ids, loss))


def _staff(session: Session, summary: DemoSummary) -> int:
    staff = [add_staff(session, username=u, name=n, password=DEMO_PASSWORD, roles=r) for u, n, r in DEMO_STAFF]
    summary.staff_logins = [f"{u} ({', '.join(r)})" for u, _, r in DEMO_STAFF]
    return staff[1].id


def _people(session: Session, plan: list[Planned], account_ids: list[int], now: datetime, summary: DemoSummary) -> int:
    """Demo residents with bound 户号, and the property manager with its 户号 and one member."""
    households = [(p, i) for p, i in zip(plan, account_ids) if p.category == RESIDENTIAL]
    prepaid = next((h for h in households if h[0].regime == PREPAID), households[0])
    in_arrears = next((h for h in households if h[0].opening_fen < 0), households[1])
    others = [h for h in households if h not in (prepaid, in_arrears)]
    logins = [(FIRST_LOGIN, [prepaid, in_arrears]), (SECOND_LOGIN, [others[0]])]
    logins += [(p.phone, [(p, i)]) for p, i in others[1:18]]
    for phone, bound in logins:
        resident = Resident(phone=phone, name=bound[0][0].holder_name, created_at=now)
        session.add(resident)
        session.flush()
        session.add_all(Binding(resident_id=resident.id, account_id=i, bound_at=now) for _, i in bound)
    summary.resident_logins = [phone for phone, _ in logins[:2]]
    manager = Manager(name=MANAGER_NAME, contact_phone="05718000000")
    member = Resident(phone="13900000000", name="物业 赵经理", created_at=now)
    session.add_all([manager, member])
    session.flush()
    managed = [i for p, i in households if p.district_index == 0][: max(40, len(households) // 10)]
    session.add_all(ManagerAccount(manager_id=manager.id, account_id=i) for i in managed)
    session.add(ManagerMember(manager_id=manager.id, resident_id=member.id))
    summary.manager_login = member.phone
    return len(managed)


def _opening_at(first_day: date) -> datetime:
    """The opening balances are brought over the evening before the first day of the county's
    history: the bills that follow are paid from them (and after them) in the order of the days."""
    return from_beijing(datetime.combine(first_day - timedelta(days=1), time(18)))


def _opening_balances(session: Session, plan: list[Planned], at: datetime) -> None:
    for planned in plan:
        if planned.opening_fen == 0:
            continue
        customer = ledger.customer_code(planned.account_no)
        debit, credit = ("equity:opening", customer) if planned.opening_fen > 0 else (customer, "equity:opening")
        ledger.post(session, Posting(f"opening:{planned.account_no}", debit, credit, abs(planned.opening_fen), "opening",
                                     "期初余额 opening balance"), at=at)


def _reads(connection: Connection, plan: list[Planned], district_meters: list[tuple[int, int]], days: list[date],
           rng: random.Random, now: datetime, reader_id: int) -> int:
    received = timestamp_value(connection, now)
    calendar = Calendar(days)
    table = Read.__table__
    district_use = [[0] * len(days) for _ in district_meters]
    buffer, written = [], 0
    for planned in plan:
        rows, daily = meter_rows(planned.meter, calendar, rng, received, reader_id)
        buffer += rows
        totals = district_use[planned.district_index]
        for n, used in enumerate(daily):
            totals[n] += used
        if len(buffer) >= CHUNK:
            written += bulk_insert(connection, table, READ_COLUMNS, buffer)
            buffer = []
    for (meter_id, loss), use in zip(district_meters, district_use):
        buffer += district_rows(meter_id, DISTRICT_MULTIPLIER, use, loss, calendar, received)
    return written + bulk_insert(connection, table, READ_COLUMNS, buffer)
