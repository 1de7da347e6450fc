"""Pricing, pure: a period's use at a tariff -> bill lines -> total, to the fen, checkable by hand.

``quote(tariff, start, end, usage)`` prices the days ``start..end`` (both inclusive, Beijing dates).
The period is split where a new version of the tariff takes effect; the use is shared between the
parts by days.  Each line is one multiplication rounded half-up once (``billing.money.round_half_up``)
and carries a stable ``kind``:

    tier_<n>            the kWh of tier n at its price (a resident without 峰谷)
    peak, valley        a 峰谷 resident's kWh at tier 1's prices, and
    tier_<n>_markup     the kWh that fall in tier n >= 2 at that tier's markup over tier 1
    energy              one price for every hour (一般工商业 单一制)
    sharp, peak, flat, valley   尖峰平谷 kWh at their prices
    basic_capacity, basic_demand   基本电费: kVA or kW x price per month x days / days
    power_factor        力调电费: (basic + energy lines of the part) x the table's percentage
    surcharge:<code>    a government fund per kWh, when the tariff lists it apart

Tier thresholds are prorated by the days of the tier period (year or month) that the account is
served between ``move_in`` and ``move_out``; ``Usage.before_wh`` is the use of the tier period before
``start`` (the year's use for annual tiers, the month's for monthly ones).
"""

from __future__ import annotations

import calendar
from functools import lru_cache
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from billing.errors import BillingError, InvalidInput
from billing.money import MILLIFEN_PER_FEN, format_yuan, format_yuan_millifen, round_half_up
from billing.tariff_files import (
    ANNUAL, BUCKETS, SINGLE, TIERED, TWO_PART, Tariff, Tier, Version, find_tariff, power_factor_tables,
)

WH_PER_KWH = 1000
W_PER_KW = 1000
BASIC_MONTH_DAYS = 30  # 供电营业规则: a part month's basic charge is 1/30 of the month's per day served


class PeriodNotCovered(BillingError):
    code = "tariff_period_not_covered"


@dataclass(frozen=True)
class Usage:
    """What was used: total Wh, Wh per TOU bucket (empty: not metered by time of use), and what the
    tier period saw before; for a two-part tariff the capacity or the maximum demand and the power factor."""

    wh: int
    buckets: Mapping[str, int] = field(default_factory=dict)
    before_wh: int = 0
    move_in: date | None = None
    move_out: date | None = None
    capacity_kva: int | None = None
    max_demand_w: int | None = None
    power_factor: Decimal | None = None


@dataclass(frozen=True)
class QuoteLine:
    kind: str
    start: date
    end: date
    amount_fen: int
    wh: int | None = None
    price_millifen_per_kwh: int | None = None
    capacity_kva: int | None = None
    demand_w: int | None = None
    price_millifen_per_month: int | None = None
    days: int | None = None
    of_days: int | None = None
    base_fen: int | None = None
    power_factor: int | None = None  # hundredths
    standard: int | None = None  # hundredths
    percent_hundredths: int | None = None  # -75: 0.75 % off

    def as_dict(self) -> dict:
        """The fields that apply, plus the same figures as people write them (kWh, 元) to check by hand."""
        shown = {key: value.isoformat() if isinstance(value, date) else value
                 for key, value in asdict(self).items() if value is not None}
        if self.wh is not None:
            shown |= {"kwh": f"{self.wh // WH_PER_KWH}.{self.wh % WH_PER_KWH:03d}",
                      "price_yuan_per_kwh": format_yuan_millifen(self.price_millifen_per_kwh)}
        return shown | {"amount_yuan": format_yuan(self.amount_fen)}


@dataclass(frozen=True)
class TierProgress:
    """Where the tier period stands after this period: for the bill's "kWh left in this tier"."""

    period: str
    used_wh: int
    tier: int
    left_in_tier_wh: int | None  # None: the top tier
    thresholds_wh: tuple[int, ...]  # prorated upper bounds of every tier but the last


@dataclass(frozen=True)
class Quote:
    tariff_id: str
    start: date
    end: date
    lines: tuple[QuoteLine, ...]
    tiers: TierProgress | None = None

    @property
    def total_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)

    def as_dict(self) -> dict:
        return {"tariff": self.tariff_id, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "lines": [line.as_dict() for line in self.lines], "total_fen": self.total_fen,
                "total_yuan": format_yuan(self.total_fen),
                **({"tiers": asdict(self.tiers)} if self.tiers else {})}


