"""Incidents as finance reads them: one sentence per kind, money in yuan, no internal keys.

The details come from the code that raised the incident (payments/settlement.py for held and
duplicate payments, payments/counter.py for a cash difference, billing/ledger.py for a transfer
conflict); a detail that is missing (an older incident) shows as a dash rather than failing.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, select

from billing.incidents import Incident
from billing.money import format_yuan
from billing.staff import StaffUser
from portal.filters import NAMES
from portal.i18n import gettext as _

MISSING = "—"
HELD_NOTE = "款项暂挂，未入任何户号，等待处理"
SENTENCES = {
    "duplicate_payment": "订单 {out_trade_no} 被重复支付：第二笔 {amount} 元（{channel} {second_txn}）已入账，已提出退款，等待审批",
    "amount_mismatch": "订单 {out_trade_no} 应付 {order} 元，{channel}实收 {reported} 元（交易号 {channel_txn_id}）；" + HELD_NOTE,
    "unknown_order": "{channel}收到 {reported} 元（交易号 {channel_txn_id}），但没有订单 {out_trade_no}；" + HELD_NOTE,
    "wrong_channel": "订单 {out_trade_no} 不是{channel}订单，却收到{channel}付款 {reported} 元（交易号 {channel_txn_id}）；"
                     + HELD_NOTE,
    "wrong_merchant": "收到发给其他商户的{channel}通知（商户号 {merchant_id}，应用 {app_id}）：订单 {out_trade_no}，"
                      "{reported} 元；未入账",
    "cash_difference": "收费员 {cashier} {day} 日终轧账：应收现金 {expected} 元，实点 {counted} 元，{gap}",
    "transfer_conflict": "记账键 {ref} 已记过另一笔账（{existing}），这次的记账（{attempted}）未执行",
}
OTHER = "{kind}（{ref}）"


def describe_all(session: Session, incidents: Iterable[Incident]) -> dict[int, str]:
    """The sentence of each incident, by id."""
    incidents = list(incidents)
    cashier_ids = {i.details.get("cashier_id") for i in incidents if i.kind == "cash_difference"} - {None}
    cashiers = session.exec(select(StaffUser).where(StaffUser.id.in_(cashier_ids))).all() if cashier_ids else []
    names = {cashier.id: cashier.name for cashier in cashiers}
    return {incident.id: describe(incident, names) for incident in incidents}


def describe(incident: Incident, staff_names: dict[int, str]) -> str:
    details = incident.details
    values = {key: MISSING if value is None else value for key, value in details.items() if not key.endswith("_fen")}
    values.update({key.removesuffix("_fen"): _yuan(value) for key, value in details.items() if key.endswith("_fen")})
    channel = incident.ref.split(":", 1)[0]
    values.update(ref=incident.ref, channel=_(NAMES["channel_names"].get(channel, channel)),
                  kind=_(NAMES["incident_kinds"].get(incident.kind, incident.kind)))
    if incident.kind == "cash_difference":
        values.update(cashier=staff_names.get(details.get("cashier_id"), MISSING), gap=_gap(details))
    if incident.kind == "transfer_conflict":
        values.update(existing=_posting(details.get("existing")), attempted=_posting(details.get("attempted")))
    return _(SENTENCES.get(incident.kind, OTHER)).format_map(_Blanks(values))


class _Blanks(dict):
    def __missing__(self, key: str) -> str:
        return MISSING


def _yuan(fen: object) -> str:
    return format_yuan(fen) if isinstance(fen, int) and not isinstance(fen, bool) else MISSING


def _gap(details: dict) -> str:
    expected, counted = details.get("expected_fen"), details.get("counted_fen")
    if not isinstance(expected, int) or not isinstance(counted, int):
        return _("差额 {amount} 元", amount=_yuan(details.get("difference_fen")))
    if counted < expected:
        return _("短款 {amount} 元", amount=format_yuan(expected - counted))
    return _("长款 {amount} 元", amount=format_yuan(counted - expected))


def _posting(posting: object) -> str:
    if not isinstance(posting, dict):
        return MISSING
    return _("{amount} 元，从 {debit} 到 {credit}", amount=_yuan(posting.get("amount_fen")),
             debit=posting.get("debit", MISSING), credit=posting.get("credit", MISSING))
