"""Reference backend over python-constraint2 (import name ``constraint``).

Exact and simple: the oracle for small models. This is the only module that
imports ``constraint``. Rules reach the solver only as
:class:`constraint.FunctionConstraint` objects wrapping the IR predicates,
never as string constraints (python-constraint2 compiles those with ``eval``).

A restriction becomes the variables' domains, and a fresh
:class:`constraint.Problem` is built for every search, because the library
prunes the domain objects it was given in place (unary constraints are
applied by removing values).

>>> from configurator.model import Constraint, Model, Variable
>>> m = Model("k", (Variable("a", (1, 2, 3), "a"), Variable("b", (1, 2, 3), "b")),
...           (Constraint("lt", ("a", "b"), lambda a, b: a < b),))
>>> ReferenceBackend(m).propagate({"a": frozenset({2})})
{'a': frozenset({2}), 'b': frozenset({3})}
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import constraint

from catalog.snapshot import Value
from configurator.backends.base import BackendTimeout
from configurator.backends.brute import (
    ObjectiveKey,
    Weights,
    constant_constraints_hold,
    objective_key,
    restricted_domains,
)
from configurator.model import Model, Restriction


class _Deadline:
    """Raises :class:`BackendTimeout` once a query has run past its budget.

    Checked inside the constraint predicates, so a long search with no
    solution in sight is interrupted too, not only between solutions.
    """

    __slots__ = ("_at", "_calls", "_timeout_s")

    def __init__(self, timeout_s: float | None) -> None:
        self._timeout_s = timeout_s
        self._at = None if timeout_s is None else time.monotonic() + timeout_s
        self._calls = 0

    def check(self) -> None:
        if self._at is None:
            return
        self._calls += 1
        # time.monotonic() is cheap but not free: look at the clock every 64 calls.
        if self._calls & 63 == 0 and time.monotonic() > self._at:
            assert self._timeout_s is not None
            raise BackendTimeout("reference", self._timeout_s)

    def check_now(self) -> None:
        if self._at is not None and time.monotonic() > self._at:
            assert self._timeout_s is not None
            raise BackendTimeout("reference", self._timeout_s)


def _guarded(predicate: Callable[..., bool], deadline: _Deadline) -> Callable[..., bool]:
    def check(*values: Any) -> bool:
        deadline.check()
        return bool(predicate(*values))

    return check


class ReferenceBackend:
    """python-constraint2 backtracking; exact, for small models and as a test oracle.

    ``timeout_s`` bounds each call (``propagate``, ``count``, ``solve``); past
    it :class:`BackendTimeout` is raised.
    """

    name = "reference"

    def __init__(self, model: Model, *, timeout_s: float | None = None) -> None:
        self.model = model
        self.timeout_s = timeout_s

    def _solutions(
        self, domains: dict[str, tuple[Value, ...]], deadline: _Deadline
    ) -> Iterator[dict[str, Value]]:
        if not constant_constraints_hold(self.model):
            return
        if any(not d for d in domains.values()):
            return
        if not self.model.variables:
            # python-constraint2 reports no solution for a problem without
            # variables; the empty assignment is the single solution.
            yield {}
            return
        problem = constraint.Problem()
        for var in self.model.variables:
            problem.addVariable(var.name, list(domains[var.name]))
        for c in self.model.constraints:
            if c.scope:
                problem.addConstraint(
                    constraint.FunctionConstraint(_guarded(c.predicate, deadline)), list(c.scope)
                )
        names = [v.name for v in self.model.variables]
        for solution in problem.getSolutionIter():
            deadline.check_now()
            yield {name: solution[name] for name in names}

    def propagate(self, restrict: Restriction) -> dict[str, frozenset[Value]] | None:
        deadline = _Deadline(self.timeout_s)
        domains = restricted_domains(self.model, restrict)
        first = next(self._solutions(domains, deadline), None)
        if first is None:
            return None
        supported: dict[str, set[Value]] = {v.name: set() for v in self.model.variables}
        self._mark(supported, first)
        for var in self.model.variables:
            for value in domains[var.name]:
                if value in supported[var.name]:
                    continue
                # Solution-guided pruning: every solution found supports one
                # value of each variable, so most values never need a search.
                found = next(self._solutions({**domains, var.name: (value,)}, deadline), None)
                if found is not None:
                    self._mark(supported, found)
        return {name: frozenset(values) for name, values in supported.items()}

    @staticmethod
    def _mark(supported: dict[str, set[Value]], solution: dict[str, Value]) -> None:
        for name, value in solution.items():
            supported[name].add(value)

    def count(self, restrict: Restriction) -> int:
        deadline = _Deadline(self.timeout_s)
        return sum(1 for _ in self._solutions(restricted_domains(self.model, restrict), deadline))

    def solve(self, restrict: Restriction, weights: Weights | None = None) -> dict[str, Value] | None:
        key = objective_key(self.model, weights)
        deadline = _Deadline(self.timeout_s)
        best: dict[str, Value] | None = None
        best_key: ObjectiveKey | None = None
        for solution in self._solutions(restricted_domains(self.model, restrict), deadline):
            k = key(solution)
            if best_key is None or k < best_key:
                best, best_key = solution, k
        return best
