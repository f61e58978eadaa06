"""Choosing a backend for a model.

``"auto"`` compiles the model into a decision diagram (``mdd``: milliseconds
per query once compiled) and falls back to incremental SAT when compilation
exceeds its node or time budget, logging why at WARNING on the
``configurator.backends`` logger. Explicit names pick one backend.

>>> from configurator.model import Model, Variable
>>> m = Model("k", (Variable("a", (1, 2), "a"),), ())
>>> make_backend(m, prefer="brute").count({})
2
>>> "sat" in available_backends()
True
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any, cast

from configurator.backends.base import Backend, CompileBudgetExceeded
from configurator.backends.brute import BruteBackend
from configurator.backends.reference import ReferenceBackend
from configurator.backends.sat import SatBackend
from configurator.errors import ConfiguratorError
from configurator.model import Model

log = logging.getLogger("configurator.backends")

BACKEND_NAMES = ("mdd", "sat", "reference", "brute")


class UnknownBackend(ConfiguratorError):
    """``prefer`` names no backend."""

    reason = "unknown_backend"

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown backend {name!r}; expected 'auto' or one of {', '.join(BACKEND_NAMES)}")
        self.name = name


class BackendUnavailable(ConfiguratorError):
    """The requested backend cannot be loaded here (its module or library is missing)."""

    reason = "backend_unavailable"

    def __init__(self, name: str, detail: str) -> None:
        super().__init__(f"backend {name!r} is unavailable: {detail}")
        self.name = name
        self.detail = detail


def _mdd_class() -> Callable[..., Any] | None:
    """The decision-diagram backend class, or ``None`` when it cannot be imported."""
    try:
        module = importlib.import_module("configurator.backends.mdd")
    except ImportError:
        return None
    return cast("Callable[..., Any]", module.MddBackend)


def available_backends() -> list[str]:
    """Names accepted by :func:`make_backend` (besides "auto") that can be loaded here.

    >>> available_backends()[-3:]
    ['sat', 'reference', 'brute']
    """
    return [name for name in BACKEND_NAMES if name != "mdd" or _mdd_class() is not None]


def make_backend(
    model: Model,
    *,
    prefer: str = "auto",
    node_budget: int | None = None,
    time_budget_s: float | None = None,
) -> Backend:
    """A backend for ``model``: ``prefer`` is "auto" or a name from :data:`BACKEND_NAMES`.

    ``node_budget`` and ``time_budget_s`` bound the decision-diagram
    compilation (the backend's own defaults apply when ``None``); with
    "reference", ``time_budget_s`` is the per-query timeout instead.
    """
    if prefer not in ("auto", *BACKEND_NAMES):
        raise UnknownBackend(prefer)
    if prefer in ("auto", "mdd"):
        mdd = _mdd_class()
        if mdd is None:
            if prefer == "mdd":
                raise BackendUnavailable("mdd", "configurator.backends.mdd cannot be imported")
            log.warning("model %s: decision-diagram backend unavailable; using SAT", model.key)
            return SatBackend(model)
        budgets: dict[str, Any] = {}
        if node_budget is not None:
            budgets["node_budget"] = node_budget
        if time_budget_s is not None:
            budgets["time_budget_s"] = time_budget_s
        try:
            return cast(Backend, mdd(model, **budgets))
        except CompileBudgetExceeded as exc:
            if prefer == "mdd":
                raise
            log.warning("model %s: decision diagram not compiled (%s); falling back to SAT", model.key, exc)
            return SatBackend(model)
    if prefer == "sat":
        return SatBackend(model)
    if prefer == "reference":
        return ReferenceBackend(model, timeout_s=time_budget_s)
    return BruteBackend(model)
