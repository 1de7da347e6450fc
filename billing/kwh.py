"""Register values as people type and read them: kWh with at most two decimals, stored as integer Wh.

A meter face shows its registers in kWh to two decimals (10 Wh), as the head-end files do; the
register itself is counted in meter units, the energy is that times the multiplier (倍率).
"""

from __future__ import annotations

import re

from billing.errors import InvalidInput
from billing.money import round_half_up

_KWH = re.compile(r"(?P<int>[0-9]{1,10})(?:\.(?P<frac>[0-9]{1,2}))?", re.ASCII)


def parse_kwh(text: object, field: str) -> int:
    """``"12345.6"`` -> ``12_345_600`` Wh; anything else names ``field``."""
    match = _KWH.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise InvalidInput(field, f"{str(text)[:40]!r} is not a register value in kWh such as '12345.67'")
    return int(match["int"]) * 1000 + int((match["frac"] or "").ljust(2, "0")) * 10


def format_kwh(wh: int) -> str:
    """``12_345_678`` Wh -> ``"12345.68"`` (kWh, half-up to two decimals; negative use keeps its sign)."""
    hundredths = round_half_up(wh, 10)
    whole, part = divmod(abs(hundredths), 100)
    return f"{'-' if hundredths < 0 else ''}{whole}.{part:02d}"
