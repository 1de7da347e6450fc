"""The kill test's loop: start a ``dianfei`` command, SIGKILL it at a random point once it has written
something, several times; the caller then reruns it and compares with a clean run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.web.test_cli import DIANFEI


def kill_repeatedly(args: list[str], instance: Path, done: Callable[[], int], *, kills: int, rng: random.Random,
                    linger: float = 0.05) -> list[int]:
    """Run ``dianfei *args`` on ``instance`` ``kills`` times, each killed at a random point after
    ``done()`` (rows written so far) moved; returns ``done()`` after each kill."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DIANFEI_") and k != "DATABASE_URL"}
    environ["DIANFEI_INSTANCE_PATH"] = str(instance)
    progress = []
    for _ in range(kills):
        before = done()
        process = subprocess.Popen([DIANFEI, *args], env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while process.poll() is None and done() == before:  # the command is writing: kill it somewhere in it
            time.sleep(0.01)
        time.sleep(rng.uniform(0, linger))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        progress.append(done())
    return progress
