"""SAT fallback backend over python-sat (``pysat``).

Used when a model does not compile into a decision diagram within budget.

Encoding: each variable ``x`` with domain ``d1..dn`` gets one Boolean per
value ("x = di", one-hot) with exactly-one (pairwise for small domains, a
sequential counter beyond). Each constraint is tabulated over the product of
its scope's domains (from ``allowed`` when the IR has it, else by calling the
predicate) and encoded either by one clause per forbidden tuple or, when the
allowed tuples are the fewer, by one auxiliary "support" literal per allowed
tuple (the tuple implies its values; one tuple must hold). A restriction
reaches the incremental solver only as assumptions (negated value literals),
so one solver instance answers every query.

- ``propagate``: solution-guided: every model found marks one value of every
  variable as supported; only values still unmarked are asked about, each
  with one more assumption.
- ``count``: enumeration with blocking clauses on a fresh solver copy. It is
  exponential in the worst case and bounded by ``count_limit``
  (:class:`SearchLimitExceeded` beyond it).
- ``solve``: without weights, a greedy lexicographic descent over the
  incremental solver; with weights, one weighted MaxSAT call (RC2) whose
  objective is "weight first, then domain positions in model order" folded
  into a single integer weight per value, so the answer is the same solution
  every other backend returns.

>>> from configurator.model import Constraint, Model, Variable
>>> m = Model("k", (Variable("a", (1, 2, 3), "a"), Variable("b", (1, 2, 3), "b")),
...           (Constraint("lt", ("a", "b"), lambda a, b: a < b),))
>>> backend = SatBackend(m)
>>> backend.propagate({"b": frozenset({2})})
{'a': frozenset({1}), 'b': frozenset({2})}
>>> backend.count({})
3
>>> from fractions import Fraction
>>> backend.solve({}, {"b": {2: Fraction(-1)}})
{'a': 1, 'b': 2}
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from pysat.card import CardEnc, EncType
from pysat.examples.rc2 import RC2
from pysat.formula import WCNF, IDPool
from pysat.solvers import Solver

from catalog.snapshot import Value
from configurator.backends.base import SearchLimitExceeded
from configurator.backends.brute import Weights, check_weights, restricted_domains
from configurator.model import Constraint, Model, Restriction

_PAIRWISE_MAX = 6
"""Largest domain whose at-most-one uses pairwise clauses (n(n-1)/2 of them)."""


class SatBackend:
    """Incremental SAT with assumptions; answers models too large to compile.

    ``table_limit`` bounds the product of a constraint's scope domains that is
    tabulated (:class:`SearchLimitExceeded` naming the rule beyond it);
    ``count_limit`` bounds the number of solutions ``count`` enumerates. The
    instance is safe to share between threads: queries are serialized.
    """

    name = "sat"

    def __init__(
        self,
        model: Model,
        *,
        solver_name: str = "cadical153",
        count_limit: int = 1_000_000,
        table_limit: int = 2_000_000,
    ) -> None:
        self.model = model
        self.solver_name = solver_name
        self.count_limit = count_limit
        self.table_limit = table_limit
        self._pool = IDPool()
        # (variable index, value index) -> literal, and back.
        self._lits: list[list[int]] = [
            [self._pool.id(("x", i, k)) for k in range(len(v.domain))] for i, v in enumerate(model.variables)
        ]
        self._decode: dict[int, tuple[int, int]] = {
            lit: (i, k) for i, lits in enumerate(self._lits) for k, lit in enumerate(lits)
        }
        self._clauses: list[list[int]] = []
        self._unsat = False
        self._encode_domains()
        for number, c in enumerate(model.constraints):
            self._encode_constraint(number, c)
        self._lock = threading.Lock()
        self._solver = Solver(name=solver_name, bootstrap_with=self._clauses)

    # -- encoding -----------------------------------------------------------------------------------

    def _encode_domains(self) -> None:
        for lits in self._lits:
            if not lits:
                self._unsat = True
                continue
            self._clauses.append(list(lits))
            if len(lits) <= _PAIRWISE_MAX:
                self._clauses.extend([-a, -b] for a, b in itertools.combinations(lits, 2))
            else:
                amo = CardEnc.atmost(lits=lits, bound=1, vpool=self._pool, encoding=EncType.seqcounter)
                self._clauses.extend(list(cl) for cl in amo.clauses)

    def _encode_constraint(self, number: int, c: Constraint) -> None:
        if not c.scope:
            if not c.predicate():
                self._unsat = True
            return
        index = {v.name: i for i, v in enumerate(self.model.variables)}
        positions = [index[name] for name in c.scope]
        domains = [self.model.variables[i].domain for i in positions]
        size = math.prod(len(d) for d in domains)
        if size > self.table_limit:
            raise SearchLimitExceeded(
                self.name,
                f"rule {c.rule_id!r} spans {size} value combinations over {', '.join(c.scope)}, "
                f"more than the table limit of {self.table_limit}",
            )
        allowed: list[list[int]] = []
        forbidden: list[list[int]] = []
        for combo in itertools.product(*(range(len(d)) for d in domains)):
            values = tuple(d[k] for d, k in zip(domains, combo, strict=True))
            ok = values in c.allowed if c.allowed is not None else bool(c.predicate(*values))
            lits = [self._lits[i][k] for i, k in zip(positions, combo, strict=True)]
            (allowed if ok else forbidden).append(lits)
        if not forbidden:
            return
        arity = len(c.scope)
        if len(forbidden) * arity <= len(allowed) * (arity + 1) + 1:
            # One clause per forbidden tuple: "not all of these values".
            self._clauses.extend([-lit for lit in lits] for lits in forbidden)
            return
        # Support encoding: one auxiliary literal per allowed tuple, which
        # implies each of its values; at least one allowed tuple holds.
        supports: list[int] = []
        for j, lits in enumerate(allowed):
            t = self._pool.id(("t", number, j))
            supports.append(t)
            self._clauses.extend([-t, lit] for lit in lits)
        self._clauses.append(supports)  # empty when nothing is allowed: UNSAT

    # -- queries ------------------------------------------------------------------------------------

    def _assumptions(self, restrict: Restriction) -> list[int] | None:
        """Negated literals of the values ``restrict`` excludes; ``None`` if a domain empties."""
        domains = restricted_domains(self.model, restrict)
        if self._unsat:
            return None
        out: list[int] = []
        for i, var in enumerate(self.model.variables):
            kept = set(domains[var.name])
            if not kept:
                return None
            if var.name in restrict:
                out.extend(-self._lits[i][k] for k, x in enumerate(var.domain) if x not in kept)
        return out

    def _values(self, model: list[int]) -> list[int]:
        """Value index of each variable in a SAT model."""
        chosen = [-1] * len(self._lits)
        for lit in model:
            if lit > 0 and lit in self._decode:
                i, k = self._decode[lit]
                chosen[i] = k
        return chosen

    def _solution(self, chosen: list[int]) -> dict[str, Value]:
        return {v.name: v.domain[k] for v, k in zip(self.model.variables, chosen, strict=True)}

    def _solve_under(self, assumptions: list[int]) -> list[int] | None:
        if not self._solver.solve(assumptions=assumptions):
            return None
        model = self._solver.get_model()
        assert model is not None
        return self._values(model)

    def propagate(self, restrict: Restriction) -> dict[str, frozenset[Value]] | None:
        assumptions = self._assumptions(restrict)
        if assumptions is None:
            return None
        excluded = set(assumptions)
        with self._lock:
            first = self._solve_under(assumptions)
            if first is None:
                return None
            supported = [[False] * len(lits) for lits in self._lits]
            self._mark(supported, first)
            for i, lits in enumerate(self._lits):
                for k, lit in enumerate(lits):
                    if supported[i][k] or -lit in excluded:
                        continue
                    found = self._solve_under([*assumptions, lit])
                    if found is not None:
                        self._mark(supported, found)
        return {
            v.name: frozenset(x for x, ok in zip(v.domain, supported[i], strict=True) if ok)
            for i, v in enumerate(self.model.variables)
        }

    @staticmethod
    def _mark(supported: list[list[bool]], chosen: list[int]) -> None:
        for i, k in enumerate(chosen):
            supported[i][k] = True

    def count(self, restrict: Restriction) -> int:
        """Exact count by enumeration with blocking clauses (exponential; see ``count_limit``)."""
        assumptions = self._assumptions(restrict)
        if assumptions is None:
            return 0
        if not self._lits:
            return 1
        n = 0
        with Solver(name=self.solver_name, bootstrap_with=self._clauses) as copy:
            for lit in assumptions:
                copy.add_clause([lit])
            while copy.solve():
                model = copy.get_model()
                assert model is not None
                chosen = self._values(model)
                n += 1
                if n > self.count_limit:
                    raise SearchLimitExceeded(
                        self.name,
                        f"more than {self.count_limit} solutions to count by enumeration "
                        f"in model {self.model.key!r}",
                    )
                # Block this assignment of the model variables (auxiliary
                # literals are determined by it, so nothing is counted twice).
                copy.add_clause([-self._lits[i][k] for i, k in enumerate(chosen)])
        return n

    def solve(self, restrict: Restriction, weights: Weights | None = None) -> dict[str, Value] | None:
        check_weights(self.model, weights)
        assumptions = self._assumptions(restrict)
        if assumptions is None:
            return None
        domains = restricted_domains(self.model, restrict)
        int_weights = _integer_weights(self.model, domains, weights or {})
        if not any(any(ws) for ws in int_weights):
            with self._lock:
                chosen = self._lex_min(assumptions, domains)
        else:
            chosen = self._weighted_min(assumptions, domains, int_weights)
        return None if chosen is None else self._solution(chosen)

    def _lex_min(self, assumptions: list[int], domains: dict[str, tuple[Value, ...]]) -> list[int] | None:
        """The solution with the lexicographically least domain positions (model order)."""
        current = self._solve_under(assumptions)
        if current is None:
            return None
        fixed = list(assumptions)
        for i, var in enumerate(self.model.variables):
            kept = set(domains[var.name])
            # Only values before the one the current model uses can improve it;
            # the first of them that extends the fixed prefix is the answer.
            for k in range(current[i]):
                if var.domain[k] not in kept:
                    continue
                found = self._solve_under([*fixed, self._lits[i][k]])
                if found is not None:
                    current = found
                    break
            fixed.append(self._lits[i][current[i]])
        return current

    def _weighted_min(
        self,
        assumptions: list[int],
        domains: dict[str, tuple[Value, ...]],
        int_weights: list[list[int]],
    ) -> list[int] | None:
        # Objective = weight * span + lexicographic rank, where the rank of a
        # solution is its tuple of positions in the restricted domains read as
        # a mixed-radix number (variables in model order) and span exceeds
        # every rank: minimizing it minimizes the weight, then breaks ties as
        # the Protocol requires. Python ints keep the large weights exact.
        sizes = [len(domains[v.name]) for v in self.model.variables]
        span = math.prod(sizes)
        wcnf = WCNF()
        for clause in self._clauses:
            wcnf.append(clause)
        for lit in assumptions:
            wcnf.append([lit])
        place = span
        for i, var in enumerate(self.model.variables):
            place //= sizes[i]
            kept = set(domains[var.name])
            rank = 0
            for k, x in enumerate(var.domain):
                if x not in kept:
                    continue
                w = int_weights[i][k] * span + rank * place
                if w > 0:
                    wcnf.append([-self._lits[i][k]], weight=w)
                rank += 1
        with RC2(wcnf) as rc2:
            model = rc2.compute()
        return None if model is None else self._values(list(model))


def _integer_weights(
    model: Model, domains: dict[str, tuple[Value, ...]], weights: Mapping[str, Mapping[Any, Fraction]]
) -> list[list[int]]:
    """Non-negative integer weights per (variable, value index) with the same minimizers.

    Each variable's weights are shifted so its cheapest allowed value costs 0
    (a constant shift per variable changes every solution's total equally),
    then all are scaled by the least common denominator.
    """
    rows: list[list[Fraction]] = []
    for var in model.variables:
        given = weights.get(var.name, {})
        row = [Fraction(given.get(x, 0)) for x in var.domain]
        kept = set(domains[var.name])
        low = min((w for w, x in zip(row, var.domain, strict=True) if x in kept), default=Fraction(0))
        rows.append([w - low if x in kept else Fraction(0) for w, x in zip(row, var.domain, strict=True)])
    scale = math.lcm(*(w.denominator for row in rows for w in row)) if rows else 1
    return [[int(w * scale) for w in row] for row in rows]
