"""Serve a WSGI app on loopback in a background thread: the sandbox gateways, and the app itself
in tests that need real HTTP."""

from __future__ import annotations

import socket
import threading

from werkzeug.serving import WSGIRequestHandler, make_server


def free_port() -> int:
    """A loopback port nobody listens on now (for a server that must be told its port up front)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _QuietHandler(WSGIRequestHandler):
    """Logs nothing (one line per request drowns test output) and keeps a list of its server's open
    connections, so that a stopped server is really gone: a client's kept-alive connection would
    otherwise go on being served after ``stop()``."""

    def setup(self) -> None:
        super().setup()
        self.server.open_connections.add(self.connection)

    def finish(self) -> None:
        self.server.open_connections.discard(self.connection)
        super().finish()

    def log_request(self, *args, **kwargs) -> None:
        pass


class LoopbackServer:
    def __init__(self, app, port: int = 0, host: str = "127.0.0.1") -> None:
        self._server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
        self._server.daemon_threads = True
        self._server.open_connections = set()
        # A short poll interval makes stop() quick (shutdown waits for the loop to look).
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name=f"loopback:{self.port}", daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        for connection in list(self._server.open_connections):
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:  # already closed by the client
                pass
        self._thread.join(timeout=5)


class Served:
    """The base of the sandbox gateways: a WSGI app that serves itself on loopback.

    ``url`` is where it answers; a subclass sets a placeholder until serve() replaces it."""

    url: str
    _server: LoopbackServer | None = None

    def serve(self, port: int = 0) -> LoopbackServer:
        self._server = LoopbackServer(self, port).start()
        self.url = self._server.url
        return self._server

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
