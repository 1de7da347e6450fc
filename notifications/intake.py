"""Events into queued messages: the outbox is read after commit, from a cursor, in batches.

Each event of a kind people hear about becomes one message per recipient and channel: the
residents bound to the 户号 (by their preferences: SMS to their phone, WeChat to each openid their
WeChat logins gave us, a template message for the official account's, a subscribe message for the
mini-program's), or, when nobody is bound, the account holder's phone on file.  The message's ``dedupe_key`` names the event, recipient and channel, so reading an
event twice queues nothing twice.

Why the cursor lags: on PostgreSQL event ids are handed out before commit, so a transaction that
commits late can reveal an id below one already read.  The cursor therefore only passes events
older than ``SETTLE_LAG``; younger ones are read again next time and deduplicated.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from billing import dunning_records as dunning, events, supply_order_records as supply
from billing.accounts import Account, Customer
from billing.bills import BILL_ISSUED
from billing.clock import Clock
from billing.daily_settlement import BALANCE_LOW, BALANCE_NEGATIVE
from billing.db import among, insert_ignoring_duplicates, unit_of_work
from billing.errors import BillingError
from billing.events import Event
from billing.money import format_yuan
from billing.residents import Binding, Resident, is_mainland_mobile
from billing.wechat_identities import MINI, OA, openids
from notifications.records import Cursor, Message, Preference
from notifications.schedule import earliest_send
from notifications.templates import ZH, template

CURSOR = "notifications"
WECHAT_CHANNELS = {OA: "wechat_oa", MINI: "wechat_mp"}  # the channel that reaches an app's openids
SETTLE_LAG = timedelta(minutes=5)
BATCH = 2000


def _period(payload: dict) -> dict:
    return {"period": payload["period_start"][:7], "amount": format_yuan(payload["total_fen"]),
            "due_date": payload["due_date"]}


def _bill_due(payload: dict) -> dict:
    return {"amount": format_yuan(payload["amount_fen"]), "due_date": payload["due_date"]}


# event kind -> (message kind, the template's parameters from the event's payload; account_no is added)
MESSAGES: dict[str, tuple[str, Callable[[dict], dict]]] = {
    BILL_ISSUED: ("bill_issued", _period),
    events.PAYMENT_POSTED: ("payment_received", lambda p: {"amount": format_yuan(p["amount_fen"]),
                                                           "balance": format_yuan(p["balance_fen"])}),
    events.LATE_FEE_POSTED: ("late_fee_started", lambda p: {"number": p["number"],
                                                            "amount": format_yuan(p["amount_fen"])}),
    BALANCE_LOW: ("balance_low", lambda p: {"balance": format_yuan(p["balance_fen"]),
                                            "threshold": format_yuan(p["threshold_fen"])}),
    BALANCE_NEGATIVE: ("balance_negative", lambda p: {"balance": format_yuan(-p["balance_fen"])}),
    dunning.DUE_SOON: ("due_soon", _bill_due),
    dunning.OVERDUE: ("overdue", _bill_due),
    dunning.NOTICE: ("disconnection_notice", lambda p: {"amount": format_yuan(p["amount_fen"]),
                                                        "cut_date": p["cut_date"]}),
    dunning.PRE_CUT: ("pre_cut_notice", lambda p: {"amount": format_yuan(p["amount_fen"]), "cut_time": p["cut_time"]}),
    supply.CUT_DONE: ("disconnected", lambda p: {"cut_time": p["cut_time"]}),
    supply.RESTORE_DONE: ("reconnected", lambda p: {"restore_time": p["restore_time"]}),
}


@dataclass(frozen=True)
class Recipient:
    key: str  # resident:<id> or holder:<account id>
    resident_id: int | None
    phone: str
    sms: bool = True
    optional: bool = True
    lang: str = ZH
    wechat: tuple[tuple[str, str], ...] = ()  # (channel, openid) for each WeChat login the resident linked
    quiet: tuple[int, int] | None = None  # the resident's own quiet hours (optional messages)


def take_events(engine: Engine, *, clock: Clock, batch: int = BATCH) -> int:
    """Queue the messages of every event not yet read; the number of events read."""
    position, read = None, 0
    while True:
        with unit_of_work(engine) as session:
            cursor = _cursor(session)
            position = max(position or 0, cursor.event_id)
            now = clock()
            rows = session.exec(select(Event).where(Event.id > position, Event.kind.in_(MESSAGES))
                                .order_by(Event.id).limit(batch)).all()
            if not rows:
                return read
            _queue(session, rows, now)
            cursor.event_id = _settled_up_to(rows, cursor.event_id, now - SETTLE_LAG)
            session.add(cursor)
        position, read = rows[-1].id, read + len(rows)


def _cursor(session: Session) -> Cursor:
    """The cursor row, locked: two consumers take turns (they would only duplicate work, not messages).
    The first consumers ever race to create it: inserting it if missing, then locking it, lets the
    second wait for the first instead of failing on the unique name."""
    session.execute(insert_ignoring_duplicates(session, Cursor.__table__, ["name"]), {"name": CURSOR, "event_id": 0})
    return session.exec(select(Cursor).where(Cursor.name == CURSOR).with_for_update()).one()


def _settled_up_to(rows: list[Event], cursor: int, settled_before: datetime) -> int:
    for row in rows:
        if row.created_at > settled_before:
            break
        cursor = row.id
    return cursor


def _queue(session: Session, rows: list[Event], now: datetime) -> None:
    account_ids = {row.account_id for row in rows if row.account_id is not None}
    numbers = dict(session.exec(select(Account.id, Account.account_no).where(among(session, Account.id, account_ids))).all())
    people = recipients(session, account_ids)
    messages = [message for row in rows if row.account_id in numbers
                for message in _messages(row, numbers[row.account_id], people[row.account_id], now)]
    if messages:
        session.execute(insert_ignoring_duplicates(session, Message.__table__, ["dedupe_key"]), messages)


def _messages(event: Event, account_no: str, people: list[Recipient], now: datetime) -> list[dict]:
    kind, params_of = MESSAGES[event.kind]
    form = template(kind)
    try:
        params, problem = {"account_no": account_no, **params_of(event.data)}, {}
    except (KeyError, TypeError, ValueError, BillingError) as error:  # a payload we cannot read: logged failed
        params, problem = {"account_no": account_no}, {"status": "failed", "error": f"event payload: {error!r}"[:200]}
    return [_row(f"event:{event.id}:{person.key}:{key}", kind, address, person.lang, params, now, channel=channel,
                 urgent=form.urgent, own_quiet=None if form.required else person.quiet,
                 event_id=event.id, account_id=event.account_id, resident_id=person.resident_id,
                 **problem)
            for person in people if person.optional or form.required
            for key, channel, address in _addresses(person)]


def _addresses(person: Recipient) -> list[tuple[str, str, str]]:
    """(dedupe key part, channel, address) of each way the person hears from us."""
    found = [("sms", "sms", person.phone)] if person.sms else []
    return found + [(f"{channel}:{hashlib.sha256(openid.encode()).hexdigest()[:16]}", channel, openid)
                    for channel, openid in person.wechat]


def _row(dedupe_key: str, kind: str, address: str, lang: str, params: dict, now: datetime, *, urgent: bool,
         own_quiet: tuple[int, int] | None = None, channel: str = "sms", **refs) -> dict:
    return {"dedupe_key": dedupe_key, "kind": kind, "channel": channel, "address": address, "lang": lang,
            "params": json.dumps(params, ensure_ascii=False), "status": "queued", "attempts": 0,
            "due_at": earliest_send(now, urgent=urgent, own=own_quiet), "created_at": now, "provider_ref": "", "receipt": "",
            "error": "", "event_id": None, "account_id": None, "resident_id": None, **refs}


def recipients(session: Session, account_ids: set[int]) -> dict[int, list[Recipient]]:
    """Who hears about each account: its bound residents (by SMS and WeChat), else the holder's mainland
    mobile on file."""
    found: dict[int, list[Recipient]] = defaultdict(list)
    bound = session.exec(
        select(Binding.account_id, Resident.id, Resident.phone, Preference)
        .join(Resident, Resident.id == Binding.resident_id)
        .outerjoin(Preference, Preference.resident_id == Resident.id)
        .where(among(session, Binding.account_id, account_ids))).all()
    wechat = openids(session, {resident_id for _, resident_id, _, _ in bound})
    for account_id, resident_id, phone, preference in bound:
        preference = preference or Preference(resident_id=resident_id)
        addresses = tuple((WECHAT_CHANNELS[app], openid) for app, openid in wechat.get(resident_id, ())
                          if preference.wechat)
        found[account_id].append(Recipient(f"resident:{resident_id}", resident_id, phone, preference.sms,
                                           preference.optional, preference.lang, addresses,
                                           (preference.quiet_from_hour, preference.quiet_until_hour)))
    holders = session.exec(select(Account.id, Customer.phone).join(Customer, Customer.id == Account.customer_id)
                           .where(among(session, Account.id, account_ids - found.keys()))).all()
    for account_id, phone in holders:
        if phone and is_mainland_mobile(phone):
            found[account_id].append(Recipient(f"holder:{account_id}", None, phone))
    return found


def queue_direct(session: Session, dedupe_key: str, kind: str, phone: str, params: dict, *, now: datetime,
                 lang: str = ZH) -> None:
    """A message that is not about an event (a login code): queued at once, due now if urgent."""
    form = template(kind)
    form.render(lang, params)  # refuse a missing parameter here, where the caller can say so
    session.execute(insert_ignoring_duplicates(session, Message.__table__, ["dedupe_key"]),
                    [_row(dedupe_key, kind, phone, lang, params, now, urgent=form.urgent)])


