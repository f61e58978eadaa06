"""An exhaustive backend for engine tests: enumerates every assignment of a small model.

It implements the Backend protocol by brute force, so the engine's algorithms can be
tested without depending on how a real backend compiles the model.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from fractions import Fraction

from catalog.snapshot import Value
from configurator.model import Model, Restriction


class ExhaustiveBackend:
    name = "exhaustive"

    def __init__(self, model: Model) -> None:
        self.model = model
        names = [v.name for v in model.variables]
        self._names = names
        self._solutions: list[dict[str, Value]] = []
        for combo in itertools.product(*(v.domain for v in model.variables)):
            row = dict(zip(names, combo, strict=True))
            if all(c.predicate(*(row[n] for n in c.scope)) for c in model.constraints):
                self._solutions.append(row)
        self.calls = 0

    def _matching(self, restrict: Restriction) -> list[dict[str, Value]]:
        self.calls += 1
        for name in restrict:
            if name not in self._names:
                raise KeyError(name)
        return [s for s in self._solutions if all(s[n] in vals for n, vals in restrict.items())]

    def propagate(self, restrict: Restriction) -> dict[str, frozenset[Value]] | None:
        rows = self._matching(restrict)
        if not rows:
            return None
        return {n: frozenset(r[n] for r in rows) for n in self._names}

    def count(self, restrict: Restriction) -> int:
        return len(self._matching(restrict))

    def solve(
        self,
        restrict: Restriction,
        weights: Mapping[str, Mapping[Value, Fraction]] | None = None,
    ) -> dict[str, Value] | None:
        rows = self._matching(restrict)
        if not rows:
            return None
        order = {v.name: {x: i for i, x in enumerate(v.domain)} for v in self.model.variables}

        def key(r: dict[str, Value]) -> tuple[Fraction, tuple[int, ...]]:
            cost = sum((Fraction((weights or {}).get(n, {}).get(r[n], 0)) for n in self._names), Fraction(0))
            return cost, tuple(order[n][r[n]] for n in self._names)

        best = min(rows, key=key)
        return dict(best)
