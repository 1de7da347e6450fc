"""The delivery log as staff read it: the latest messages, by status or 户号, phones masked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from billing.accounts import Account
from billing.privacy import mask_phone
from notifications.records import Message

SHOWN = 200


@dataclass(frozen=True)
class Logged:
    message: Message
    account_no: str
    address: str  # masked

    @property
    def at(self) -> datetime:
        return self.message.delivered_at or self.message.sent_at or self.message.created_at


def delivery_log(session: Session, *, status: str | None = None, account_no: str | None = None) -> list[Logged]:
    query = (select(Message, Account.account_no).outerjoin(Account, Account.id == Message.account_id)
             .order_by(Message.id.desc()).limit(SHOWN))
    if status:
        query = query.where(Message.status == status)
    if account_no:
        query = query.where(Account.account_no == account_no)
    return [Logged(message, number or "", mask_phone(message.address)) for message, number in session.execute(query)]
