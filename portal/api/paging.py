"""Pages of a list in a stable order: ``limit`` (at most ``MAX_LIMIT``) and an opaque ``cursor``.

The cursor names the last item of the page before (by its id), so a page stays the same when newer
items arrive at the head of a newest-first list.  It is opaque to the caller: base64 of ``after:<id>``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import TypeVar

from flask import request

from billing.errors import InvalidInput

DEFAULT_LIMIT, MAX_LIMIT = 20, 100
T = TypeVar("T")


def _limit() -> int:
    text = request.args.get("limit", "")
    if not text:
        return DEFAULT_LIMIT
    if not (text.isascii() and text.isdigit() and len(text) <= 4 and 1 <= int(text) <= MAX_LIMIT):
        raise InvalidInput("limit", f"an integer from 1 to {MAX_LIMIT}", maximum=MAX_LIMIT)
    return int(text)


def encode(item_id: int) -> str:
    return base64.urlsafe_b64encode(f"after:{item_id}".encode()).decode().rstrip("=")


def _after() -> str | None:
    cursor = request.args.get("cursor", "")
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith("after:") or not text[6:].isdigit() or len(text) > 40:
        raise InvalidInput("cursor", "not a cursor this list gave out")
    return text[6:]


def page(items: Sequence[T], key: Callable[[T], int], shape: Callable[[T], dict]) -> dict:
    """``{"items": [...], "next_cursor": str | null}`` for the page the request asks for."""
    limit, after = _limit(), _after()
    start = 0
    if after is not None:
        found = next((index for index, item in enumerate(items) if str(key(item)) == after), None)
        if found is None:
            raise InvalidInput("cursor", "not a cursor this list gave out")
        start = found + 1
    chosen = items[start:start + limit]
    more = start + limit < len(items)
    return {"items": [shape(item) for item in chosen], "next_cursor": encode(key(chosen[-1])) if more else None}
