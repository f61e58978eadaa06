"""A spinner with a step counter for long ``c2m`` commands, on the terminal only.

It writes to stderr, and only when stderr is a terminal and the command was
not asked to be quiet: piped or redirected output (CI logs, ``--json -``)
stays exactly the command's result. A background thread redraws the line so
that one long step (compiling a large model) still shows time passing.
"""

from __future__ import annotations

import sys
import threading
import time
from types import TracebackType
from typing import TextIO

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def wanted(quiet: bool, stream: TextIO | None = None) -> bool:
    """True when a progress line should be drawn: not quiet and ``stream`` (stderr) is a terminal."""
    target = stream if stream is not None else sys.stderr
    return not quiet and bool(getattr(target, "isatty", lambda: False)())


class Progress:
    """``with Progress(enabled, "checking", total=3) as p: p.step("bike")`` draws
    ``⠹ checking bike (1/3) 2.4s`` and erases it at the end.

    Disabled, every method does nothing.
    """

    def __init__(
        self, enabled: bool, label: str, *, total: int | None = None, stream: TextIO | None = None
    ) -> None:
        self.enabled = enabled
        self.label = label
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0
        self.current = ""
        self._start = time.monotonic()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._width = 0

    def __enter__(self) -> Progress:
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="c2m-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def step(self, what: str) -> None:
        """Start the next step (``what`` names it); the previous one counts as done."""
        with self._lock:
            if self.current:
                self.done += 1
            self.current = what

    def close(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        with self._lock:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()

    def _line(self, frame: str) -> str:
        count = ""
        if self.total is not None:
            count = f" ({min(self.done + 1, self.total)}/{self.total})"
        return f"{frame} {self.label} {self.current}{count} {time.monotonic() - self._start:.1f}s"

    def _run(self) -> None:
        index = 0
        while not self._stop.wait(0.1):
            with self._lock:
                line = self._line(FRAMES[index % len(FRAMES)])
                pad = max(self._width - len(line), 0)
                self._width = len(line)
                self.stream.write("\r" + line + " " * pad)
                self.stream.flush()
            index += 1
