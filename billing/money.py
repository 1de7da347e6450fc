"""Money at the edges: integer fen inside, yuan strings only where people or gateways want them.

Everything in dianfei carries money as ``int`` fen.  This module is the one place that turns fen
into a yuan string and back, and the one place that rounds (half-up).  Floats are refused on
purpose: ``0.1 + 0.2`` is not ``0.3`` and a bill must add up to the fen.
"""

from __future__ import annotations

import re

from billing.errors import InvalidAmount

MAX_FEN = 2**63 - 1  # SQL BIGINT: the largest amount any total can hold
_YUAN = re.compile(r"^(?P<sign>-?)(?P<int>0|[1-9][0-9]{0,15})(?:\.(?P<frac>[0-9]{1,2}))?$")


def require_fen(value: object, field: str = "amount_fen") -> int:
    """Return ``value`` if it is an integer amount of fen; raise naming ``field`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidAmount(field, f"must be an integer number of fen, got {type(value).__name__}")
    return value


def format_yuan(fen: int) -> str:
    """``12345`` -> ``"123.45"``; always two decimals, sign in front."""
    require_fen(fen, "fen")
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def parse_yuan(text: object, field: str = "amount") -> int:
    """``"123.45"`` -> ``12345``.  Accepts at most two decimals; refuses floats and junk."""
    if not isinstance(text, str):
        raise InvalidAmount(field, f"must be a yuan string such as '12.30', got {type(text).__name__}")
    match = _YUAN.fullmatch(text.strip())
    if match is None:
        raise InvalidAmount(field, f"'{text}' is not a yuan amount such as '12.30'")
    frac = (match["frac"] or "").ljust(2, "0")
    fen = int(match["int"]) * 100 + int(frac)
    return -fen if match["sign"] else fen


def round_half_up(numerator: int, denominator: int) -> int:
    """Integer division rounded half away from zero: the only rounding rule in dianfei."""
    require_fen(numerator, "numerator")
    if isinstance(denominator, bool) or not isinstance(denominator, int) or denominator <= 0:
        raise InvalidAmount("denominator", "must be a positive integer")
    quotient, remainder = divmod(abs(numerator), denominator)
    if remainder * 2 >= denominator:
        quotient += 1
    return -quotient if numerator < 0 else quotient