@dataclass(frozen=True)
class _Part:
    """One stretch of the period under one version, with its share of the use."""

    version: Version
    start: date
    end: date
    wh: int
    buckets: dict[str, int]
    before_wh: int

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def tou_buckets(tariff: Tariff, registers_wh: Mapping[str, int], total_wh: int) -> dict[str, int]:
    """The TOU registers' use, where the tariff prices by them.  A resident's tiers take 峰谷 only
    when the registers are exactly peak and valley and add up; otherwise the total is priced."""
    buckets = {name: wh for name, wh in registers_wh.items() if wh}
    if tariff.kind == SINGLE:
        return {}
    if tariff.kind == TIERED:
        tou = set(tariff.versions[-1].tiers[0].tou)
        return buckets if buckets and set(buckets) <= tou and sum(buckets.values()) == total_wh else {}
    return buckets


def quote(tariff: Tariff | str, start: date, end: date, usage: Usage,
          tariffs: Mapping[str, Tariff] | None = None) -> Quote:
    """Price ``usage`` over ``start..end`` (clipped to the days served) at ``tariff`` (or its id)."""
    if isinstance(tariff, str):
        tariff = find_tariff(tariff, tariffs)
    start, end = _served(start, end, usage)
    _check_usage(tariff, usage)
    parts = _parts(tariff, start, end, usage)
    lines: list[QuoteLine] = []
    for part in parts:
        lines += _part_lines(tariff, part, usage, start, end)
    progress = _progress(tariff, parts[-1], usage) if tariff.kind == TIERED else None
    return Quote(tariff.id, start, end, tuple(lines), progress)


def _served(start: date, end: date, usage: Usage) -> tuple[date, date]:
    if end < start:
        raise InvalidInput("period", f"ends {end} before it starts {start}")
    if usage.move_in and usage.move_out and usage.move_out < usage.move_in:
        raise InvalidInput("move_out", f"{usage.move_out} is before move_in {usage.move_in}")
    first, last = max(start, usage.move_in or start), min(end, usage.move_out or end)
    if last < first:
        raise InvalidInput("period", f"{start}..{end} has no day between move-in and move-out")
    return first, last


def _check_usage(tariff: Tariff, usage: Usage) -> None:
    for name in ("wh", "before_wh"):
        _count(getattr(usage, name), name)
    for bucket, wh in usage.buckets.items():
        if bucket not in BUCKETS:
            raise InvalidInput(f"buckets.{bucket}", f"not a TOU bucket (one of {', '.join(BUCKETS)})")
        _count(wh, f"buckets.{bucket}")
    if usage.buckets and sum(usage.buckets.values()) != usage.wh:
        raise InvalidInput("buckets", f"the TOU buckets add up to {sum(usage.buckets.values())} Wh, not the {usage.wh} Wh used")
    if tariff.kind == SINGLE and usage.buckets:
        raise InvalidInput(f"buckets.{next(iter(usage.buckets))}", f"tariff {tariff.id} has one price for every hour")
    if tariff.kind not in (SINGLE, TIERED) and usage.wh and not usage.buckets:
        raise InvalidInput("buckets", f"tariff {tariff.id} is priced by time of use: give the use per TOU bucket "
                                      f"({', '.join(tariff.versions[-1].prices)})")
    _check_two_part(tariff, usage)


def _check_two_part(tariff: Tariff, usage: Usage) -> None:
    if tariff.kind != TWO_PART:
        given = {"capacity_kva": usage.capacity_kva, "max_demand_w": usage.max_demand_w, "power_factor": usage.power_factor}
        for name in (name for name, value in given.items() if value is not None):
            raise InvalidInput(name, f"tariff {tariff.id} has no basic charge and no power-factor adjustment")
        return
    if (usage.capacity_kva is None) == (usage.max_demand_w is None):
        raise InvalidInput("capacity_kva", f"tariff {tariff.id} charges by capacity (kVA) or by maximum demand (kW): give one")
    _count(usage.capacity_kva if usage.capacity_kva is not None else usage.max_demand_w,
           "capacity_kva" if usage.capacity_kva is not None else "max_demand_w")
    if usage.power_factor is None:
        raise InvalidInput("power_factor", f"tariff {tariff.id} adjusts by power factor: give the period's power factor")
    if not isinstance(usage.power_factor, Decimal) or not Decimal(0) <= usage.power_factor <= Decimal(1):
        raise InvalidInput("power_factor", f"{usage.power_factor} is not a power factor between 0 and 1")


