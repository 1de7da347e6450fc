"""What every channel promises the dispatcher.

``send`` takes a batch and answers one ``Outcome`` per message, in order.  A channel never raises
for a provider's refusal or outage: it answers failed outcomes with the provider's reason, and says
whether trying again later can help (throttled, outage) or not (invalid number, refused by user).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

SENT, DELIVERED, FAILED = "sent", "delivered", "failed"


@dataclass(frozen=True)
class Outgoing:
    message_id: int
    address: str  # a mainland mobile number, an openid, ...
    kind: str  # the template's kind: providers register one template code per kind
    lang: str
    params: dict[str, str]
    text: str  # the rendered text, for channels that send text


@dataclass(frozen=True)
class Outcome:
    status: str  # SENT, DELIVERED (the channel knows at once) or FAILED
    provider_ref: str = ""  # the provider's id for the message, to match delivery receipts
    error: str = ""
    retry: bool = False  # FAILED only: a later try may succeed

    @classmethod
    def failed(cls, error: str, *, retry: bool) -> Outcome:
        return cls(FAILED, error=error, retry=retry)


class Channel(Protocol):
    name: str
    batch_size: int

    def send(self, batch: list[Outgoing]) -> list[Outcome]: ...
