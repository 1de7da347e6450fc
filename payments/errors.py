"""Errors of the payments layer, each with a stable ``code`` the API returns as is."""

from __future__ import annotations

from billing.errors import BillingError, InvalidInput


class PaymentError(BillingError):
    code = "payment_error"


class NotificationRejected(PaymentError):
    """A notification that failed verification: answered with the channel's 'fail', changes nothing."""

    code = "notification_rejected"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class GatewayError(PaymentError):
    """The channel refused a request (business error) or could not be reached."""

    code = "gateway_error"

    def __init__(self, channel: str, channel_code: str, message: str) -> None:
        super().__init__(f"{channel}: {channel_code}: {message}")
        self.channel, self.channel_code = channel, channel_code


class AlreadyPaid(GatewayError):
    """Closing an order the payer has just paid: query it and settle instead."""

    code = "already_paid"


class GatewayConfigError(PaymentError):
    """A channel setting that is missing or unusable; startup reports it naming the variable."""

    code = "gateway_config"

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(message, field=f"DIANFEI_{setting}")


class OrderNotFound(PaymentError):
    code = "order_not_found"


class InvalidTransition(PaymentError):
    code = "invalid_transition"


class AmountOutOfRange(InvalidInput):
    code = "amount_out_of_range"


class RefundNotAllowed(PaymentError):
    code = "refund_not_allowed"


class DecisionContradicts(InvalidInput):
    """A staff decision that contradicts what was already done with the money; ``field`` names
    the decision."""

    code = "decision_contradicts"


class BulkFileInvalid(InvalidInput):
    """A bulk-payment CSV with bad lines: nothing is applied, every bad line is named."""

    code = "bulk_file_invalid"

    def __init__(self, problems: list[tuple[int, str, dict]]) -> None:
        first = problems[0]
        super().__init__("file", f"line {first[0]}: {first[1]} {first[2]} (and {len(problems) - 1} more)")
        self.problems = problems  # (line number, problem code, values for the message)


class DifferenceClosed(PaymentError):
    """The 对账 difference is no longer open (healed, written off or refunded): nothing changed."""

    code = "difference_closed"


class WriteOffNotAllowed(PaymentError):
    """The difference's class or the write-off's state forbids it: nothing changed."""

    code = "write_off_not_allowed"
