"""The metering head-end (采集主站): the system that talks to smart meters and throws their relays.

Its interface is small JSON over HTTP, with a bearer token:

    POST /v1/switches        {"meter_no", "action": "off"|"on", "order_ref"}
        202 {"ref", "state": "pending"}         accepted; the relay is thrown later
        4xx {"error", "message"}                refused (unknown meter, bad request)
    GET  /v1/switches/<ref>  200 {"ref", "state": "pending"|"confirmed"|"failed", "error"}

``order_ref`` is ours, one per attempt: the head-end answers a repeated one with the switch it
already has, so a retried or duplicated request never throws a relay twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote

import requests

from metering.errors import HeadEndUnavailable

OFF, ON = "off", "on"
PENDING, CONFIRMED, FAILED = "pending", "confirmed", "failed"


@dataclass(frozen=True)
class SwitchAnswer:
    accepted: bool
    ref: str = ""  # the head-end's reference, to ask about the switch by
    error: str = ""


@dataclass(frozen=True)
class StatusAnswer:
    state: str  # pending, confirmed or failed
    error: str = ""


class HeadEnd(Protocol):
    def switch(self, meter_no: str, action: str, order_ref: str) -> SwitchAnswer: ...

    def status(self, ref: str) -> StatusAnswer: ...


class HttpHeadEnd:
    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0) -> None:
        self.base_url, self.timeout = base_url.rstrip("/"), timeout
        self._http = requests.Session()
        self._http.headers["Authorization"] = f"Bearer {token}"

    def switch(self, meter_no: str, action: str, order_ref: str) -> SwitchAnswer:
        status, body = self._call("POST", "/v1/switches",
                                  json={"meter_no": meter_no, "action": action, "order_ref": order_ref})
        if status < 300:
            return SwitchAnswer(True, ref=str(body["ref"]))
        return SwitchAnswer(False, error=f"{body.get('error', status)}: {body.get('message', '')}")

    def status(self, ref: str) -> StatusAnswer:
        status, body = self._call("GET", f"/v1/switches/{quote(ref, safe='')}")  # their ref: never raw in a URL
        if status >= 300 or body.get("state") not in (PENDING, CONFIRMED, FAILED):
            raise HeadEndUnavailable(f"head-end status of {ref}: HTTP {status} {body}"[:200])
        return StatusAnswer(body["state"], body.get("error", ""))

    def _call(self, method: str, path: str, **kwargs) -> tuple[int, dict]:
        """The answer's status and JSON body; an outage (no answer, a 5xx, not JSON) raises."""
        try:
            response = self._http.request(method, self.base_url + path, timeout=self.timeout, **kwargs)
            body = response.json()
        except (requests.RequestException, ValueError) as error:
            raise HeadEndUnavailable(f"head-end {method} {path}: {error}"[:200]) from None
        if response.status_code >= 500 or not isinstance(body, dict):
            raise HeadEndUnavailable(f"head-end {method} {path}: HTTP {response.status_code}"[:200])
        return response.status_code, body
