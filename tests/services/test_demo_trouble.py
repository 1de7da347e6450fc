"""The demo county's trouble: the checks and the line loss find each kind of it, in the right place,
once; the recorded meter change is counted on both meters."""

from datetime import timedelta

from sqlalchemy import select

from billing.accounts import Account, District, Meter
from billing.clock import beijing_date
from billing.db import read_session
from billing.meters import energy, installations
from billing.read_rules import ReadRules
from billing.review import open_items
from demo.county import load_demo_county
from demo.trouble import find_trouble


def test_the_checks_find_the_demo_trouble_once(engine, clock):
    county = load_demo_county(engine, now=clock())
    found = find_trouble(engine, rules=ReadRules(), first_read=county.first_read, now=clock())
    assert found == {"negative_use": 2, "rollover": 1, "high_use": 2, "year_high": 1, "zero_use": 1,
                     "inactive_use": 2, "meter_change": 1, "prepaid_no_cut": 1,
                     "loss_high_month": 1, "loss_negative": 1}
    assert find_trouble(engine, rules=ReadRules(), first_read=county.first_read, now=clock()) == {}
    with read_session(engine) as db:
        districts = dict(db.execute(select(District.id, District.code)).all())
        by_rule = {}
        for item in open_items(db):
            by_rule.setdefault(item.rule, []).append(item)
        assert [districts[i.district_id] for i in by_rule["loss_high_month"]] == ["TQ-CN02"]
        assert {districts[i.district_id] for i in by_rule["loss_negative"]} == {"TQ-HX03"}
        assert by_rule["inactive_use"][0].details["status"] == "vacant"
        (dead,) = by_rule["meter_change"]
        assert "final_wh" not in dead.details and dead.details["new_meter"].startswith("H")


def test_the_demo_meter_change_counts_both_meters(engine, clock):
    load_demo_county(engine, now=clock())
    today = beijing_date(clock())
    with read_session(engine) as db:
        changed = db.execute(select(Account).join(Meter, Meter.id == Account.meter_id)
                             .where(Meter.meter_no.startswith("H")).order_by(Account.account_no)).scalars().first()
        spans = installations(db, changed.id)
        assert len(spans) == 2 and spans[0].removed_on == spans[1].installed_on
        across = energy(db, changed.id, spans[1].installed_on - timedelta(days=5), today - timedelta(days=1))
        before = energy(db, changed.id, spans[1].installed_on - timedelta(days=5), spans[1].installed_on)
        after = energy(db, changed.id, spans[1].installed_on, today - timedelta(days=1))
    assert across.total_wh == before.total_wh + after.total_wh and before.total_wh > 0 and after.total_wh > 0
