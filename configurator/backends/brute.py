"""Brute-force backend: enumerate the Cartesian product of the domains.

Only for small models: it is the ground truth the other backends are tested
against, so it is written to be obviously correct rather than fast. The search
walks the variables in model order, trying each domain's values in order, and
checks a constraint as soon as the last variable of its scope is assigned (a
pure pruning of the product: the set of solutions is exactly the product
filtered by every predicate).

This module also holds the two definitions every backend shares, so they
cannot drift apart: how a :data:`~configurator.model.Restriction` narrows the
domains (:func:`restricted_domains`) and which solution ``solve`` returns
(:func:`objective_key`: least total weight, then the lexicographically
smallest tuple of domain positions, variables in model order).

>>> from configurator.model import Constraint, Model, Variable
>>> m = Model("k", (Variable("a", (1, 2, 3), "a"), Variable("b", (1, 2, 3), "b")),
...           (Constraint("lt", ("a", "b"), lambda a, b: a < b),))
>>> BruteBackend(m).count({})
3
>>> BruteBackend(m).propagate({"b": frozenset({2})})
{'a': frozenset({1}), 'b': frozenset({2})}
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from fractions import Fraction
from math import prod

from catalog.snapshot import Value
from configurator.backends.base import SearchLimitExceeded, UnknownVariable
from configurator.model import Constraint, Model, Restriction

Weights = Mapping[str, Mapping[Value, Fraction]]
"""Unary weights per variable and value (missing = 0), as in ``Backend.solve``."""

ObjectiveKey = tuple[Fraction, tuple[int, ...]]


def restricted_domains(model: Model, restrict: Restriction) -> dict[str, tuple[Value, ...]]:
    """Each variable's domain narrowed by ``restrict``, keeping the domain order.

    Values of the restriction that are not in the domain are ignored; a name
    that is not a model variable raises :class:`UnknownVariable`.

    >>> from configurator.model import Model, Variable
    >>> m = Model("k", (Variable("a", ("x", "y", "z"), "a"),), ())
    >>> restricted_domains(m, {"a": frozenset({"z", "x", "w"})})
    {'a': ('x', 'z')}
    """
    names = {v.name for v in model.variables}
    for name in restrict:
        if name not in names:
            raise UnknownVariable(name, model.key)
    out: dict[str, tuple[Value, ...]] = {}
    for var in model.variables:
        allowed = restrict.get(var.name)
        out[var.name] = var.domain if allowed is None else tuple(x for x in var.domain if x in allowed)
    return out


def check_weights(model: Model, weights: Weights | None) -> None:
    """Raise :class:`UnknownVariable` when ``weights`` names a variable the model lacks."""
    if not weights:
        return
    names = {v.name for v in model.variables}
    for name in weights:
        if name not in names:
            raise UnknownVariable(name, model.key)


def objective_key(model: Model, weights: Weights | None) -> Callable[[Mapping[str, Value]], ObjectiveKey]:
    """The order ``solve`` minimizes: (total weight, domain positions in model order).

    Every backend must return the solution with the least key, so that all of
    them agree on one answer even when several solutions share the least weight.

    >>> from configurator.model import Model, Variable
    >>> m = Model("k", (Variable("a", ("x", "y"), "a"),), ())
    >>> key = objective_key(m, {"a": {"x": Fraction(1)}})
    >>> key({"a": "x"}) > key({"a": "y"})
    True
    """
    check_weights(model, weights)
    positions = [(v.name, {x: i for i, x in enumerate(v.domain)}) for v in model.variables]
    w = weights or {}

    def key(solution: Mapping[str, Value]) -> ObjectiveKey:
        total = Fraction(0)
        for name, values in w.items():
            total += Fraction(values.get(solution[name], 0))
        return total, tuple(pos[solution[name]] for name, pos in positions)

    return key


def constant_constraints_hold(model: Model) -> bool:
    """Whether every constraint with an empty scope (a constant rule) holds."""
    return all(c.predicate() for c in model.constraints if not c.scope)


class BruteBackend:
    """Enumerates every combination of values; refuses products above ``limit``.

    ``limit`` bounds the size of the (restricted) Cartesian product, not the
    number of solutions: beyond it :class:`SearchLimitExceeded` is raised
    before any work is done.
    """

    name = "brute"

    def __init__(self, model: Model, *, limit: int = 1_000_000) -> None:
        self.model = model
        self.limit = limit
        order = {v.name: i for i, v in enumerate(model.variables)}
        # Each constraint is checked once the last variable of its scope (in
        # model order) has a value, i.e. as early as it can be decided.
        self._checks: list[list[Constraint]] = [[] for _ in model.variables]
        for c in model.constraints:
            if c.scope:
                self._checks[max(order[n] for n in c.scope)].append(c)

    def solutions(self, restrict: Restriction) -> Iterator[dict[str, Value]]:
        """Every solution under ``restrict``, in lexicographic order of domain positions."""
        domains = restricted_domains(self.model, restrict)
        size = prod(len(d) for d in domains.values())
        if size > self.limit:
            raise SearchLimitExceeded(
                self.name, f"search space of {size} combinations exceeds the limit of {self.limit}"
            )
        if not constant_constraints_hold(self.model):
            return
        names = [v.name for v in self.model.variables]
        yield from self._extend({}, 0, names, domains)

    def _extend(
        self,
        partial: dict[str, Value],
        depth: int,
        names: list[str],
        domains: dict[str, tuple[Value, ...]],
    ) -> Iterator[dict[str, Value]]:
        if depth == len(names):
            yield dict(partial)
            return
        name = names[depth]
        for value in domains[name]:
            partial[name] = value
            if all(c.predicate(*(partial[n] for n in c.scope)) for c in self._checks[depth]):
                yield from self._extend(partial, depth + 1, names, domains)
        partial.pop(name, None)

    def propagate(self, restrict: Restriction) -> dict[str, frozenset[Value]] | None:
        supported: dict[str, set[Value]] = {v.name: set() for v in self.model.variables}
        found = False
        for solution in self.solutions(restrict):
            found = True
            for name, value in solution.items():
                supported[name].add(value)
        if not found:
            return None
        return {name: frozenset(values) for name, values in supported.items()}

    def count(self, restrict: Restriction) -> int:
        return sum(1 for _ in self.solutions(restrict))

    def solve(self, restrict: Restriction, weights: Weights | None = None) -> dict[str, Value] | None:
        key = objective_key(self.model, weights)
        best: dict[str, Value] | None = None
        best_key: ObjectiveKey | None = None
        # Solutions come in lexicographic order, so keeping only strict
        # improvements already breaks ties towards earlier domain values.
        for solution in self.solutions(restrict):
            k = key(solution)
            if best_key is None or k[0] < best_key[0]:
                best, best_key = solution, k
        return best
