"""Test work on threads where an exception in any thread fails the test (a thread's own exception
otherwise only prints a warning, and the test passes)."""

from __future__ import annotations

import threading


class Threads:
    def __init__(self) -> None:
        self._threads: list[threading.Thread] = []
        self._errors: list[BaseException] = []

    def start(self, target, *args) -> None:
        def run() -> None:
            try:
                target(*args)
            except BaseException as error:
                self._errors.append(error)

        thread = threading.Thread(target=run)
        thread.start()
        self._threads.append(thread)

    def join(self) -> None:
        """Wait for all, then raise the first error any of them met."""
        for thread in self._threads:
            thread.join()
        if self._errors:
            raise self._errors[0]
