"""Choosing a backend for a model.

``"auto"`` tries, in order, each within its budget:

1. the decision diagram (``mdd``: milliseconds per query once compiled;
   bounded by ``node_budget`` and, in "auto", :data:`AUTO_MDD_TIME_BUDGET_S`);
2. the d4-compiled d-DNNF (``ddnnf``: linear passes per query; bounded by
   :data:`AUTO_DDNNF_TIME_BUDGET_S`), when the d4 compiler is installed;
3. incremental SAT (``sat``, last resort: no compilation, but propagation
   is a sequence of SAT calls and counting is exponential in the worst case).

Each step that fails is logged at WARNING on the ``configurator.backends``
logger (which backend, why, which budget), the chosen one at INFO, and
:func:`choice_log` keeps the reasons for ``c2m model stats``. Explicit names
pick one backend and raise its own error.

>>> from configurator.model import Model, Variable
>>> m = Model("k", (Variable("a", (1, 2), "a"),), ())
>>> make_backend(m, prefer="brute").count({})
2
>>> "sat" in available_backends()
True
"""

from __future__ import annotations

import heapq
import importlib
import itertools
import logging
from collections.abc import Callable
from typing import Any, cast

from configurator.backends.base import Backend, CompileBudgetExceeded, SearchLimitExceeded
from configurator.backends.brute import BruteBackend
from configurator.errors import ConfiguratorError
from configurator.model import Model
from configurator.progress import Progress

log = logging.getLogger("configurator.backends")

BACKEND_NAMES = ("mdd", "ddnnf", "sat", "reference", "brute")
AUTO_MDD_TIME_BUDGET_S = 20.0
"""Seconds "auto" lets the decision diagram compile before it moves on to the d-DNNF."""
AUTO_DDNNF_TIME_BUDGET_S = 120.0
"""Seconds "auto" lets d4 compile before it falls back to SAT."""
AUTO_MDD_MAX_WIDTH = 16
"""Largest estimated treewidth of the constraint graph for which "auto" tries the decision diagram.

A decision diagram grows exponentially with the width of its variable order, a d-DNNF with the
treewidth; the min-degree elimination bound (:func:`width_estimate`, stopped once above this) separates the
corpus well: the demo products, Renault, E-Shop and the generated models (up to 10,000 attributes) stay
at 9-10, Automotive02_V4 is 20 and Automotive01 above 24. Above it "auto" goes straight to the d-DNNF
instead of spending the diagram's budget first."""

_choices: dict[str, tuple[str, ...]] = {}
"""Model key -> what "auto" tried and why it moved on (bounded, newest kept)."""


def choice_log(model_key: str) -> tuple[str, ...]:
    """Why "auto" chose the backend it chose for ``model_key`` (empty when it was not "auto")."""
    return _choices.get(model_key, ())


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
    from configurator.backends import ddnnf

    return [
        name for name in BACKEND_NAMES
        if (name != "mdd" or _mdd_class() is not None) and (name != "ddnnf" or ddnnf.available())
    ]


def make_backend(
    model: Model,
    *,
    prefer: str = "auto",
    node_budget: int | None = None,
    time_budget_s: float | None = None,
    progress: Progress | None = None,
) -> Backend:
    """A backend for ``model``: ``prefer`` is "auto" or a name from :data:`BACKEND_NAMES`.

    ``node_budget`` and ``time_budget_s`` bound the decision-diagram
    compilation (the backend's own defaults apply when ``None``; in "auto",
    ``time_budget_s`` bounds each compiling step); with "ddnnf" the time
    budget bounds d4; with "reference", ``time_budget_s`` is the per-query
    timeout instead. ``progress`` is called about once a second during a
    long d4 compilation.
    """
    if prefer not in ("auto", *BACKEND_NAMES):
        raise UnknownBackend(prefer)
    if prefer == "mdd":
        mdd = _mdd_class()
        if mdd is None:
            raise BackendUnavailable("mdd", "configurator.backends.mdd cannot be imported")
        return cast(Backend, mdd(model, **_mdd_budgets(node_budget, time_budget_s)))
    if prefer == "ddnnf":
        from configurator.backends import ddnnf

        if not ddnnf.available():
            raise BackendUnavailable("ddnnf", "the d4 compiler (PyPI d4solver, module py_d4) is not installed")
        budget = time_budget_s if time_budget_s is not None else ddnnf.DEFAULT_TIME_BUDGET_S
        return ddnnf.DdnnfBackend(model, time_budget_s=budget, progress=progress)
    if prefer == "auto":
        return _auto(model, node_budget, time_budget_s, progress)
    # Each solver backend is imported when it is chosen, so importing this module (the checks,
    # the diff) loads neither numpy, pysat nor python-constraint.
    if prefer == "sat":
        from configurator.backends.sat import SatBackend

        return SatBackend(model)
    if prefer == "reference":
        from configurator.backends.reference import ReferenceBackend

        return ReferenceBackend(model, timeout_s=time_budget_s)
    return BruteBackend(model)


