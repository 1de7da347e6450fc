"""Hypothesis: any sequence of postings (with repeated keys) leaves the ledger as a simple model
predicts: first post of a key creates, a repeat exists, a changed repeat conflicts and changes nothing."""

import uuid

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from billing import ledger
from billing.db import read_session, unit_of_work
from billing.errors import TransferConflict
from billing.ledger import Posting

ACCOUNTS = 4
operations = st.lists(
    st.tuples(
        st.integers(0, 5),  # key
        st.integers(0, ACCOUNTS - 1),  # debit
        st.integers(1, ACCOUNTS - 1),  # offset to credit, never zero
        st.integers(1, 10**9),  # amount
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_ledger_matches_model(engine, clock, ops):
    prefix = uuid.uuid4().hex[:8]
    codes = [f"customer:{prefix}{n}" for n in range(ACCOUNTS)]
    with unit_of_work(engine) as db:
        for code in codes:
            ledger.open_ledger_account(db, code, ledger.LIABILITY)
    posted, balances = {}, dict.fromkeys(codes, 0)
    for key_index, debit, offset, amount in ops:
        posting = Posting(f"{prefix}:{key_index}", codes[debit], codes[(debit + offset) % ACCOUNTS], amount, "test")
        previous = posted.get(posting.key)
        if previous is not None and previous != posting:
            with pytest.raises(TransferConflict):
                with unit_of_work(engine) as db:
                    ledger.post(db, posting, at=clock())
            continue
        with unit_of_work(engine) as db:
            status = ledger.post(db, posting, at=clock()).status
        assert status == ("exists" if previous else "created")
        if previous is None:
            posted[posting.key] = posting
            balances[posting.debit] -= amount
            balances[posting.credit] += amount
    with read_session(engine) as db:
        assert {code: ledger.balance_fen(db, code) for code in codes} == balances
        assert ledger.check_invariants(db) == []
