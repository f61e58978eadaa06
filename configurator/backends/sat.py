"""SAT fallback backend over python-sat (``pysat``).

Used when a model does not compile into a decision diagram within budget.

Encoding: each variable ``x`` with domain ``d1..dn`` gets one Boolean per
value ("x = di", one-hot) with exactly-one (pairwise for small domains, a
sequential counter beyond). Each constraint is tabulated over the product of
its scope's domains (from ``allowed`` when the IR has it, else by calling the
predicate) and encoded either by the clauses of a Shannon expansion of the
table (:func:`_table_cnf`: never more clauses than forbidden tuples, and a
few for implications, or-chains and auxiliary definitions) or, when the
allowed tuples are the fewer, by one auxiliary "support" literal per allowed
tuple (the tuple implies its values; one tuple must hold). A restriction
reaches the incremental solver only as assumptions (negated value literals),
so one solver instance answers every query.

- ``propagate``: solution-guided: every model found marks one value of every
  variable as supported; each further call asks for a solution taking *any*
  value still unmarked (one clause over all of them, phases pointing at
  them), so one call marks many values and one UNSAT answer proves all the
  rest unsupported (core and dead features at once).
- ``count``: a DPLL-style model counter over the tabulated constraints
  (generalized arc consistency after each branch, independent components
  counted separately and multiplied, components cached by their domains), so
  loosely coupled products count fast; it is still exponential in the worst
  case and bounded by ``count_node_limit`` branch nodes
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
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
from pysat.card import CardEnc, EncType
from pysat.examples.rc2 import RC2
from pysat.formula import WCNF, IDPool
from pysat.solvers import Solver

from catalog.snapshot import Value
from configurator.backends.base import SearchLimitExceeded, UnknownVariable
from configurator.backends.brute import Weights, check_weights, restricted_domains
from configurator.model import Constraint, Model, Restriction

_PAIRWISE_MAX = 6
"""Largest domain whose at-most-one uses pairwise clauses (n(n-1)/2 of them)."""


class SatBackend:
    """Incremental SAT with assumptions; answers models too large to compile.

    ``table_limit`` bounds the product of a constraint's scope domains that is
    tabulated (:class:`SearchLimitExceeded` naming the rule beyond it);
    ``count_node_limit`` bounds the branch nodes ``count`` may visit. The
    instance is safe to share between threads: queries are serialized.
    """

    name = "sat"

    def __init__(
        self,
        model: Model,
        *,
        solver_name: str = "cadical153",
        count_node_limit: int = 1_000_000,
        table_limit: int = 2_000_000,
    ) -> None:
        self.model = model
        self.solver_name = solver_name
        self.count_node_limit = count_node_limit
        self.table_limit = table_limit
        self._pool = IDPool()
        # (variable index, value index) -> literal, and back.
        self._lits: list[list[int]] = [
            [self._pool.id(("x", i, k)) for k in range(len(v.domain))] for i, v in enumerate(model.variables)
        ]
        self._decode: dict[int, tuple[int, int]] = {
            lit: (i, k) for i, lits in enumerate(self._lits) for k, lit in enumerate(lits)
        }
        self._n_values = sum(len(lits) for lits in self._lits)
        assert all(lit <= self._n_values for lits in self._lits for lit in lits)
        self._activations = itertools.count()
        self._index = {v.name: i for i, v in enumerate(model.variables)}
        self._clauses: list[list[int]] = []
        self._tables: list[tuple[tuple[int, ...], list[tuple[int, ...]]]] = []
        """Each constraint as (distinct variable indices, allowed value-index tuples), for counting."""
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
        positions = [self._index[name] for name in c.scope]
        domains = [self.model.variables[i].domain for i in positions]
        size = math.prod(len(d) for d in domains)
        if c.allowed is not None and size > 4 * max(len(c.allowed), 1):
            # A sparse table (Renault has one of 130M combinations and a few hundred rows):
            # encode its rows directly instead of walking the whole Cartesian product.
            self._encode_rows(number, c, positions, domains)
            return
        if size > self.table_limit:
            raise SearchLimitExceeded(
                self.name,
                f"rule {c.rule_id!r} spans {size} value combinations over {', '.join(c.scope)}, "
                f"more than the table limit of {self.table_limit}",
            )
        rows: list[tuple[int, ...]] = []
        distinct = tuple(dict.fromkeys(positions))
        for combo in itertools.product(*(range(len(d)) for d in domains)):
            values = tuple(d[k] for d, k in zip(domains, combo, strict=True))
            if not (values in c.allowed if c.allowed is not None else bool(c.predicate(*values))):
                continue
            seen = dict(zip(positions, combo, strict=True))
            # A variable listed twice in a scope must take one value.
            if all(seen[i] == k for i, k in zip(positions, combo, strict=True)):
                rows.append(tuple(seen[i] for i in distinct))
        self._tables.append((distinct, rows))
        if not rows:
            self._unsat = True
            return
        sizes = [len(self._lits[i]) for i in distinct]
        if len(rows) == math.prod(sizes):
            return  # excludes nothing
        lits = [self._lits[i] for i in distinct]
        clauses = _table_cnf(rows, sizes, lits)
        arity = len(distinct)
        if sum(map(len, clauses)) <= len(rows) * (2 * arity + 1):
            self._clauses.extend(clauses)
            return
        # Support encoding: one auxiliary literal per allowed tuple, which
        # implies each of its values; at least one allowed tuple holds.
        supports: list[int] = []
        for j, row in enumerate(rows):
            t = self._pool.id(("t", number, j))
            supports.append(t)
            self._clauses.extend([-t, lits[p][k]] for p, k in enumerate(row))
        self._clauses.append(supports)

    def _encode_rows(
        self, number: int, c: Constraint, positions: list[int], domains: list[tuple[Value, ...]]
    ) -> None:
        """Support encoding straight from ``c.allowed``: one auxiliary literal per row."""
        assert c.allowed is not None
        value_index = [{v: k for k, v in enumerate(d)} for d in domains]
        distinct = tuple(dict.fromkeys(positions))
        combos: set[tuple[int, ...]] = set()
        for row in c.allowed:
            ks = [value_index[j].get(v) for j, v in enumerate(row)]
            if any(k is None for k in ks):
                continue  # a row naming a value outside the domain can never hold
            combos.add(tuple(k for k in ks if k is not None))
        rows: list[tuple[int, ...]] = []
        supports: list[int] = []
        for j, combo in enumerate(sorted(combos)):  # sorted: the same clauses on every run
            seen = dict(zip(positions, combo, strict=True))
            if not all(seen[i] == k for i, k in zip(positions, combo, strict=True)):
                continue  # a variable listed twice in the scope with two different values
            rows.append(tuple(seen[i] for i in distinct))
            t = self._pool.id(("t", number, j))
            supports.append(t)
            self._clauses.extend([-t, self._lits[i][k]] for i, k in zip(positions, combo, strict=True))
        self._tables.append((distinct, rows))
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

    def satisfiable(self, restrict: Restriction) -> bool:
        """Whether some full solution respects ``restrict``: one solver call under assumptions built
        from ``restrict``'s own entries (not a walk over every variable), nothing minimised and no
        supports looked for. A name that is not a model variable raises :class:`UnknownVariable`."""
        if self._unsat:
            return False
        assumptions: list[int] = []
        variables = self.model.variables
        for name, kept in restrict.items():
            i = self._index.get(name)
            if i is None:
                raise UnknownVariable(name, self.model.key)
            excluded = [-lit for x, lit in zip(variables[i].domain, self._lits[i], strict=True) if x not in kept]
            if len(excluded) == len(self._lits[i]):
                return False
            assumptions.extend(excluded)
        with self._lock:
            return bool(self._solver.solve(assumptions=assumptions))

    def propagate(self, restrict: Restriction) -> dict[str, frozenset[Value]] | None:
        assumptions = self._assumptions(restrict)
        if assumptions is None:
            return None
        excluded = set(assumptions)
        n = self._n_values
        with self._lock:
            if not self._solver.solve(assumptions=assumptions):
                return None
            model = self._solver.get_model()
            assert model is not None
            # Value literals are the first ids of the pool (1..n), so model[lit - 1] is their sign.
            seen = [False] * (n + 1)
            for lit in model[:n]:
                if lit > 0:
                    seen[lit] = True
            unseen = [lit for lit in range(1, n + 1) if not seen[lit] and -lit not in excluded]
            # Phases point at the unseen values and away from the values seen (then, per call,
            # away from the newly seen ones only: the solver keeps phases between calls).
            unseen_set = set(unseen)
            self._solver.set_phases([lit if lit in unseen_set else -lit for lit in range(1, n + 1)])
            # Solution-guided, many values per call: "is there a solution taking at least one value
            # not seen in any solution so far?" (a clause over them, switched on by a fresh activation
            # literal). A solution marks every value it takes; "no" proves all remaining values
            # unsupported at once. Each "yes" marks at least one new value, so this ends after at
            # most as many calls as there are values.
            while unseen:
                act = self._pool.id(("act", next(self._activations)))
                self._solver.add_clause([-act, *unseen])
                found = self._solver.solve(assumptions=[*assumptions, act])
                model = self._solver.get_model() if found else None
                self._solver.add_clause([-act])  # retire the query clause
                if model is None:
                    break
                still: list[int] = []
                newly: list[int] = []
                for lit in unseen:
                    (newly if model[lit - 1] > 0 else still).append(lit)
                for lit in newly:
                    seen[lit] = True
                self._solver.set_phases([-lit for lit in newly])
                unseen = still
        return {
            v.name: frozenset(x for x, lit in zip(v.domain, self._lits[i], strict=True) if seen[lit])
            for i, v in enumerate(self.model.variables)
        }

    def count(self, restrict: Restriction) -> int:
        """Exact count by component-caching search (exponential in the worst case)."""
        assumptions = self._assumptions(restrict)
        if assumptions is None:
            return 0
        excluded = set(assumptions)
        domains = [sum(1 << k for k, lit in enumerate(lits) if -lit not in excluded) for lits in self._lits]
        counter = _ComponentCounter(self._tables, len(self._lits), self.count_node_limit)
        try:
            return counter.count(domains)
        except _NodeLimit:
            raise SearchLimitExceeded(
                self.name,
                f"counting model {self.model.key!r} needs more than {self.count_node_limit} search nodes",
            ) from None

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


def _table_cnf(rows: Sequence[tuple[int, ...]], sizes: Sequence[int], lits: Sequence[Sequence[int]]) -> list[list[int]]:
    """Clauses equivalent to "the value indices form one of ``rows``" (given exactly-one per variable).

    A Shannon expansion in scope order: values of a variable whose remaining
    tables (cofactors) are equal share one branch, a variable on which the
    table does not depend is skipped, and an empty cofactor closes a clause
    "the path so far does not hold". Every clause covers at least one
    forbidden tuple and no two cover the same one, so there are never more
    clauses than forbidden tuples; for rules such as ``aux = a or b or ...``
    (the decomposer's definitions) it is the usual handful of clauses instead
    of one clause per forbidden tuple.

    >>> lits = [[1, 2], [3, 4], [5, 6]]   # three bools: literals for False, True
    >>> rows = [(a, b, int(a or b)) for a in (0, 1) for b in (0, 1)]   # z = a or b
    >>> sorted(sorted(c) for c in _table_cnf(rows, [2, 2, 2], lits))   # z or not a, ..., not z or a or b
    [[-6, -3, -1], [-5, -4, -1], [-5, -2]]
    """
    memo: dict[tuple[int, frozenset[tuple[int, ...]]], list[list[int]]] = {}
    spaces = [math.prod(sizes[d:]) for d in range(len(sizes) + 1)]

    def expand(depth: int, table: frozenset[tuple[int, ...]]) -> list[list[int]]:
        if not table:
            return [[]]
        if len(table) == spaces[depth]:
            return []
        key = (depth, table)
        known = memo.get(key)
        if known is not None:
            return known
        by_value: list[set[tuple[int, ...]]] = [set() for _ in range(sizes[depth])]
        for row in table:
            by_value[row[0]].add(row[1:])
        groups: dict[frozenset[tuple[int, ...]], list[int]] = {}
        for k, rest in enumerate(by_value):
            groups.setdefault(frozenset(rest), []).append(k)
        out: list[list[int]] = []
        if len(groups) == 1:
            out = expand(depth + 1, next(iter(groups)))
        else:
            here = lits[depth]
            for cofactor, ks in groups.items():
                # "this variable is not one of ks": one negative literal, or the other values.
                if len(ks) == 1:
                    guard = [-here[ks[0]]]
                else:
                    chosen = set(ks)
                    guard = [lit for k, lit in enumerate(here) if k not in chosen]
                out.extend(guard + clause for clause in expand(depth + 1, cofactor))
        memo[key] = out
        return out

    return expand(0, frozenset(rows))


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


_VECTOR_ROWS = 32
"""Tables with more rows than this are scanned by the counter with numpy instead of row by row."""


def _bits(column: npt.NDArray[np.int64], width: int) -> int:
    """The bitset of the value indices present in ``column``."""
    present = np.zeros(width, dtype=np.bool_)
    present[column] = True
    return sum(1 << k for k in np.flatnonzero(present).tolist())


class _NodeLimit(Exception):
    pass


class _ComponentCounter:
    """#CSP by branching, with arc consistency, decomposition and caching.

    Domains are bitsets of value indices. After each branch, generalized arc
    consistency on the tables leaves every constraint with at most one
    unfixed variable entailed, so the unfixed variables split into
    independent components (linked by constraints over two or more of them)
    whose counts multiply. A component's count depends only on its own
    domains and the fixed values around it, which is the cache key.
    """

    def __init__(
        self, tables: Sequence[tuple[tuple[int, ...], list[tuple[int, ...]]]], n_vars: int, node_limit: int
    ) -> None:
        self._tables = tables
        self._touching: list[list[int]] = [[] for _ in range(n_vars)]
        for number, (scope, _) in enumerate(tables):
            for i in scope:
                self._touching[i].append(number)
        # Large tables are scanned with numpy: rows as an array, per column its width (largest index + 1).
        self._arrays: list[tuple[npt.NDArray[np.int64], list[int]] | None] = []
        for scope, rows in tables:
            if len(rows) > _VECTOR_ROWS:
                arr = np.array(rows, dtype=np.int64).reshape(len(rows), len(scope))
                self._arrays.append((arr, [int(w) + 1 for w in arr.max(axis=0).tolist()]))
            else:
                self._arrays.append(None)
        self._node_limit = node_limit
        self._nodes = 0
        self._cache: dict[tuple[tuple[int, ...], tuple[int, ...]], int] = {}

    def count(self, domains: list[int]) -> int:
        if not self._arc_consistent(domains, range(len(self._tables))):
            return 0
        return self._split(domains, range(len(domains)))

    def _arc_consistent(self, domains: list[int], constraints: Iterable[int]) -> bool:
        """Narrow ``domains`` in place to values with a support in every table; False if one empties."""
        queue = list(dict.fromkeys(constraints))
        queued = set(queue)
        while queue:
            number = queue.pop()
            queued.discard(number)
            scope, rows = self._tables[number]
            vector = self._arrays[number]
            if vector is not None:
                arr, widths = vector
                inside = self._inside(domains, scope, arr, widths)
                support = [_bits(arr[inside, p], widths[p]) for p in range(len(scope))]
            else:
                support = [0] * len(scope)
                for row in rows:
                    if all(domains[i] >> k & 1 for i, k in zip(scope, row, strict=True)):
                        for p, k in enumerate(row):
                            support[p] |= 1 << k
            for p, i in enumerate(scope):
                narrowed = domains[i] & support[p]
                if narrowed != domains[i]:
                    if not narrowed:
                        return False
                    domains[i] = narrowed
                    for other in self._touching[i]:
                        if other != number and other not in queued:
                            queued.add(other)
                            queue.append(other)
        return True

    def _split(self, domains: list[int], variables: Iterable[int]) -> int:
        """Count the completions of ``variables`` (domains arc consistent) as a product of components."""
        free = [i for i in variables if domains[i] & (domains[i] - 1)]
        parent = {i: i for i in free}

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        linking = {n for i in free for n in self._touching[i]}
        for number in linking:
            scope = self._tables[number][0]
            inside = [j for j in scope if j in parent]
            if len(inside) < 2 or self._entailed(domains, number):
                continue  # a constraint every remaining combination satisfies links nothing
            for j in inside[1:]:
                parent[root(j)] = root(inside[0])
        components: dict[int, list[int]] = {}
        for i in free:
            components.setdefault(root(i), []).append(i)
        total = 1
        for component in components.values():
            if len(component) == 1:
                # Only entailed constraints touch a lone free variable.
                total *= domains[component[0]].bit_count()
            else:
                total *= self._component(domains, component)
            if total == 0:
                return 0
        return total

    def _entailed(self, domains: list[int], number: int) -> bool:
        """Whether every combination of the current domains of the constraint's scope is one of its rows
        (the rows are distinct: count those inside the domains)."""
        scope, rows = self._tables[number]
        space = math.prod(domains[i].bit_count() for i in scope)
        if space > len(rows):
            return False
        vector = self._arrays[number]
        if vector is not None:
            return int(np.count_nonzero(self._inside(domains, scope, *vector))) == space
        inside = sum(1 for row in rows if all(domains[i] >> k & 1 for i, k in zip(scope, row, strict=True)))
        return inside == space

    @staticmethod
    def _inside(
        domains: list[int], scope: tuple[int, ...], arr: npt.NDArray[np.int64], widths: list[int]
    ) -> npt.NDArray[np.bool_]:
        """Which rows of a table lie inside the current domains."""
        inside = np.ones(len(arr), dtype=np.bool_)
        for p, i in enumerate(scope):
            d = domains[i]
            inside &= np.array([d >> k & 1 for k in range(widths[p])], dtype=np.bool_)[arr[:, p]]
        return inside

    def _component(self, domains: list[int], component: list[int]) -> int:
        touching = sorted({n for i in component for n in self._touching[i]})
        around = sorted({j for n in touching for j in self._tables[n][0]})
        key = (tuple(component), tuple(domains[j] for j in around))
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        self._nodes += 1
        if self._nodes > self._node_limit:
            raise _NodeLimit
        # Branch on the most constrained variable: it splits the component soonest.
        pivot = max(component, key=lambda i: (len(self._touching[i]), -domains[i].bit_count()))
        total = 0
        bits = domains[pivot]
        while bits:
            bit = bits & -bits
            bits ^= bit
            branch = list(domains)
            branch[pivot] = bit
            if self._arc_consistent(branch, self._touching[pivot]):
                total += self._split(branch, component)
        self._cache[key] = total
        return total
