"""gunicorn as the benchmarks run it: a subprocess on loopback, waited for until it answers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def serve(app: str, env: dict[str, str], port: int, *, workers: int = 2, threads: int = 1,
          ready_path: str = "/healthz") -> subprocess.Popen:
    """Start gunicorn serving ``app`` (``module:attribute``) and return once ``ready_path`` answers."""
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--worker-class", "gthread", "--threads", str(threads), "--log-level", "warning", app],
        cwd=ROOT, env={**os.environ, **env},
    )
    for _ in range(200):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{ready_path}", timeout=1):
                return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit(f"gunicorn did not come up serving {app}")


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait(10)
