"""Money at the edges: integer fen inside, yuan strings only where people or gateways want them.

Everything in dianfei carries money as ``int`` fen.  This module is the one place that turns fen
into a yuan string and back, and the one place that rounds (half-up).  Floats are refused on
purpose: ``0.1 + 0.2`` is not ``0.3`` and a bill must add up to the fen.

Sub-fen amounts (a channel's fee of ``0.00600`` 元, a price per kWh) are integer millifen
(1 fen = 1,000 millifen), parsed and formatted here too and kept exact until they are booked.
"""

from __future__ import annotations

import re

from billing.errors import InvalidAmount

MAX_FEN = 2**63 - 1  # SQL BIGINT: the largest amount any total can hold
MILLIFEN_PER_FEN = 1000  # sub-fen amounts (channel fees, prices): 1 元 = 100,000 millifen
# Yuan with at most ``decimals`` places; the integer part is bounded so that the result fits BIGINT.
_FEN, _MILLIFEN = (2, 16), (5, 13)


def _yuan_pattern(decimals: int, int_digits: int) -> re.Pattern:
    return re.compile(rf"(?P<sign>-?)(?P<int>0|[1-9][0-9]{{0,{int_digits - 1}}})(?:\.(?P<frac>[0-9]{{1,{decimals}}}))?")


_PATTERNS = {unit: _yuan_pattern(*unit) for unit in (_FEN, _MILLIFEN)}


def require_fen(value: object, field: str = "amount_fen") -> int:
    """Return ``value`` if it is an integer amount of fen; raise naming ``field`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidAmount(field, f"must be an integer number of fen, got {type(value).__name__}")
    return value


def format_yuan(fen: int) -> str:
    """``12345`` -> ``"123.45"``; always two decimals, sign in front."""
    return _format(require_fen(fen, "fen"), _FEN)


def format_yuan_millifen(millifen: int) -> str:
    """``600`` -> ``"0.00600"``: a sub-fen amount (a channel's fee) always with five decimals."""
    return _format(require_fen(millifen, "millifen"), _MILLIFEN)


def _format(amount: int, unit: tuple[int, int]) -> str:
    decimals = unit[0]
    sign = "-" if amount < 0 else ""
    whole, part = divmod(abs(amount), 10**decimals)
    return f"{sign}{whole}.{part:0{decimals}d}"


def parse_yuan(text: object, field: str = "amount") -> int:
    """``"123.45"`` -> ``12345``.  Accepts at most two decimals; refuses floats and junk."""
    return _parse(text, field, _FEN, "12.30")


def parse_yuan_millifen(text: object, field: str = "amount") -> int:
    """``"0.00600"`` -> ``600`` millifen, exactly: yuan with at most five decimals, as WeChat Pay
    writes its fees (0.6 % of 1 元)."""
    return _parse(text, field, _MILLIFEN, "0.00600")


def _parse(text: object, field: str, unit: tuple[int, int], example: str) -> int:
    if not isinstance(text, str):
        raise InvalidAmount(field, f"must be a yuan string such as '{example}', got {type(text).__name__}")
    match = _PATTERNS[unit].fullmatch(text.strip())
    if match is None:
        raise InvalidAmount(field, f"'{text[:40]}' is not a yuan amount such as '{example}'")
    decimals = unit[0]
    amount = int(match["int"]) * 10**decimals + int((match["frac"] or "").ljust(decimals, "0"))
    return -amount if match["sign"] else amount


def round_half_up(numerator: int, denominator: int) -> int:
    """Integer division rounded half away from zero: the only rounding rule in dianfei."""
    require_fen(numerator, "numerator")
    if isinstance(denominator, bool) or not isinstance(denominator, int) or denominator <= 0:
        raise InvalidAmount("denominator", "must be a positive integer")
    quotient, remainder = divmod(abs(numerator), denominator)
    if remainder * 2 >= denominator:
        quotient += 1
    return -quotient if numerator < 0 else quotient
