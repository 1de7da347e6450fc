"""Errors of the metering layer, each with a stable ``code``."""

from __future__ import annotations

from billing.errors import BillingError


class MeteringError(BillingError):
    code = "metering_error"


class HeadEndUnavailable(MeteringError):
    """The head-end could not be reached or answered something other than its protocol: the order
    is not lost, the worker counts a failed attempt (a send) or asks again later (a status)."""

    code = "head_end_unavailable"