def _mdd_budgets(node_budget: int | None, time_budget_s: float | None) -> dict[str, Any]:
    budgets: dict[str, Any] = {}
    if node_budget is not None:
        budgets["node_budget"] = node_budget
    if time_budget_s is not None:
        budgets["time_budget_s"] = time_budget_s
    return budgets


def _auto(
    model: Model, node_budget: int | None, time_budget_s: float | None, progress: Progress | None
) -> Backend:
    from configurator.backends import ddnnf

    notes: list[str] = []

    def chose(backend: Backend) -> Backend:
        notes.append(f"using {backend.name}")
        log.info("model %s: %s", model.key, "; ".join(notes))
        _choices[model.key] = tuple(notes)
        while len(_choices) > 256:
            _choices.pop(next(iter(_choices)))
        return backend

    width = width_estimate(model, stop_above=AUTO_MDD_MAX_WIDTH) if ddnnf.available() else 0
    # Too wide: the decision diagram's module (and its libraries) is not even imported.
    mdd = _mdd_class() if width <= AUTO_MDD_MAX_WIDTH else None
    if width > AUTO_MDD_MAX_WIDTH:
        notes.append(f"mdd: skipped, the constraint graph's treewidth estimate {width} exceeds {AUTO_MDD_MAX_WIDTH}")
        log.warning("model %s: treewidth estimate %d > %d; trying the d-DNNF first", model.key, width,
                    AUTO_MDD_MAX_WIDTH)
    elif mdd is None:
        notes.append("mdd: configurator.backends.mdd cannot be imported")
        log.warning("model %s: decision-diagram backend unavailable", model.key)
    else:
        budget = time_budget_s if time_budget_s is not None else AUTO_MDD_TIME_BUDGET_S
        try:
            return chose(cast(Backend, mdd(model, **_mdd_budgets(node_budget, budget))))
        except CompileBudgetExceeded as exc:
            notes.append(f"mdd: {exc.detail}")
            log.warning("model %s: decision diagram not compiled (%s); trying the d-DNNF", model.key, exc)
    if not ddnnf.available():
        notes.append("ddnnf: the d4 compiler (PyPI d4solver) is not installed")
        log.warning("model %s: d-DNNF backend unavailable; falling back to SAT", model.key)
    else:
        budget = time_budget_s if time_budget_s is not None else AUTO_DDNNF_TIME_BUDGET_S
        try:
            return chose(ddnnf.DdnnfBackend(model, time_budget_s=budget, progress=progress))
        except (CompileBudgetExceeded, SearchLimitExceeded) as exc:
            notes.append(f"ddnnf: {exc.detail}")
            log.warning("model %s: d-DNNF not compiled (%s); falling back to SAT", model.key, exc)
    from configurator.backends.sat import SatBackend

    return chose(SatBackend(model))


def width_estimate(model: Model, *, stop_above: int | None = None) -> int:
    """An upper bound of the treewidth of the model's constraint graph (variables adjacent when a
    constraint reads both): the largest degree met in a greedy min-degree elimination.

    With ``stop_above``, the elimination stops as soon as the bound exceeds it (the answer is then
    some value above it): deciding "too wide for the diagram" costs little on large models.

    >>> from configurator.model import Constraint, Model, Variable
    >>> vs = tuple(Variable(n, (False, True), n) for n in "abcd")
    >>> width_estimate(Model("k", vs, (Constraint("r", ("a", "b", "c"), lambda *v: True),)))
    2
    >>> chain = tuple(Constraint(f"r{i}", (x, y), lambda *v: True) for i, (x, y) in enumerate(["ab", "bc", "cd"]))
    >>> width_estimate(Model("k", vs, chain))
    1
    """
    adjacent: dict[str, set[str]] = {v.name: set() for v in model.variables}
    for c in model.constraints:
        scope = list(dict.fromkeys(c.scope))
        if stop_above is not None and len(scope) - 1 > stop_above:
            return len(scope) - 1
        for x, y in itertools.combinations(scope, 2):
            adjacent[x].add(y)
            adjacent[y].add(x)
    heap = [(len(ns), name) for name, ns in adjacent.items()]
    heapq.heapify(heap)
    width = 0
    while heap:
        degree, name = heapq.heappop(heap)
        ns = adjacent.get(name)
        if ns is None or degree != len(ns):
            continue  # eliminated already, or a stale entry
        width = max(width, degree)
        if stop_above is not None and width > stop_above:
            return width
        del adjacent[name]
        for x in ns:
            nx_ = adjacent[x]
            nx_.discard(name)
            nx_.update(y for y in ns if y != x)
        for x in ns:
            heapq.heappush(heap, (len(adjacent[x]), x))
    return width
