"""Tencent Cloud SMS's wire facts as pure functions, tested without a provider (and shared with its
simulator, which must not import the SDK): the order of a template's parameters, E.164 numbers, and
what an answer's code means for a message: sent, or failed and whether to try again.  A code is Tencent's
(``LimitExceeded.PhoneNumberDailyLimit``) or the SDK's own for a request that got no readable answer
(``ClientNetworkError``: refused or timed out; ``ServerNetworkError``: a non-200 status;
``JSONDecodeError``: a body that is not JSON).
"""

from __future__ import annotations

from string import Formatter

from notifications.channels.base import SENT, Outcome

OK = "Ok"
MAX_NUMBERS = 200  # per SendSms request
MAX_PULL = 100  # reports per PullSmsSendStatus page


def param_order(text: str) -> list[str]:
    """The parameter names of a template's text, in the order Tencent numbers them ({1}, {2} ...):
    the template was registered with Tencent in this order."""
    names = [name for _, name, _, _ in Formatter().parse(text) if name]
    return list(dict.fromkeys(names))


def e164(phone: str) -> str:
    """A mainland mobile number as Tencent wants it."""
    return f"+86{phone}"

# Failures that clear by themselves or once someone acts (a throttle or daily cap lifts, an outage
# ends, a secret is corrected, the SMS package is topped up): the message waits and tries again.
_PASSING = ("LimitExceeded.", "InternalError", "RequestLimitExceeded", "AuthFailure.",
            "FailedOperation.InsufficientBalanceInSmsPackage", "ClientNetworkError", "ServerNetworkError",
            "JSONDecodeError", "ResourceUnavailable")
# LimitExceeded codes that the same request can never pass: too many numbers, a blacklisted region.
_LASTING = ("LimitExceeded.PhoneNumberCountLimit", "LimitExceeded.AppCountryOrRegionInBlacklist")


# No readable answer, or the provider says it is failing: the next request will most likely fare the same.
_OUTAGES = ("ClientNetworkError", "ServerNetworkError", "JSONDecodeError", "InternalError")


def is_outage(code: str) -> bool:
    return code.startswith(_OUTAGES)


def retryable(code: str) -> bool:
    """Whether a later try of the same message can succeed.  Anything else (an invalid number, a
    template that is not approved, parameters that do not fit it, a code we do not know) would be
    refused again: it fails for good at once, with the provider's reason in the log."""
    return code.startswith(_PASSING) and code not in _LASTING


def outcome(code: str, message: str = "", serial_no: str = "") -> Outcome:
    """One number's status (or the whole request's refusal) as the dispatcher records it."""
    if code == OK:
        return Outcome(SENT, provider_ref=serial_no)
    reason = f"{code}: {message}" if message else code
    return Outcome.failed(reason[:200], retry=retryable(code))
