"""A local simulator of the metering head-end (the demo and the tests), speaking the protocol of
``metering.head_end`` on a real loopback port.

It throws relays the way a head-end over a concentrator does: a switch is accepted at once and
its outcome known only later.  Knobs for the tests and the demo:

- ``late_polls``: status asks answered ``pending`` before the outcome shows (a late confirmation);
- ``failing``: meters whose relay does not respond (their switches fail);
- ``outage``: every request answered 503 (the head-end is down).

``relays`` shows each meter's relay as last confirmed, so a test can see the meter itself.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from metering.head_end import CONFIRMED, FAILED, OFF, ON, PENDING


@dataclass
class _Switch:
    ref: str
    meter_no: str
    action: str
    outcome: str  # what the relay did, revealed after ``polls_left`` asks
    polls_left: int
    error: str = ""


class HeadEndSandbox:
    def __init__(self, token: str = "sandbox-head-end", *, late_polls: int = 0) -> None:
        self.token, self.late_polls = token, late_polls
        self.failing: set[str] = set()
        self.outage = False
        self.relays: dict[str, str] = {}
        self.switches: dict[str, _Switch] = {}  # by the head-end's ref
        self._by_order: dict[str, str] = {}  # our order_ref -> the head-end's ref
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.url = "http://127.0.0.1:0"  # until serve()

    def serve(self, port: int = 0) -> HeadEndSandbox:
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         name="head-end-sandbox", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def answer(self, method: str, path: str, token: str, body: dict) -> tuple[int, dict]:
        if self.outage:
            return 503, {"error": "unavailable", "message": "head-end maintenance"}
        if token != f"Bearer {self.token}":
            return 401, {"error": "unauthorized", "message": "bad or missing token"}
        with self._lock:
            if method == "POST" and path == "/v1/switches":
                return self._switch(body)
            if method == "GET" and path.startswith("/v1/switches/"):
                return self._status(path.removeprefix("/v1/switches/"))
        return 404, {"error": "not_found", "message": path}

    def _switch(self, body: dict) -> tuple[int, dict]:
        meter_no, action, order_ref = (str(body.get(key, "")) for key in ("meter_no", "action", "order_ref"))
        if not meter_no or action not in (OFF, ON) or not order_ref:
            return 400, {"error": "bad_request", "message": "meter_no, action (off|on) and order_ref are required"}
        if order_ref not in self._by_order:  # a repeated order_ref is the same switch, thrown once
            ref = f"HE{len(self.switches) + 1:08d}"
            failed = meter_no in self.failing
            self.switches[ref] = _Switch(ref, meter_no, action, FAILED if failed else CONFIRMED, self.late_polls,
                                         "relay did not respond" if failed else "")
            self._by_order[order_ref] = ref
        return 202, {"ref": self._by_order[order_ref], "state": PENDING}

    def _status(self, ref: str) -> tuple[int, dict]:
        switch = self.switches.get(ref)
        if switch is None:
            return 404, {"error": "not_found", "message": f"no switch {ref}"}
        if switch.polls_left:
            switch.polls_left -= 1
            return 200, {"ref": ref, "state": PENDING, "error": ""}
        if switch.outcome == CONFIRMED:
            self.relays[switch.meter_no] = switch.action
        return 200, {"ref": ref, "state": switch.outcome, "error": switch.error}


def _handler(sandbox: HeadEndSandbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._reply({})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                body = None
            if not isinstance(body, dict):
                return self._send(400, {"error": "bad_request", "message": "the body is not a JSON object"})
            self._reply(body)

        def _reply(self, body: dict) -> None:
            self._send(*sandbox.answer(self.command, self.path, self.headers.get("Authorization", ""), body))

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:  # one line per request would drown the test output
            pass

    return Handler
