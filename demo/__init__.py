"""The demo county: deterministic generators of accounts, reads, staff and opening balances.

Not part of the billing core; the CLI's ``dianfei demo load`` and the benchmarks use it, production
never needs it (``demo load --reset`` is refused there).
"""
