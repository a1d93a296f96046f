"""Progress for a log: one line every few seconds while a solve runs without a terminal.

On a terminal, ``ftlock solve`` shows a live status line.  In CI logs (stderr not a
terminal) that line cannot be redrawn, and a long solve used to print nothing until it was
done — indistinguishable from a hang.  :class:`LogProgress` prints the solver's latest
state as one plain line every :data:`INTERVAL` seconds instead; a solve shorter than that
prints no progress line at all, so quick runs and their logs stay as they were.

A timer thread, not the solver's callbacks, decides when to print: while the solver waits
on the network it makes no callbacks, and that is exactly when a log needs a sign of life.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import IO, Any

#: seconds between two progress lines in a log
INTERVAL = 5.0


def is_log(stream: IO[Any]) -> bool:
    """A file or pipe that is not a terminal: CI logs, ``2> build.log``.  An in-memory
    stream (``main(args)`` in-process, a test's runner) is read as a whole afterwards and
    gets no progress lines."""
    try:
        stream.fileno()
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is both
        return False
    return not stream.isatty()


class LogProgress:
    """``with LogProgress(write) as update: solve(..., on_progress=update)``."""

    def __init__(
        self,
        write: Callable[[str], None],
        interval: float = INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.write = write
        self.interval = interval
        self.clock = clock
        self.pinned = 0
        self.current = ""
        self.lines = 0
        self._started = clock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ftlock-progress", daemon=True)

    def __call__(self, pinned: int, name: str) -> None:
        """The solver's progress callback: remember the latest state (cheap, called often)."""
        self.pinned = pinned
        self.current = name

    def line(self) -> str:
        elapsed = self.clock() - self._started
        now = f", now {self.current}" if self.current else ""
        return f"Resolving… {elapsed:.0f}s, {self.pinned} pinned{now}"

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.lines += 1
            self.write(self.line())

    def __enter__(self) -> LogProgress:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
