"""Timings of engine operations and fault-injection points, without a web framework.

:func:`timed` measures a block and hands ``(operation, milliseconds)`` to the
sinks registered with :func:`add_timing_sink` (the web app registers one that
adds the figure to the current request's log line). With no sink registered the
figure is logged at DEBUG on ``c2m.engine``.

:func:`fault_delay` sleeps ``C2M_TEST_SLOW_<POINT>_S`` seconds when that
variable is set (fault tests only; never set in production).
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

__all__ = ["add_timing_sink", "fault_delay", "timed", "timed_call"]

engine_log = logging.getLogger("c2m.engine")

F = TypeVar("F", bound=Callable[..., Any])
TimingSink = Callable[[str, float], bool]
"""Receives (operation, ms); returns True when it recorded the figure."""

_sinks: list[TimingSink] = []


def add_timing_sink(sink: TimingSink) -> None:
    """Register ``sink`` once (registering the same function again does nothing)."""
    if sink not in _sinks:
        _sinks.append(sink)


@contextmanager
def timed(operation: str) -> Iterator[None]:
    """Time the block as engine operation ``operation``.

    >>> with timed("state"):
    ...     pass
    """
    started = time.perf_counter()
    try:
        yield
    finally:
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        recorded = False
        for sink in _sinks:
            recorded = sink(operation, elapsed_ms) or recorded
        if not recorded and engine_log.isEnabledFor(logging.DEBUG):
            engine_log.debug(operation, extra={"fields": {"op": operation, "ms": round(elapsed_ms, 2)}})


def timed_call(operation: str) -> Callable[[F], F]:
    """Decorator form of :func:`timed`."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with timed(operation):
                return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def fault_delay(point: str) -> None:
    """Sleep ``C2M_TEST_SLOW_<POINT>_S`` seconds when that is set (fault tests only).

    >>> fault_delay("nothing-configured")
    """
    raw = os.environ.get(f"C2M_TEST_SLOW_{point.upper()}_S")
    if raw:
        time.sleep(float(raw))
