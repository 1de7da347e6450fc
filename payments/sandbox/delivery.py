"""Notifications from a sandbox gateway to the merchant: one signed HTTP POST, retried on the
channel's own schedule until the merchant acknowledges, on a background thread.

``retry_scale`` shrinks the schedule (0.001 turns WeChat's 15 s into 15 ms) so that tests and the
demo can watch retries happen; 1.0 is the channel's real timing.

The channels sign each delivery when they send it, so every retry goes out signed afresh (a new
timestamp and nonce): a merchant's 5-minute timestamp check must never refuse a genuine retry.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests


@dataclass(frozen=True)
class Delivery:
    url: str
    headers: dict[str, str]
    body: bytes
    resign: Callable[[], Delivery] | None = field(default=None, compare=False, repr=False)

    def again(self) -> Delivery:
        """The same notification as the channel sends it on a retry: signed now."""
        return self.resign() if self.resign else self


@dataclass
class Attempt:
    status: int
    body: str


def post(delivery: Delivery, timeout: float = 10.0) -> Attempt:
    try:
        response = requests.post(delivery.url, data=delivery.body, headers=delivery.headers, timeout=timeout)
    except requests.RequestException as error:
        return Attempt(0, str(error))
    return Attempt(response.status_code, response.text)


@dataclass
class Notifier:
    """Delivers in the background; ``accepted(attempt)`` says whether the merchant acknowledged."""

    schedule_seconds: tuple[float, ...]
    accepted: Callable[[Attempt], bool]
    retry_scale: float = 1.0
    log: list[tuple[Delivery, Attempt]] = field(default_factory=list)
    _pending: int = 0
    _idle: threading.Condition = field(default_factory=threading.Condition)

    def send(self, delivery: Delivery) -> None:
        with self._idle:
            self._pending += 1
        threading.Thread(target=self._run, args=(delivery,), daemon=True).start()

    def _run(self, delivery: Delivery) -> None:
        try:
            for number, wait in enumerate((0.0, *self.schedule_seconds)):
                time.sleep(wait * self.retry_scale)
                if number:
                    delivery = delivery.again()
                attempt = post(delivery)
                with self._idle:
                    self.log.append((delivery, attempt))
                if self.accepted(attempt):
                    return
        finally:
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until every delivery was acknowledged or ran out of retries."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)
