"""The development channel: each message is one line on a stream (stdout by default), delivered at
once.  The address is masked as in every log; the text is not (a developer reads the login code there)."""

from __future__ import annotations

import sys
from typing import TextIO

from billing.privacy import mask_phone
from notifications.channels.base import DELIVERED, Outcome, Outgoing


class ConsoleChannel:
    name = "console"
    batch_size = 100

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def send(self, batch: list[Outgoing]) -> list[Outcome]:
        stream = self._stream or sys.stdout
        for message in batch:
            print(f"[{message.kind}] to {mask_phone(message.address)}: {message.text}", file=stream)
        stream.flush()
        return [Outcome(DELIVERED, provider_ref=f"console-{message.message_id}") for message in batch]
