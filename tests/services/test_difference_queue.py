"""The exceptions queue against the WeChat Pay sandbox, on both databases: a day with one 长款 a
query heals, one nobody claims (written off), one 短款 (written off), a second payment of one order
(refunded); four eyes on every write-off; the day closed once the queue is empty; a rerun of the
day changes nothing after finance's actions."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from billing import ledger
from billing.audit import AuditEntry
from billing.clock import beijing_date
from billing.db import read_session, unit_of_work
from billing.errors import InvalidInput, NotFound, PermissionDenied
from billing.ledger import Transfer
from billing.staff import StaffUser
from payments import differences, reconciliation, write_offs
from payments.refund_approval import decide_refund
from payments.differences import Filter, NotHealed
from payments.errors import DifferenceClosed, WriteOffNotAllowed
from payments.reconciliation_days import channel_days
from payments.reconciliation_records import Difference, Statement, StatementEntry
from payments.sync import sync
from payments.write_offs import WriteOff
from tests.payment_helpers import acknowledged, balance, booked_without_the_channel, new_account, start_payment
from tests.staff_helpers import add_team


def _staff(engine, username):
    with read_session(engine) as db:
        return db.execute(select(StaffUser.id).where(StaffUser.username == username)).scalar_one()


def _unclaimed(engine, clock, gateways, wechat_sandbox, amount, *, notify):
    """WeChat Pay took money for an order we never placed (another system's, a typo in a QR code)."""
    out_trade_no = f"NOTOURS{amount}"
    wechat_sandbox.register_order(out_trade_no, amount, gateways["wechat"].config.notify_url)
    txn = wechat_sandbox.pay(out_trade_no, notify=False)
    if notify:  # verified, but for no order of ours: held as an incident, in suspense
        assert acknowledged("wechat", wechat_sandbox.deliver(wechat_sandbox.notification(txn)))
    return txn


def _from_file(engine, gateways, day, clock):
    """Match the day's statement as a file: nothing is healed on the way, the queue does it."""
    gateway = gateways["wechat"]
    return reconciliation.reconcile(engine, None, "wechat", day, merchant=gateway.merchant, now=clock(),
                                    data=gateway.statement_file(day) or b"")


def _open(engine):
    with read_session(engine) as db:
        return {(d.kind, d.ref): d for d in differences.queue(db, Filter())}


def _counts(engine):
    with read_session(engine) as db:
        return tuple(db.execute(select(func.count()).select_from(table)).scalar()
                     for table in (Statement, StatementEntry, Difference, Transfer, WriteOff))


def _balances(engine, *codes):
    with read_session(engine) as db:
        return tuple(ledger.balance_fen(db, code) for code in codes)


def _one_short(engine, clock, gateways, fen):
    """A day with one 短款, matched: its difference."""
    day = beijing_date(clock())
    booked_without_the_channel(engine, clock, gateways, "wechat", fen)
    clock.advance(days=1)
    _from_file(engine, gateways, day, clock)
    (difference,) = _open(engine).values()
    return difference


@pytest.fixture
def team(engine):
    add_team(engine)
    return {name: _staff(engine, name) for name in ("finance1", "admin1", "cashier1")}


def test_a_day_worked_to_zero(engine, clock, app, gateways, wechat_sandbox, team):
    day = beijing_date(clock())
    lost_account = new_account(engine, clock)
    lost = start_payment(engine, gateways["wechat"], lost_account, 2550, clock)
    lost_txn = wechat_sandbox.pay(lost.out_trade_no, notify=False)  # the notification never came
    stray_txn = _unclaimed(engine, clock, gateways, wechat_sandbox, 1800, notify=False)
    ghost_txn = booked_without_the_channel(engine, clock, gateways, "wechat", 700)
    payer = new_account(engine, clock)
    twice = start_payment(engine, gateways["wechat"], payer, 5000, clock)
    for _ in range(2):  # one QR code, two phones
        txn = wechat_sandbox.pay(twice.out_trade_no, notify=False)
        assert acknowledged("wechat", wechat_sandbox.deliver(wechat_sandbox.notification(txn)))
    clock.advance(days=1)
    _from_file(engine, gateways, day, clock)
    found = _open(engine)
    assert set(found) == {("channel_only", lost_txn), ("channel_only", stray_txn), ("ledger_only", ghost_txn),
                          ("duplicate_payment", txn)}
    with read_session(engine) as db:
        (wechat_day,) = channel_days(db, day, ["wechat"])
        assert (wechat_day.state, wechat_day.open) == ("open", 4)
        assert [(g.kind, g.count) for g in differences.groups(db, Filter(day=day))] == [
            ("channel_only", 2), ("duplicate_payment", 1), ("ledger_only", 1)]

    # heal: the order queried through the sandbox and settled by its transaction id
    differences.heal(engine, gateways, found[("channel_only", lost_txn)].id, staff_id=team["finance1"], now=clock())
    assert balance(engine, lost_account) == 2550

    # refund: the second payment goes back through the refund path, approved by someone else
    with unit_of_work(engine) as db:
        refund = differences.refund(db, found[("duplicate_payment", txn)].id, staff_id=team["finance1"], now=clock())
    decide_refund(engine, gateways, refund.refund_no, staff_id=team["admin1"], approve=True, now=clock())
    assert wechat_sandbox.wait_idle(10)
    sync(engine, gateways, now=clock(), older_than=timedelta(minutes=5))
    assert balance(engine, payer) == 5000

    # write-offs: 短款 to expense, 长款 to unclaimed revenue, each approved by a second person
    clearing_before = _balances(engine, "clearing:wechat")[0]
    for key, asker, approver in ((("ledger_only", ghost_txn), "finance1", "admin1"),
                                 (("channel_only", stray_txn), "admin1", "finance1")):
        with unit_of_work(engine) as db:
            asked = write_offs.request(db, found[key].id, amount_fen=found[key].amount_fen, reason="查无此款",
                                       staff_id=team[asker], now=clock())
        with unit_of_work(engine) as db:
            write_offs.decide(db, asked.id, staff_id=team[approver], approve=True, now=clock())
    assert _balances(engine, "expense:write_off", "revenue:unclaimed", "clearing:wechat") == (
        700, 1800, clearing_before - 700 + 1800)

    with read_session(engine) as db:
        assert differences.queue(db, Filter(day=day)) == []
        (wechat_day,) = channel_days(db, day, ["wechat"])
        assert (wechat_day.state, wechat_day.differences) == ("closed", 4)
        statuses = {(d.kind, d.ref): (d.status, d.refund_no) for d in differences.queue(db, Filter(status=None))}
        actions = [a for (a,) in db.execute(select(AuditEntry.action).where(AuditEntry.target.like("difference:%")))]
    assert statuses[("duplicate_payment", txn)] == ("refunded", refund.refund_no)
    assert statuses[("channel_only", lost_txn)][0] == "healed"
    assert sorted(actions) == sorted(["heal_difference", "refund_difference"] + 2 * ["request_write_off",
                                                                                      "approve_write_off"])

    before = _counts(engine)  # the day again, now downloaded and healed by query: nothing moves
    again = reconciliation.reconcile(engine, gateways["wechat"], "wechat", day, merchant=gateways["wechat"].merchant,
                                     now=clock())
    assert again.rerun and _counts(engine) == before and _open(engine) == {}


def test_a_held_unknown_order_is_not_healed_by_its_query(engine, clock, app, gateways, wechat_sandbox, team):
    """The query's report is the same inconsistency already held (settle: ``exists``): still open."""
    day = beijing_date(clock())
    txn = _unclaimed(engine, clock, gateways, wechat_sandbox, 990, notify=True)
    clock.advance(days=1)
    result = reconciliation.reconcile(engine, gateways["wechat"], "wechat", day, merchant=gateways["wechat"].merchant,
                                      now=clock())
    assert result.healed == 0
    (difference,) = _open(engine).values()
    assert (difference.kind, difference.ref) == ("channel_only", txn)
    with pytest.raises(NotHealed):
        differences.heal(engine, gateways, difference.id, staff_id=team["finance1"], now=clock())
    with pytest.raises(WriteOffNotAllowed, match="incident"), unit_of_work(engine) as db:
        write_offs.request(db, difference.id, amount_fen=990, reason="x", staff_id=team["finance1"], now=clock())
    assert _open(engine)[("channel_only", txn)].status == "open"
    assert _balances(engine, "suspense:wechat") == (990,)


def test_a_write_off_needs_a_second_person_and_whole_input(engine, clock, app, gateways, team):
    difference = _one_short(engine, clock, gateways, 700)
    asker, now = team["finance1"], clock()
    refused = [
        (InvalidInput, dict(amount_fen=700, reason="  ")),  # write_off_reason
        (InvalidInput, dict(amount_fen=699, reason="查无此款")),  # write_off_amount: the whole difference
        (NotFound, dict(amount_fen=700, reason="查无此款", difference_id=10**12)),
    ]
    for error, fields in refused:
        with pytest.raises(error), unit_of_work(engine) as db:
            write_offs.request(db, fields.pop("difference_id", difference.id), staff_id=asker, now=now, **fields)
    with unit_of_work(engine) as db:
        asked = write_offs.request(db, difference.id, amount_fen=700, reason="查无此款", staff_id=asker, now=now)
    before = _counts(engine)
    with pytest.raises(PermissionDenied), unit_of_work(engine) as db:
        write_offs.decide(db, asked.id, staff_id=asker, approve=True, now=now)
    with pytest.raises(WriteOffNotAllowed), unit_of_work(engine) as db:
        write_offs.request(db, difference.id, amount_fen=700, reason="again", staff_id=team["admin1"], now=now)
    assert _counts(engine) == before and _balances(engine, "expense:write_off") == (0,)
    with unit_of_work(engine) as db:
        write_offs.decide(db, asked.id, staff_id=team["admin1"], approve=False, now=now)
    with unit_of_work(engine) as db:  # asked again after the rejection, approved this time
        again = write_offs.request(db, difference.id, amount_fen=700, reason="核实无误", staff_id=team["admin1"], now=now)
    with unit_of_work(engine) as db:
        write_offs.decide(db, again.id, staff_id=asker, approve=True, now=now)
    with pytest.raises(WriteOffNotAllowed, match="approved"), unit_of_work(engine) as db:  # approved twice
        write_offs.decide(db, again.id, staff_id=team["cashier1"], approve=True, now=now)
    assert _balances(engine, "expense:write_off") == (700,)
    with pytest.raises(DifferenceClosed), unit_of_work(engine) as db:  # and nothing else can be done with it
        differences.refund(db, difference.id, staff_id=asker, now=now)


def test_a_note_is_audited_and_an_empty_one_refused(engine, clock, app, gateways, team):
    difference = _one_short(engine, clock, gateways, 300)
    with pytest.raises(InvalidInput), unit_of_work(engine) as db:
        differences.note(db, difference.id, text=" ", staff_id=team["finance1"], now=clock())
    with unit_of_work(engine) as db:
        differences.note(db, difference.id, text="已致电微信支付客服", staff_id=team["finance1"], now=clock())
    with read_session(engine) as db:
        assert [(entry.action, name) for entry, name in differences.trail(db, difference.id)] == [
            ("note_difference", "finance1")]
