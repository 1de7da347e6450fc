"""A small HTTP load generator for the benchmarks: pre-serialised requests over keep-alive
connections from several processes, so that the generator costs little next to the server.

Each worker process takes a slice of the requests and sends them over ``connections`` sockets,
one request in flight per socket, recording each request's latency.
"""

from __future__ import annotations

import multiprocessing
import socket
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""

    def wire(self, host: str) -> bytes:
        head = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(self.body)}"]
        head += [f"{name}: {value}" for name, value in self.headers.items() if name.lower() != "content-length"]
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + self.body


def _read_response(sock: socket.socket, buffer: bytearray) -> int:
    """Read one response (Content-Length framed); returns its status code."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = next((int(line.split(":", 1)[1]) for line in lines[1:] if line.lower().startswith("content-length:")), 0)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection mid-body")
        rest += chunk
    buffer[:] = rest[length:]
    return status


def _connect(host: str, port: int) -> socket.socket:
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _worker(args) -> list[tuple[float, int]]:
    host, port, payloads, connections = args
    import selectors

    selector = selectors.DefaultSelector()
    queue = list(reversed(payloads))
    results: list[tuple[float, int]] = []
    for _ in range(min(connections, len(queue))):
        sock = _connect(host, port)
        state = {"buffer": bytearray(), "started": 0.0}
        selector.register(sock, selectors.EVENT_READ, state)
        state["started"] = time.perf_counter()
        sock.sendall(queue.pop())
    while selector.get_map():
        for key, _ in selector.select():
            sock, state = key.fileobj, key.data
            try:
                status = _read_response(sock, state["buffer"])
            except ConnectionError:  # the server closes idle or non-keep-alive connections: reconnect
                selector.unregister(sock)
                sock.close()
                status = None
            if status is not None:
                results.append((time.perf_counter() - state["started"], status))
            if not queue:
                if status is not None:
                    selector.unregister(sock)
                    sock.close()
                continue
            if status is None:
                sock = _connect(host, port)
                state = {"buffer": bytearray(), "started": 0.0}
                selector.register(sock, selectors.EVENT_READ, state)
            state["started"] = time.perf_counter()
            sock.sendall(queue.pop())
    return results


@dataclass
class Result:
    requests: int
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def percentile_ms(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000


def run(host: str, port: int, requests: list[Request], *, processes: int = 2, connections: int = 4) -> Result:
    payloads = [request.wire(f"{host}:{port}") for request in requests]
    slices = [(host, port, payloads[n::processes], connections) for n in range(processes)]
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        parts = pool.map(_worker, slices)
    seconds = time.perf_counter() - started
    latencies = [latency for part in parts for latency, _ in part]
    statuses: dict[int, int] = {}
    for part in parts:
        for _, status in part:
            statuses[status] = statuses.get(status, 0) + 1
    return Result(len(latencies), seconds, latencies, statuses)
