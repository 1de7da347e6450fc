"""Energy at the edges: integer Wh inside, kWh text (two decimals, as a meter's display and a
head-end file write it) only where people type or read it."""

from __future__ import annotations

import re

from billing.errors import InvalidInput

WH_PER_KWH = 1000
MAX_KWH_DIGITS = 12  # far above any register; keeps the Wh inside BIGINT
_KWH = re.compile(rf"(?P<int>0|[1-9][0-9]{{0,{MAX_KWH_DIGITS - 1}}})(?:\.(?P<frac>[0-9]{{1,2}}))?")


def parse_kwh(text: object, field: str) -> int:
    """``"12345.67"`` -> ``12_345_670`` Wh; at most two decimals, never negative."""
    match = _KWH.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise InvalidInput(field, f"{str(text)[:40]!r} is not a reading in kWh such as '12345.67'")
    return int(match["int"]) * WH_PER_KWH + int((match["frac"] or "").ljust(2, "0")) * 10


def format_kwh(wh: int | None) -> str:
    """``12_345_670`` -> ``"12345.67"`` (to the hundredth, as meters show it); None -> ``""``."""
    if wh is None:
        return ""
    sign = "-" if wh < 0 else ""
    whole, part = divmod(abs(wh), WH_PER_KWH)
    return f"{sign}{whole}.{part // 10:02d}"
