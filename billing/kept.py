"""Values a process worked out before, by a key that changes whenever they would.

Nothing is ever stale: the key holds everything the value is made from (a fingerprint of the rows
behind it), so a changed row makes a new key and the old entry is simply never asked for again.
Bounded by emptying when full, which costs one recomputation per entry and needs no bookkeeping.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Value = TypeVar("Value")


class Kept(Generic[Value]):
    def __init__(self, most: int) -> None:
        self.most, self.found = most, {}

    def get(self, key: Hashable, make: Callable[[], Value]) -> Value:
        found = self.found.get(key)
        if found is None:
            found = make()
            if len(self.found) >= self.most:
                self.found.clear()
            self.found[key] = found
        return found
