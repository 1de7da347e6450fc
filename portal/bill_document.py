"""A bill as its reader sees it: a plain, frozen view-model that the bill run fills and the PDF (and
the bill page) show.  It holds figures, not layout: integer fen, Wh and millifen per kWh, with the
texts people read (元, kWh, 元/kWh, the line names, the balance in words) made here once, so every
rendering of a bill says the same thing.

The total is the sum of the lines by construction: a bill cannot show a total its lines do not add up to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from billing.bill_explained import Forecast  # the period now running, as billing forecasts it
from billing.errors import InvalidInput
from billing.kwh import format_kwh
from billing.money import format_yuan, format_yuan_millifen


def _(text: str) -> str:
    """Marks a text for portal/translations/en.json; it is translated where it is shown."""
    return text


# The Chinese name of each line kind (billing/pricing.py and the bill run); an unknown kind shows as itself.
LINE_NAMES = {
    "tier_1": _("第一档电费"), "tier_2": _("第二档电费"), "tier_3": _("第三档电费"),
    "tier_2_markup": _("第二档加价"), "tier_3_markup": _("第三档加价"),
    "energy": _("电度电费"),
    "sharp": _("尖峰电费"), "peak": _("高峰电费"), "flat": _("平段电费"), "valley": _("低谷电费"),
    "basic_capacity": _("基本电费（按容量）"), "basic_demand": _("基本电费（按需量）"),
    "power_factor": _("力调电费"),
    "late_fee": _("违约金"),
    "estimate_carry": _("估抄差额结转"),
    "no_use": _("本期无用电"),
}
# A bill that is not (or no longer) issued says so on every rendering; an issued one says nothing.
STATE_WORDS = {"held": _("暂挂待审核，尚未出账"), "cancelled": _("已作废")}
STATE_SENTENCES = {"held": _("这张账单暂挂待审核，尚未出账，暂不需缴费"), "cancelled": _("这张账单已作废，无需缴费")}
SURCHARGE = _("政府性基金及附加")  # a surcharge line the tariff file did not name
READ_SOURCES = {"ami": _("采集"), "manual": _("人工抄表"), "estimated": _("估抄"), "corrected": _("更正")}
BILL_NUMBER = re.compile(r"[0-9]{4}-[0-9]{6,}", re.ASCII)
ACCOUNT_NO = re.compile(r"[0-9]{10}", re.ASCII)


def price_text(millifen_per_kwh: int) -> str:
    """``53_800`` -> ``"0.538"``: 元/kWh exactly, at least two and at most five decimals."""
    whole, _dot, decimals = format_yuan_millifen(millifen_per_kwh).partition(".")
    return f"{whole}.{decimals.rstrip('0').ljust(2, '0')}"


@dataclass(frozen=True)
class DocumentLine:
    """One line of the bill.  ``label`` is the tariff's own name where it has one (a surcharge);
    ``note`` says how a line without kWh was computed (``1000 kVA × 30.00 元/kVA·月``)."""

    kind: str
    amount_fen: int
    wh: int | None = None
    price_millifen_per_kwh: int | None = None
    label: str | None = None
    note: str = ""

    @property
    def name(self) -> str:
        if self.label:
            return self.label
        return SURCHARGE if self.kind.startswith("surcharge:") else LINE_NAMES.get(self.kind, self.kind)

    @property
    def kwh_text(self) -> str:
        return "" if self.wh is None else format_kwh(self.wh)

    @property
    def price_text(self) -> str:
        return "" if self.price_millifen_per_kwh is None else price_text(self.price_millifen_per_kwh)

    @property
    def amount_text(self) -> str:
        return format_yuan(self.amount_fen)


@dataclass(frozen=True)
class ReadUsed:
    """A read the bill used: its Beijing day, the register in Wh, its source (billing/reads.py)."""

    on: date
    meter_no: str
    register_wh: int
    source: str

    @property
    def estimated(self) -> bool:
        return self.source == "estimated"

    @property
    def source_name(self) -> str:
        return READ_SOURCES.get(self.source, self.source)

    @property
    def kwh_text(self) -> str:
        return format_kwh(self.register_wh)


@dataclass(frozen=True)
class TierStanding:
    """Where the tier year (or month, for monthly tiers) stands after this bill."""

    used_wh: int
    tier: int
    left_in_tier_wh: int | None  # None: the top tier, which has no end
    yearly: bool = True
    thresholds_wh: tuple[int, ...] = ()  # upper bounds of every tier but the last, prorated as billed


@dataclass(frozen=True)
class Balance:
    """The account after this bill: ``balance_fen`` > 0 is money in hand (余额), < 0 is owed (欠费);
    ``overdue_days`` counts from the day after the due date of the oldest unpaid bill."""

    balance_fen: int
    overdue_days: int = 0

    @property
    def to_pay_fen(self) -> int:
        return max(0, -self.balance_fen)


@dataclass(frozen=True)
class BillDocument:
    number: str  # 2026-000123, given at issue
    account_no: str
    holder_masked: str  # as billing.privacy.mask_name gives it: 李*荣
    address: str
    period_start: date
    period_end: date
    issue_date: date
    due_date: date
    lines: tuple[DocumentLine, ...]
    reads: tuple[ReadUsed, ...]
    balance: Balance
    tiers: TierStanding | None = None  # None: a tariff without tiers
    forecast: Forecast | None = None  # None: too little history to say
    state: str = "issued"  # held (no number yet: ``number`` is ""), issued or cancelled (billing/bill_records.py)
    reads_kept: bool = True  # False: the bill did not keep its reads, so none listed does not mean none used

    def __post_init__(self) -> None:
        if self.state not in ("issued", *STATE_WORDS):
            raise InvalidInput("state", f"{self.state[:20]!r} is not held, issued or cancelled")
        if (self.number or self.state == "issued") and not BILL_NUMBER.fullmatch(self.number):
            raise InvalidInput("number", f"{self.number[:30]!r} is not a bill number such as '2026-000123'")
        if not ACCOUNT_NO.fullmatch(self.account_no):
            raise InvalidInput("account_no", f"{self.account_no[:30]!r} is not a 10-digit account number")
        if self.period_end < self.period_start:
            raise InvalidInput("period_end", "the period ends before it starts")

    @property
    def total_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)

    @property
    def total_text(self) -> str:
        return format_yuan(self.total_fen)

    @property
    def state_words(self) -> str:
        """"已作废" or "暂挂待审核" (untranslated), or "" for an issued bill."""
        return STATE_WORDS.get(self.state, "")

    @property
    def any_estimated(self) -> bool:
        return any(read.estimated for read in self.reads)

    def balance_words(self) -> tuple[str, dict[str, object]]:
        """The account in one sentence (untranslated, with its values): 余额, 本期应缴 or 欠费 overdue."""
        if self.state in STATE_SENTENCES:  # nothing of a held or cancelled bill is to be paid
            return STATE_SENTENCES[self.state], {}
        owed = {"owed": format_yuan(self.balance.to_pay_fen)}
        if self.balance.balance_fen >= 0:
            return _("余额 {balance} 元，本期电费已从余额中扣除，无需另行缴费"), {"balance": format_yuan(self.balance.balance_fen)}
        if self.balance.overdue_days > 0:
            return _("欠费 {owed} 元，已逾期 {days} 天，违约金按日累计，请尽快缴清"), owed | {"days": self.balance.overdue_days}
        return _("本期应缴 {owed} 元，请于 {due} 前缴清"), owed | {"due": self.due_date.isoformat()}