def _count(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(name, f"must be a whole number >= 0, got {value!r}")


def _parts(tariff: Tariff, start: date, end: date, usage: Usage) -> list[_Part]:
    """Split the period at version changes; the use is shared by days (cumulative rounding, so the parts add up)."""
    if tariff.kind == TIERED and _tier_period(tariff, start) != _tier_period(tariff, end):
        raise InvalidInput("period", f"{start}..{end} crosses into a new tier {'year' if tariff.tier_period == ANNUAL else 'month'}:"
                                     " price each side apart")
    if tariff.kind == TWO_PART and (start.year, start.month) != (end.year, end.month):
        raise InvalidInput("period", f"{start}..{end}: a two-part tariff's basic charge is priced one calendar month at a time")
    spans = []
    day = start
    while day <= end:
        version = tariff.version_on(day)
        if version is None:
            raise PeriodNotCovered(f"tariff {tariff.id} has no version in force on {day}", field="period")
        last = min(end, version.effective_to or end)
        spans.append((version, day, last))
        day = last + timedelta(days=1)
    total_days = (end - start).days + 1
    wh = _share(usage.wh, spans, start, total_days)
    buckets = {bucket: _share(value, spans, start, total_days) for bucket, value in usage.buckets.items()}
    parts, before = [], usage.before_wh
    for n, (version, first, last) in enumerate(spans):
        part_buckets = {bucket: shares[n] for bucket, shares in buckets.items()}
        part_wh = sum(part_buckets.values()) if part_buckets else wh[n]
        parts.append(_Part(version, first, last, part_wh, part_buckets, before))
        before += part_wh
    return parts


def _share(wh: int, spans: list, start: date, total_days: int) -> list[int]:
    if len(spans) == 1:
        return [wh]
    cumulative = [round_half_up(wh * ((last - start).days + 1), total_days) for _, _, last in spans]
    return [now - then for then, now in zip([0, *cumulative], cumulative)]


def _part_lines(tariff: Tariff, part: _Part, usage: Usage, start: date, end: date) -> list[QuoteLine]:
    if tariff.kind == TIERED:
        energy = _tier_lines(tariff, part, usage)
    elif tariff.kind == SINGLE:
        energy = [_energy("energy", part, part.wh, part.version.prices["energy"])]
    else:
        energy = [_energy(bucket, part, part.buckets[bucket], _bucket_price(tariff, part, bucket))
                  for bucket in BUCKETS if bucket in part.buckets]
    if tariff.kind == TWO_PART:
        energy.append(_basic(tariff, part, usage, start, end))
        energy.append(_power_factor(part, usage, sum(line.amount_fen for line in energy)))
    surcharges = [_energy(f"surcharge:{surcharge.code}", part, part.wh, surcharge.price)
                  for surcharge in part.version.surcharges]
    return [line for line in energy + surcharges if line.wh != 0]


def _energy(kind: str, part: _Part, wh: int, price: int) -> QuoteLine:
    amount = round_half_up(wh * price, WH_PER_KWH * MILLIFEN_PER_FEN)
    return QuoteLine(kind, part.start, part.end, amount, wh=wh, price_millifen_per_kwh=price)


def _bucket_price(tariff: Tariff, part: _Part, bucket: str) -> int:
    if bucket not in part.version.prices:
        raise InvalidInput(f"buckets.{bucket}", f"tariff {tariff.id} has no {bucket} price "
                                                f"(its buckets: {', '.join(part.version.prices)})")
    return part.version.prices[bucket]


def _tier_lines(tariff: Tariff, part: _Part, usage: Usage) -> list[QuoteLine]:
    tiers = part.version.tiers
    in_tiers = _in_tiers(tiers, _scale(tariff, part.start, usage), part.before_wh, part.wh)
    if not part.buckets:
        return [_energy(f"tier_{tier.number}", part, wh, tier.price) for tier, wh in in_tiers]
    first = tiers[0]
    for bucket in part.buckets:
        if bucket not in first.tou:
            raise InvalidInput(f"buckets.{bucket}", f"tariff {tariff.id} has no {bucket} price "
                                                    f"(峰谷 buckets: {', '.join(first.tou) or 'none'})")
    timed = [_energy(bucket, part, part.buckets[bucket], price) for bucket, price in first.tou.items()
             if bucket in part.buckets]
    return timed + [_energy(f"tier_{tier.number}_markup", part, wh, tier.price - first.price)
                    for tier, wh in in_tiers if tier.number > 1]


def _in_tiers(tiers: tuple[Tier, ...], scale: tuple[int, int], before: int, wh: int) -> list[tuple[Tier, int]]:
    """The Wh of ``before..before + wh`` that fall in each tier, its bounds prorated by ``scale``."""
    shares = []
    for tier in tiers:
        low = _prorate(tier.from_wh, scale)
        high = before + wh if tier.to_wh is None else _prorate(tier.to_wh, scale)
        shares.append((tier, max(0, min(high, before + wh) - max(low, before))))
    return shares


def _prorate(wh: int, scale: tuple[int, int]) -> int:
    served, whole = scale
    return wh if served == whole else round_half_up(wh * served, whole)


def _tier_period(tariff: Tariff, day: date) -> tuple[date, date]:
    if tariff.tier_period == ANNUAL:
        return date(day.year, 1, 1), date(day.year, 12, 31)
    return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _scale(tariff: Tariff, day: date, usage: Usage) -> tuple[int, int]:
    """The share of the tier period (around ``day``) that the account is served: 1 unless it moved in or out."""
    first, last = _tier_period(tariff, day)
    served_first, served_last = max(first, usage.move_in or first), min(last, usage.move_out or last)
    return (served_last - served_first).days + 1, (last - first).days + 1


def _basic(tariff: Tariff, part: _Part, usage: Usage, start: date, end: date) -> QuoteLine:
    """基本电费: a whole month served pays the month (a part of it split by days of that month);
    a part month pays 1/30 of the month's charge per day served."""
    month_days = calendar.monthrange(start.year, start.month)[1]
    whole = start.day == 1 and end.day == month_days
    of_days = month_days if whole else BASIC_MONTH_DAYS
    by_capacity = usage.capacity_kva is not None
    price = part.version.basic_capacity if by_capacity else part.version.basic_demand
    if price is None:
        name = "capacity_kva" if by_capacity else "max_demand_w"
        raise InvalidInput(name, f"tariff {tariff.id} has no basic charge by {'capacity' if by_capacity else 'demand'}")
    if by_capacity:
        amount = round_half_up(usage.capacity_kva * price * part.days, of_days * MILLIFEN_PER_FEN)
        return QuoteLine("basic_capacity", part.start, part.end, amount, capacity_kva=usage.capacity_kva,
                        price_millifen_per_month=price, days=part.days, of_days=of_days)
    amount = round_half_up(usage.max_demand_w * price * part.days, of_days * MILLIFEN_PER_FEN * W_PER_KW)
    return QuoteLine("basic_demand", part.start, part.end, amount, demand_w=usage.max_demand_w,
                    price_millifen_per_month=price, days=part.days, of_days=of_days)


def _power_factor(part: _Part, usage: Usage, base_fen: int) -> QuoteLine:
    """力调电费: the month's power factor to two decimals (half up) looked up in the published table."""
    hundredths = int(usage.power_factor.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) * 100)
    standard = part.version.power_factor_standard
    percent = power_factor_tables()[standard][hundredths]
    return QuoteLine("power_factor", part.start, part.end, round_half_up(base_fen * percent, 10_000), base_fen=base_fen,
                    power_factor=hundredths, standard=standard, percent_hundredths=percent)


