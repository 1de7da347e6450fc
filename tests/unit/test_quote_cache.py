"""The bill run's quote cache returns what ``pricing.quote`` returns, hit or miss, and raises what it raises."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.errors import BillingError
from billing.pricing import QuoteCache, Usage, quote
from billing.tariff_files import BUCKETS, SINGLE, TIERED, TWO_PART, shipped_tariffs

TARIFFS = shipped_tariffs()
CACHE = QuoteCache(size=16)  # small, so that entries are evicted and priced again


@settings(max_examples=300, deadline=None)
@given(wh=st.integers(0, 5_000_000), before=st.integers(0, 6_000_000), month=st.integers(1, 12),
       moved_in=st.integers(0, 40), tariff=st.sampled_from(sorted(TARIFFS)),
       buckets=st.lists(st.integers(0, 400_000), min_size=4, max_size=4))
def test_the_cache_returns_what_quote_returns(wh, before, month, moved_in, tariff, buckets):
    start = date(2026, month, 1)
    end = date(2026 + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    kind = TARIFFS[tariff].kind
    timed = dict(zip(BUCKETS, buckets)) if kind not in (SINGLE, TIERED) else {}
    two_part = {"capacity_kva": 315, "power_factor": Decimal("0.88")} if kind == TWO_PART else {}
    usage = Usage(sum(timed.values()) if timed else wh, timed, before_wh=before,
                  move_in=start - timedelta(days=20) + timedelta(days=moved_in), **two_part)
    try:
        expected = quote(TARIFFS[tariff], start, end, usage, TARIFFS)
    except BillingError as error:
        for _ in range(2):
            with pytest.raises(type(error)):
                CACHE(TARIFFS[tariff], start, end, usage, TARIFFS)
        return
    for _ in range(2):  # a miss, then a hit (unless evicted meanwhile)
        assert CACHE(TARIFFS[tariff], start, end, usage, TARIFFS) == expected
