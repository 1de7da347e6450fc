"""Errors of the billing core.  Every error has a stable ``code`` that the API returns as is.

Expected outcomes (a transfer that already exists, an order already settled) are return values,
not exceptions; these classes are for input that is wrong or states that must not happen.
"""

from __future__ import annotations


class BillingError(Exception):
    """Base of every billing error: ``code`` is stable, ``field`` names the bad input if any."""

    code = "billing_error"

    def __init__(self, message: str, *, field: str | None = None, **params: object) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.message = message
        self.field = field
        self.params = params


class InvalidInput(BillingError):
    code = "invalid_input"

    def __init__(self, field: str, message: str, **params: object) -> None:
        super().__init__(message, field=field, **params)


def require_text(value: object, field: str, what: str, max_chars: int = 400) -> str:
    """A required free-text field (a reason, a note) stripped, or ``InvalidInput`` naming the field."""
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > max_chars:
        raise InvalidInput(field, f"{what} of 1 to {max_chars} characters is required")
    return text


class InvalidAmount(InvalidInput):
    code = "invalid_amount"


class NotFound(BillingError):
    code = "not_found"


class PermissionDenied(BillingError):
    code = "permission_denied"


class RateLimited(BillingError):
    code = "rate_limited"


class TransferConflict(BillingError):
    """The same idempotency key was posted with different fields: a bug or an attack, never retried."""

    code = "transfer_conflict"


class DatabaseUrlInvalid(BillingError):
    code = "database_url_invalid"


class DatabaseUnavailable(BillingError):
    code = "database_unavailable"
