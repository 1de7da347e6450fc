"""Tariffs as versioned data: ``billing/tariffs/<id>.toml``, checked whole when loaded.

A tariff file holds an id (its file name), a kind and a list of versions, each effective from a date
to the day before the next one starts (the last may stay open).  Prices are yuan strings with at most
five decimals ("0.538"), kept exact as integer millifen per kWh.  Anything wrong (an unknown key, a
negative price, overlapping tiers, a gap or an overlap between versions) refuses the file with an
error naming the file and the key, such as ``zj-residential.toml: versions[0].tiers[1].from_kwh``.
The power-factor table (力调电费) is data too: ``billing/tariffs/tables/power_factor.toml``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

from billing.accounts import CATEGORIES
from billing.errors import BillingError, InvalidAmount, NotFound
from billing.money import parse_yuan_millifen

TARIFF_FOLDER = Path(__file__).with_name("tariffs")
POWER_FACTOR_FILE = TARIFF_FOLDER / "tables" / "power_factor.toml"
TIERED, SINGLE, TOU, TWO_PART = "tiered", "single", "tou", "two_part"
ANNUAL, MONTHLY = "annual", "monthly"
BUCKETS = ("sharp", "peak", "flat", "valley")  # 尖峰平谷, the meter's TOU registers
RESIDENT_BUCKETS = ("peak", "valley")  # a resident's 峰谷 prices per tier
_HEAD_KEYS = {"id", "name", "category", "kind", "tier_period", "source", "versions"}
_VERSION_KEYS = {
    TIERED: {"tiers"},
    SINGLE: {"price"},
    TOU: {"prices"},
    TWO_PART: {"prices", "basic_capacity", "basic_demand", "power_factor_standard"},
}
_TIER_KEYS = {"from_kwh", "to_kwh", "price", *RESIDENT_BUCKETS}
_SURCHARGE_KEYS = {"code", "name", "price"}


class TariffFileInvalid(BillingError):
    """A tariff file that cannot be used: ``file`` and ``key`` say where."""

    code = "tariff_file_invalid"

    def __init__(self, file: Path, key: str, message: str) -> None:
        super().__init__(message, field=key, file=file.name)
        self.file, self.key = file, key
        self.args = (f"{file.name}: {key}: {message}" if key else f"{file.name}: {message}",)


class TariffNotFound(NotFound):
    code = "tariff_not_found"


@dataclass(frozen=True)
class Tier:
    """Use above ``from_wh`` up to ``to_wh`` (None: no ceiling) of the tier period, at ``price``."""

    number: int
    from_wh: int
    to_wh: int | None
    price: int  # millifen per kWh
    tou: dict[str, int]  # bucket -> millifen per kWh; empty when the tariff has no 峰谷 prices


@dataclass(frozen=True)
class Surcharge:
    code: str
    name: str
    price: int  # millifen per kWh


@dataclass(frozen=True)
class Version:
    effective_from: date
    effective_to: date | None  # inclusive; None: until further notice
    tiers: tuple[Tier, ...] = ()
    prices: dict[str, int] | None = None  # "energy" for a single price, else TOU bucket -> millifen
    basic_capacity: int | None = None  # millifen per kVA and month
    basic_demand: int | None = None  # millifen per kW and month
    power_factor_standard: int | None = None  # hundredths: 90 for 0.90
    surcharges: tuple[Surcharge, ...] = ()

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


@dataclass(frozen=True)
class Tariff:
    id: str
    name: str
    category: str
    kind: str
    tier_period: str | None
    versions: tuple[Version, ...]

    def version_on(self, day: date) -> Version | None:
        return next((version for version in self.versions if version.covers(day)), None)


class _File:
    """Reads one TOML file and names its own keys in every complaint."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, message: str) -> TariffFileInvalid:
        return TariffFileInvalid(self.path, key, message)

    def read(self) -> dict:
        try:
            return tomllib.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as error:
            raise self.fail("", f"cannot read: {error}") from None
        except tomllib.TOMLDecodeError as error:
            raise self.fail("", f"not valid TOML: {error}") from None

    def keys(self, table: object, key: str, allowed: set[str], required: set[str]) -> dict:
        if not isinstance(table, dict):
            raise self.fail(key, "must be a table")
        where = f"{key}." if key else ""
        for name in table:
            if name not in allowed:
                raise self.fail(f"{where}{name}", f"unknown key (expected one of {', '.join(sorted(allowed))})")
        for name in sorted(required - table.keys()):
            raise self.fail(f"{where}{name}", "missing")
        return table

    def text(self, value: object, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "must be a non-empty string")
        return value

    def one_of(self, value: object, key: str, allowed: tuple[str, ...]) -> str:
        if value not in allowed:
            raise self.fail(key, f"{value!r} is not one of {', '.join(allowed)}")
        return value

    def price(self, value: object, key: str) -> int:
        """A yuan string such as "0.538" -> millifen; floats are refused (TOML floats are binary)."""
        if not isinstance(value, str):
            raise self.fail(key, f"write the price as a string such as \"0.538\", got {value!r}")
        try:
            millifen = parse_yuan_millifen(value, key)
        except InvalidAmount:
            raise self.fail(key, f"{value!r} is not a price in yuan with at most 5 decimals such as \"0.538\"") from None
        if millifen < 0:
            raise self.fail(key, f"negative price {value}")
        return millifen

    def decimal(self, value: object, key: str, places: int) -> Decimal:
        try:
            number = Decimal(value) if isinstance(value, str) else None
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or number != round(number, places):
            raise self.fail(key, f"{value!r} must be a decimal string with at most {places} decimals")
        return number

    def day(self, value: object, key: str) -> date:
        if type(value) is not date:
            raise self.fail(key, f"must be a date written as 2026-01-01, got {value!r}")
        return value

    def kwh(self, value: object, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(key, f"must be a whole number of kWh >= 0, got {value!r}")
        return value * 1000


def load_tariff(path: Path) -> Tariff:
    """One tariff file, checked whole."""
    file = _File(path)
    data = file.keys(file.read(), "", _HEAD_KEYS, {"id", "name", "category", "kind", "versions"})
    tariff_id = file.text(data["id"], "id")
    if tariff_id != path.stem:
        raise file.fail("id", f"{tariff_id!r} must be the file's name {path.stem!r}")
    kind = file.one_of(data["kind"], "kind", tuple(_VERSION_KEYS))
    tier_period = None
    if kind == TIERED:
        tier_period = file.one_of(data.get("tier_period"), "tier_period", (ANNUAL, MONTHLY))
    elif "tier_period" in data:
        raise file.fail("tier_period", f"only a {TIERED} tariff has a tier period")
    versions = data["versions"]
    if not isinstance(versions, list) or not versions:
        raise file.fail("versions", "must list at least one version ([[versions]])")
    loaded = tuple(_version(file, kind, table, f"versions[{n}]") for n, table in enumerate(versions))
    _check_dates(file, loaded)
    return Tariff(tariff_id, file.text(data["name"], "name"), file.one_of(data["category"], "category", CATEGORIES),
                  kind, tier_period, loaded)


def _version(file: _File, kind: str, table: object, key: str) -> Version:
    required = _VERSION_KEYS[kind] - {"basic_capacity", "basic_demand"}
    table = file.keys(table, key, {"effective_from", "effective_to", "surcharges", *_VERSION_KEYS[kind]},
                      {"effective_from", *required})
    end = table.get("effective_to")
    version = Version(
        effective_from=file.day(table["effective_from"], f"{key}.effective_from"),
        effective_to=None if end is None else file.day(end, f"{key}.effective_to"),
        tiers=_tiers(file, table["tiers"], f"{key}.tiers") if kind == TIERED else (),
        prices=_prices(file, kind, table, key),
        surcharges=_surcharges(file, table.get("surcharges", []), f"{key}.surcharges"),
        **(_two_part(file, table, key) if kind == TWO_PART else {}),
    )
    if version.effective_to is not None and version.effective_to < version.effective_from:
        raise file.fail(f"{key}.effective_to", f"{version.effective_to} is before effective_from {version.effective_from}")
    return version


def _prices(file: _File, kind: str, table: dict, key: str) -> dict[str, int] | None:
    if kind == SINGLE:
        return {"energy": file.price(table["price"], f"{key}.price")}
    if kind not in (TOU, TWO_PART):
        return None
    prices = file.keys(table["prices"], f"{key}.prices", set(BUCKETS), set())
    if len(prices) < 2:
        raise file.fail(f"{key}.prices", f"a TOU tariff prices at least two of {', '.join(BUCKETS)}")
    return {bucket: file.price(prices[bucket], f"{key}.prices.{bucket}") for bucket in BUCKETS if bucket in prices}


def _two_part(file: _File, table: dict, key: str) -> dict:
    basis = {name: file.price(table[name], f"{key}.{name}") for name in ("basic_capacity", "basic_demand") if name in table}
    if not basis:
        raise file.fail(f"{key}.basic_capacity", "a two-part tariff needs basic_capacity or basic_demand (or both)")
    standard = file.decimal(table["power_factor_standard"], f"{key}.power_factor_standard", 2)
    hundredths = int(standard * 100)
    if hundredths not in power_factor_tables():
        raise file.fail(f"{key}.power_factor_standard",
                        f"{standard} has no table (known: {', '.join(f'0.{n}' for n in power_factor_tables())})")
    return basis | {"power_factor_standard": hundredths}


def _tiers(file: _File, tiers: object, key: str) -> tuple[Tier, ...]:
    if not isinstance(tiers, list) or not tiers:
        raise file.fail(key, "must list the tiers ([[versions.tiers]])")
    loaded: list[Tier] = []
    for n, table in enumerate(tiers):
        where = f"{key}[{n}]"
        table = file.keys(table, where, _TIER_KEYS, {"from_kwh", "price"})
        low = file.kwh(table["from_kwh"], f"{where}.from_kwh")
        high = None if "to_kwh" not in table else file.kwh(table["to_kwh"], f"{where}.to_kwh")
        expected = loaded[-1].to_wh if loaded else 0
        if low != expected:
            what = "overlaps the tier before" if low < expected else "leaves a gap after the tier before"
            raise file.fail(f"{where}.from_kwh", f"{low // 1000} {what}: it must start at {expected // 1000} kWh")
        if high is not None and high <= low:
            raise file.fail(f"{where}.to_kwh", f"{high // 1000} must be above from_kwh {low // 1000}")
        if high is None and n < len(tiers) - 1:
            raise file.fail(f"{where}.to_kwh", "missing: only the last tier is open-ended")
        if high is not None and n == len(tiers) - 1:
            raise file.fail(f"{where}.to_kwh", "the last tier must be open-ended (no to_kwh)")
        tou = {bucket: file.price(table[bucket], f"{where}.{bucket}") for bucket in RESIDENT_BUCKETS if bucket in table}
        loaded.append(Tier(n + 1, low, high, file.price(table["price"], f"{where}.price"), tou))
    _check_markups(file, loaded, key)
    return tuple(loaded)


def _check_markups(file: _File, tiers: list[Tier], key: str) -> None:
    """峰谷 prices go on every tier or none, and a tier adds the same markup to every price of tier 1
    (the national rule: 第二档、第三档 add to the 峰 and 谷 prices alike).  A 峰谷 bill then prices
    its peak and valley kWh at tier 1 and shows each higher tier as its own markup line."""
    first = tiers[0]
    for n, tier in enumerate(tiers):
        if tier.tou.keys() != first.tou.keys():
            missing = sorted(set(RESIDENT_BUCKETS) - tier.tou.keys()) or sorted(set(RESIDENT_BUCKETS) - first.tou.keys())
            raise file.fail(f"{key}[{n}].{missing[0]}", "峰谷 prices must be on every tier or on none")
        markup = tier.price - first.price
        for bucket, price in tier.tou.items():
            if price - first.tou[bucket] != markup:
                raise file.fail(f"{key}[{n}].{bucket}", f"adds {price - first.tou[bucket]} millifen to tier 1 but the "
                                                        f"tier price adds {markup}: a tier's markup must be the same")


def _surcharges(file: _File, surcharges: object, key: str) -> tuple[Surcharge, ...]:
    if not isinstance(surcharges, list):
        raise file.fail(key, "must be a list of tables ([[versions.surcharges]])")
    loaded = []
    for n, table in enumerate(surcharges):
        where = f"{key}[{n}]"
        table = file.keys(table, where, _SURCHARGE_KEYS, _SURCHARGE_KEYS)
        code = file.text(table["code"], f"{where}.code")
        if not code.isascii() or not code.replace("_", "").isalnum() or code in {s.code for s in loaded}:
            raise file.fail(f"{where}.code", f"{code!r} must be a new code of letters, digits and _")
        loaded.append(Surcharge(code, file.text(table["name"], f"{where}.name"), file.price(table["price"], f"{where}.price")))
    return tuple(loaded)


def _check_dates(file: _File, versions: tuple[Version, ...]) -> None:
    """Versions follow each other without a gap or an overlap: each starts the day after the one before ends."""
    for n, (before, after) in enumerate(zip(versions, versions[1:]), start=1):
        if before.effective_to is None:
            raise file.fail(f"versions[{n - 1}].effective_to", "missing: only the last version is open-ended")
        expected = before.effective_to + timedelta(days=1)
        if after.effective_from < expected:
            raise file.fail(f"versions[{n}].effective_from",
                            f"{after.effective_from} overlaps versions[{n - 1}] (in force until {before.effective_to})")
        if after.effective_from > expected:
            raise file.fail(f"versions[{n}].effective_from",
                            f"{after.effective_from} leaves a gap: no version covers {expected}.."
                            f"{after.effective_from - timedelta(days=1)}")


def load_tariffs(folder: Path = TARIFF_FOLDER) -> dict[str, Tariff]:
    """Every ``*.toml`` in ``folder``, by id; the first bad file refuses the lot."""
    return {tariff.id: tariff for tariff in map(load_tariff, sorted(folder.glob("*.toml")))}


@cache
def shipped_tariffs() -> dict[str, Tariff]:
    return load_tariffs()


def find_tariff(tariff_id: str, tariffs: Mapping[str, Tariff] | None = None) -> Tariff:
    tariffs = shipped_tariffs() if tariffs is None else tariffs
    if tariff_id not in tariffs:
        raise TariffNotFound(f"unknown tariff {tariff_id!r} (known: {', '.join(sorted(tariffs))})", field="tariff")
    return tariffs[tariff_id]


@cache
def power_factor_tables(path: Path = POWER_FACTOR_FILE) -> dict[int, dict[int, int]]:
    """standard (hundredths) -> power factor (hundredths, 0..100) -> adjustment in hundredths of a percent."""
    file = _File(path)
    standards = file.keys(file.read(), "", {"standards"}, {"standards"})["standards"]
    tables = {}
    for n, table in enumerate(standards if isinstance(standards, list) else [None]):
        key = f"standards[{n}]"
        table = file.keys(table, key, {"power_factor", "segments"}, {"power_factor", "segments"})
        tables[int(file.decimal(table["power_factor"], f"{key}.power_factor", 2) * 100)] = _pf_rows(
            file, table["segments"], f"{key}.segments")
    return tables


def _pf_rows(file: _File, segments: object, key: str) -> dict[int, int]:
    rows: dict[int, int] = {}
    expected = 100
    for n, segment in enumerate(segments if isinstance(segments, list) else [None]):
        where = f"{key}[{n}]"
        fields = {"from", "to", "percent", "step"}
        segment = file.keys(segment, where, fields, fields)
        high, low = (int(file.decimal(segment[name], f"{where}.{name}", 2) * 100) for name in ("from", "to"))
        if high != expected or low > high:
            raise file.fail(f"{where}.from", f"must start at 0.{expected:02d} and not end above it "
                                             "(segments run from 1.00 down to 0.00)")
        percent, step = (int(file.decimal(segment[name], f"{where}.{name}", 2) * 100) for name in ("percent", "step"))
        rows |= {power_factor: percent + (high - power_factor) * step for power_factor in range(high, low - 1, -1)}
        expected = low - 1
    if expected != -1:
        raise file.fail(key, f"ends at 0.{expected + 1:02d}: the table must reach 0.00")
    return rows
