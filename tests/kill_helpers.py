"""The kill test's loop: start a ``dianfei`` command, SIGKILL it at a random point of its writing,
several times; the caller then reruns it and compares with a clean run."""

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
                    total: int) -> list[int]:
    """Run ``dianfei *args`` on ``instance`` ``kills`` times, each SIGKILLed once ``done()`` (rows
    written so far, of ``total`` in a clean run) reaches a random point short of the end; returns
    ``done()`` after each kill.  Aiming at a row count rather than a moment keeps every kill inside
    the run however fast or loaded the machine is (a timed kill missed the end of a quick run)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DIANFEI_") and k != "DATABASE_URL"}
    environ["DIANFEI_INSTANCE_PATH"] = str(instance)
    progress = []
    for _ in range(kills):
        before = done()
        # somewhere in the first three quarters of what is left: a kill lands a few rows after its
        # aim, and must still fall short of the end
        target = rng.randint(before + 1, before + max(1, (total - before) * 3 // 4))
        process = subprocess.Popen([DIANFEI, *args], env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while process.poll() is None and done() < target:
            time.sleep(0.002)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        progress.append(done())
    return progress
