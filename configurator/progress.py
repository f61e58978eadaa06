"""The progress callback of long compilations, in a module of its own.

:data:`Progress` is a plain type alias; the engine, the backend chooser and
callers that pass a callback import it from here, so naming the type does not
load the d-DNNF backend (and numpy) at start. ``configurator.Progress`` and
``configurator.backends.ddnnf.Progress`` are this same alias.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, float], None]
"""Called about once a second while compiling, with a phase name and the seconds spent so far."""