def _progress(tariff: Tariff, last: _Part, usage: Usage) -> TierProgress:
    scale = _scale(tariff, last.start, usage)
    used = last.before_wh + last.wh
    thresholds = tuple(_prorate(tier.to_wh, scale) for tier in last.version.tiers[:-1])
    tier = 1 + sum(1 for threshold in thresholds if used > threshold)
    left = thresholds[tier - 1] - used if tier <= len(thresholds) else None
    return TierProgress(tariff.tier_period, used, tier, left, thresholds)


class QuoteCache:
    """``quote`` remembered: the accounts of a bill run share a few tariffs and, often, the same
    use, and ``quote`` is pure, so the same arguments give the same ``Quote`` (errors are not
    remembered: they are raised again).  One cache serves one ``tariffs`` mapping: a tariff is known
    by its id."""

    def __init__(self, size: int = 65_536) -> None:
        self._quote = lru_cache(maxsize=size)(self._priced)
        self._tariffs: dict[str, Tariff] = {}

    def __call__(self, tariff: Tariff, start: date, end: date, usage: Usage,
                 tariffs: Mapping[str, Tariff] | None = None) -> Quote:
        known = self._tariffs.setdefault(tariff.id, tariff)
        if known is not tariff:
            raise ValueError(f"a QuoteCache serves one version of tariff {tariff.id}")
        return self._quote(tariff.id, start, end, usage.wh, tuple(sorted(usage.buckets.items())), usage.before_wh,
                           usage.move_in, usage.move_out, usage.capacity_kva, usage.max_demand_w, usage.power_factor)

    def _priced(self, tariff_id: str, start: date, end: date, wh: int, buckets: tuple, *rest) -> Quote:
        before_wh, move_in, move_out, capacity_kva, max_demand_w, power_factor = rest
        usage = Usage(wh, dict(buckets), before_wh, move_in, move_out, capacity_kva, max_demand_w, power_factor)
        return quote(self._tariffs[tariff_id], start, end, usage)
