"""A 对账 difference's evidence as finance reads it: the JSON kept when it was found (the statement
line, our order, the transfers, the notifications and queries received) turned into labelled rows,
times in Beijing, codes by their names.  Evidence written by an older version may lack a part: it
is shown as absent, never as an error."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from billing.clock import to_beijing
from billing.money import format_yuan
from portal.filters import name_of
from portal.i18n import gettext as _


@dataclass(frozen=True)
class Evidence:
    line: list[tuple[str, str]] = field(default_factory=list)  # (label, value)
    order: list[tuple[str, str]] = field(default_factory=list)
    transfers: list[dict[str, str]] = field(default_factory=list)
    notifications: list[dict[str, str]] = field(default_factory=list)


def beijing_text(value: object) -> str:
    """A stored instant (ISO text; without a zone it is UTC, as stored) as Beijing time; other text as is."""
    if not value:
        return ""
    try:
        instant = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return to_beijing(instant if instant.tzinfo else instant.replace(tzinfo=UTC)).strftime("%Y-%m-%d %H:%M:%S")


def _yuan(fen: object) -> str:
    return f"¥{format_yuan(fen)}" if isinstance(fen, int) else ""


def read(evidence_json: str) -> Evidence:
    try:
        found = json.loads(evidence_json or "{}")
    except ValueError:
        found = {}
    found = found if isinstance(found, dict) else {}
    line, order = found.get("statement_line") or {}, found.get("order") or {}
    return Evidence(
        line=[(_("类型"), name_of("line_kinds", line.get("kind"))), (_("渠道交易号"), line.get("channel_txn_id", "")),
              (_("商户订单号"), line.get("out_trade_no", "")), (_("退款单号"), line.get("refund_no", "")),
              (_("金额"), _yuan(line.get("amount_fen"))), (_("时间"), beijing_text(line.get("at")))] if line else [],
        order=[(_("商户订单号"), order.get("out_trade_no", "")), (_("状态"), name_of("order_states", order.get("state"))),
               (_("金额"), _yuan(order.get("amount_fen"))), (_("下单时间"), beijing_text(order.get("created_at"))),
               (_("支付时间"), beijing_text(order.get("paid_at"))),
               (_("渠道交易号"), order.get("channel_txn_id") or "")] if order else [],
        transfers=[{"key": t.get("key", ""), "code": name_of("transfer_codes", t.get("code")),
                    "amount": _yuan(t.get("amount_fen")), "at": beijing_text(t.get("posted_at"))}
                   for t in found.get("transfers") or []],
        notifications=[{"txn": n.get("channel_txn_id", ""), "source": name_of("report_sources", n.get("source")),
                        "amount": _yuan(n.get("amount_fen")), "at": beijing_text(n.get("at")),
                        "outcome": name_of("payment_outcomes", n.get("outcome"))}
                       for n in found.get("notifications") or []],
    )


def action_detail(after_json: str) -> str:
    """What an audited action said: a note's text, a write-off's reason, a refund's number."""
    try:
        after = json.loads(after_json or "null")
    except ValueError:
        return ""
    after = after if isinstance(after, dict) else {}
    return str(after.get("note") or after.get("reason") or after.get("refund_no") or "")
