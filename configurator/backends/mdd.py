"""The default backend: the model compiled once into a layered multi-valued decision diagram.

Compilation goes through a BDD (CUDD via ``dd.cudd``): every variable's value
*index* is encoded in ``ceil(log2 |domain|)`` bits (kept together as a CUDD
variable group, so reordering moves a variable's bits as one block), each
constraint becomes a BDD built directly from its allowed tuples, and the
constraints are conjoined as a balanced tree in scope-locality order with
dynamic reordering (group sifting) switched on. The final BDD is then read out
into a layered MDD, one layer per variable in the BDD's final order, held in
plain Python lists and ``int`` bitsets. After that the BDD is thrown away and
every query is a pass or two over the MDD:

- ``propagate``: a backward pass marks the nodes that still reach the true
  terminal under the restriction, a forward pass walks the live part from the
  root and collects the values on live edges (global consistency);
- ``count``: path counting with exact Python ints;
- ``solve``: shortest path with exact ``Fraction`` weights, ties broken
  towards earlier domain values in the model's variable order.

Layers are complete: an edge always goes from layer ``i`` to layer ``i + 1``
(a BDD node that does not test a variable is repeated in that variable's
layer with one edge per value), so there are no long edges and counting needs
no multiplicities. Every MDD node reaches the true terminal (the BDD is
reduced and the domain constraints are part of it), which is what makes the
"full layer" shortcuts in ``propagate`` valid.

>>> from configurator.model import Constraint, Model, Variable
>>> m = Model(key="doc-mdd", variables=(Variable("a", (1, 2, 3), "a"), Variable("b", (1, 2, 3), "b")),
...           constraints=(Constraint("lt", ("a", "b"), lambda a, b: a < b),))
>>> be = MddBackend(m)
>>> be.count({}), sorted(be.propagate({"b": frozenset({2})})["a"])
(3, [1])
>>> be.solve({}, {"b": {2: Fraction(-5)}})
{'a': 1, 'b': 2}
"""

from __future__ import annotations

import itertools
import math
import threading
import time
import traceback
import warnings
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import dd.cudd as cudd
import numpy as np
import numpy.typing as npt

from catalog.snapshot import Value
from configurator.backends.base import CompileBudgetExceeded, UnknownVariable
from configurator.model import Constraint, Model, Restriction

DEFAULT_NODE_BUDGET = 2_000_000
"""Largest BDD (any intermediate conjunction) and largest MDD, in nodes."""
DEFAULT_TIME_BUDGET_S = 60.0
"""Wall-clock seconds a compilation may take; checked between BDD operations."""
MAX_TABLE_ROWS = 2_000_000
"""Largest Cartesian product enumerated to turn one predicate constraint into a table."""
REORDER_MAX_BITS = 1024
"""Models with more BDD bits than this are compiled in their initial variable order, without sifting."""
REORDER_FIRST_AT = 100_000
"""Intermediate BDD size that first triggers a sifting pass while conjoining (then twice the size)."""
CACHE_SIZE = 32
"""Compiled diagrams kept in the module-level LRU (keyed by ``Model.key``)."""
_BYTES_PER_NODE = 400
"""CUDD memory allowance per budgeted node (node, unique table, computed table)."""
_MIN_CUDD_MEMORY = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class MddStats:
    """What a compilation produced and cost."""

    compile_seconds: float
    bdd_nodes: int
    """Nodes of the final BDD (after the last reordering)."""
    peak_bdd_nodes: int
    """Largest intermediate BDD met while conjoining."""
    mdd_nodes: int
    """Nodes of the layered MDD, terminal included."""
    mdd_edges: int
    order: tuple[str, ...]
    """Solver variables in layer order (the BDD's final order)."""
    reorderings: int
    phases: tuple[tuple[str, float], ...] = ()
    """Seconds per compile phase: tables, conjoin, reorder, convert, index."""


class _Diagram:
    """A compiled layered MDD plus precomputed unrestricted answers.

    Layer ``i`` holds the nodes where variable ``order[i]`` is decided; layer
    ``n`` is the single true terminal. Nodes are local indices per layer;
    node sets are ``int`` bitsets. Immutable after construction.
    """

    def __init__(
        self,
        model: Model,
        order: Sequence[int],
        kids: list[list[tuple[tuple[int, int], ...]]],
        stats: MddStats | None,
    ) -> None:
        self.model = model
        self.stats = stats or MddStats(0.0, 0, 0, 0, 0, (), 0)
        self.n = len(order)
        self.order = tuple(order)
        """Model variable position of each layer."""
        self.layer_of = {model.variables[p].name: i for i, p in enumerate(order)}
        self.domains = [model.variables[p].domain for p in order]
        self.index = [{v: k for k, v in enumerate(dom)} for dom in self.domains]
        self.empty = bool(kids) and not kids[0]
        """The model has no solution (a model without variables has one: the empty assignment)."""
        # Per layer: per node its (value, child) edges, split for speed.
        self.vals: list[list[tuple[int, ...]]] = [[tuple(a for a, _ in e) for e in layer] for layer in kids]
        self.dsts: list[list[tuple[int, ...]]] = [[tuple(d for _, d in e) for e in layer] for layer in kids]
        self.size = [len(layer) for layer in kids] + [1]
        self.full = [(1 << s) - 1 for s in self.size]
        self._bitsets()
        self._edges()
        self._counts()
        self.frozen: list[dict[int, frozenset[Value]]] = [{} for _ in range(self.n)]
        self.unrestricted = None if self.empty else self._to_result(self.layer_vals)

    def _bitsets(self) -> None:
        n = self.n
        self.out_vals: list[list[int]] = []
        self.kid_mask: list[list[int]] = []
        self.parents: list[list[int]] = []
        self.in_vals: list[list[int]] = []
        self.has_val: list[list[int]] = []
        self.layer_vals: list[int] = []
        for i in range(n):
            out_vals, kid_mask = [], []
            parents = [0] * self.size[i + 1]
            in_vals = [0] * self.size[i + 1]
            has_val = [0] * len(self.domains[i])
            for u, (vs, ds) in enumerate(zip(self.vals[i], self.dsts[i], strict=True)):
                ov = km = 0
                for a, d in zip(vs, ds, strict=True):
                    ov |= 1 << a
                    km |= 1 << d
                    parents[d] |= 1 << u
                    in_vals[d] |= 1 << a
                    has_val[a] |= 1 << u
                out_vals.append(ov)
                kid_mask.append(km)
            self.out_vals.append(out_vals)
            self.kid_mask.append(kid_mask)
            self.parents.append(parents)
            self.in_vals.append(in_vals)
            self.has_val.append(has_val)
            lv = 0
            for ov in out_vals:
                lv |= ov
            self.layer_vals.append(lv)

    def _edges(self) -> None:
        """Edge-level bitsets and chunked union maps for the bit-parallel query passes.

        Each layer's edges are numbered by (value, source), so the edges carrying one value are a
        contiguous run of bits. A node set becomes an edge set (its out- or in-edges) and back with
        one :class:`_Union` each: a handful of dictionary look-ups per 8 nodes instead of a Python
        step per node or edge, which is what keeps queries restricting variables spread across
        the whole order fast.
        """
        self.val_edges: list[list[int]] = []
        self.all_edges: list[int] = []
        self.pre: list[_Union] = []
        self.kids_of: list[_Union] = []
        self.out_vals_of: list[_Union] = []
        self._by_value: dict[tuple[int, int, bool], _Union] = {}
        self.in_vals_of: list[_Union] = []
        self.out_edges: list[_Union] = []
        self.in_edges: list[_Union] = []
        self.edge_src: list[_Union] = []
        self.edge_dst: list[_Union] = []
        self.allowed_edges: list[_Union] = []
        self.edge_vals: list[_Union] = []
        self.succ: list[list[dict[int, int]]] = []
        self.pairs: list[list[tuple[tuple[int, int], ...]]] = []
        for i in range(self.n):
            edges = sorted(
                (a, u, d)
                for u, (vs, ds) in enumerate(zip(self.vals[i], self.dsts[i], strict=True))
                for a, d in zip(vs, ds, strict=True)
            )
            ndom = len(self.domains[i])
            out_e = [0] * self.size[i]
            in_e = [0] * self.size[i + 1]
            val_e = [0] * ndom
            succ: list[dict[int, int]] = [{} for _ in range(ndom)]
            for e, (a, u, d) in enumerate(edges):
                bit = 1 << e
                out_e[u] |= bit
                in_e[d] |= bit
                val_e[a] |= bit
                succ[a][u] = d
            self.val_edges.append(val_e)
            self.all_edges.append((1 << len(edges)) - 1)
            self.pre.append(_Union(self.parents[i]))
            self.kids_of.append(_Union(self.kid_mask[i]))
            self.out_vals_of.append(_Union(self.out_vals[i]))
            self.in_vals_of.append(_Union(self.in_vals[i]))
            self.out_edges.append(_Union(out_e))
            self.in_edges.append(_Union(in_e))
            self.edge_src.append(_Union([1 << u for _, u, _ in edges]))
            self.edge_dst.append(_Union([1 << d for _, _, d in edges]))
            self.allowed_edges.append(_Union(val_e))
            self.edge_vals.append(_Union([1 << a for a, _, _ in edges]))
            self.succ.append(succ)
            layer_pairs = []
            for ds in self.dsts[i]:
                mult: dict[int, int] = {}
                for d in ds:
                    mult[d] = mult.get(d, 0) + 1
                layer_pairs.append(tuple(mult.items()))
            self.pairs.append(layer_pairs)

    def by_value(self, i: int, a: int, forward: bool) -> _Union:
        """Layer ``i``'s edges of value ``a`` as a union map: node -> child (forward) or child -> parents.

        Built on first use: most (layer, value) pairs of a large model are never restricted alone.
        """
        key = (i, a, forward)
        got = self._by_value.get(key)
        if got is None:
            succ = self.succ[i][a]
            if forward:
                image = [0] * self.size[i]
                for u, d in succ.items():
                    image[u] = 1 << d
            else:
                image = [0] * self.size[i + 1]
                for u, d in succ.items():
                    image[d] |= 1 << u
            got = self._by_value[key] = _Union(image)
        return got

    def _counts(self) -> None:
        n = self.n
        below: list[list[int]] = [[] for _ in range(n + 1)]
        below[n] = [1]
        for i in range(n - 1, -1, -1):
            nxt = below[i + 1]
            below[i] = [sum(nxt[d] for d in ds) for ds in self.dsts[i]]
        above: list[list[int]] = [[0] * s for s in self.size]
        if not self.empty:
            above[0][0] = 1
        for i in range(n):
            cur, nxt = above[i], above[i + 1]
            for u, ds in enumerate(self.dsts[i]):
                for d in ds:
                    nxt[d] += cur[u]
        self.below = below
        self.above = above
        self.total = below[0][0] if not self.empty else 0

    # -- restriction -------------------------------------------------------

    def masks(self, restrict: Restriction) -> list[int | None] | None:
        """Allowed value-index bitset per layer (``None`` = unrestricted); ``None`` when a set is empty."""
        allowed: list[int | None] = [None] * self.n
        for name, values in restrict.items():
            i = self.layer_of.get(name)
            if i is None:
                raise UnknownVariable(name, self.model.key)
            index = self.index[i]
            m = 0
            for v in values:
                k = index.get(v)
                if k is not None:
                    m |= 1 << k
            if m == 0:
                return None
            prev = allowed[i]
            m = m if prev is None else m & prev
            if m == 0:
                return None
            if m != (1 << len(self.domains[i])) - 1:
                allowed[i] = m
        return allowed

    def _to_result(self, vals: Sequence[int]) -> dict[str, frozenset[Value]]:
        out: dict[str, frozenset[Value]] = {}
        variables = self.model.variables
        for i in range(self.n):
            m = vals[i]
            cache = self.frozen[i]
            fs = cache.get(m)
            if fs is None:
                dom = self.domains[i]
                fs = frozenset(dom[k] for k in _bits(m))
                if len(cache) < 4096:
                    cache[m] = fs
            out[variables[self.order[i]].name] = fs
        # Model order, so results print and compare the same way on every backend.
        return {v.name: out[v.name] for v in variables}

    # -- propagate -------------------------------------------------------------

    def alive(self, allowed: Sequence[int | None], hi: int) -> list[int | None] | None:
        """Per layer, the nodes that reach the terminal under ``allowed`` (``None`` = all)."""
        alive: list[int | None] = [None] * (self.n + 1)
        for i in range(hi, -1, -1):
            nxt, ai = alive[i + 1], allowed[i]
            if ai is None:
                if nxt is None:
                    continue
                # Every node reaches the terminal, so with all values allowed a node is live
                # exactly when one of its children is.
                m = self.pre[i](nxt)
            elif ai & (ai - 1) == 0:
                # One allowed value: its edges are a partial function, one node-level step.
                a = ai.bit_length() - 1
                if a >= len(self.has_val[i]):
                    return None
                m = self.has_val[i][a] if nxt is None else self.by_value(i, a, False)(nxt)
            else:
                # Live: the source of an edge with an allowed value into a live child.
                live_edges = self.allowed_edges[i](ai)
                if nxt is not None:
                    live_edges &= self.in_edges[i](nxt)
                m = self.edge_src[i](live_edges)
            if m == 0:
                return None
            alive[i] = None if m == self.full[i] else m
        return alive

    def propagate(self, restrict: Restriction) -> dict[str, frozenset[Value]] | None:
        if self.empty:
            return None
        allowed = self.masks(restrict)
        if allowed is None:
            return None
        restricted = [i for i, a in enumerate(allowed) if a is not None]
        if not restricted:
            assert self.unrestricted is not None
            return dict(self.unrestricted)
        alive = self.alive(allowed, restricted[-1])
        if alive is None:
            return None
        return self._to_result(self._forward(allowed, alive))

    def _forward(self, allowed: Sequence[int | None], alive: Sequence[int | None]) -> list[int]:
        vals = [0] * self.n
        reach: int | None = 1 if self.size[0] > 1 else None
        for i in range(self.n):
            ai, nxt = allowed[i], alive[i + 1]
            if ai is None and reach == alive[i]:
                # Every live node here is reached and every value is allowed, so each live
                # child has a reached parent: the next reach is exactly the live set.
                vals[i] = self.layer_vals[i] if nxt is None else self.in_vals_of[i](nxt)
                reach = nxt
                continue
            if ai is None and nxt is None:
                # Every child is live: the values and children of the reached nodes.
                assert reach is not None  # else reach == alive[i] (both None), handled above
                vals[i] = self.out_vals_of[i](reach)
                r = self.kids_of[i](reach)
                reach = None if r == self.full[i + 1] else r
                continue
            if ai is not None and ai & (ai - 1) == 0:
                # One allowed value (alive already checked it is a value of this layer): the
                # reached nodes' successors by that value, kept when live.
                a = ai.bit_length() - 1
                succ = self.by_value(i, a, True)
                r = succ(self.full[i] if reach is None else reach)
                if nxt is not None:
                    r &= nxt
                vals[i] = 1 << a if r else 0
                reach = None if r == self.full[i + 1] else r
                continue
            # The live edges: out of a reached node, with an allowed value, into a live child.
            live = self.all_edges[i] if reach is None else self.out_edges[i](reach)
            if nxt is not None:
                live &= self.in_edges[i](nxt)
            if ai is not None:
                live &= self.allowed_edges[i](ai)
            val_edges = self.val_edges[i]
            if len(val_edges) <= 8:
                v = 0
                for a, ve in enumerate(val_edges):
                    if live & ve:
                        v |= 1 << a
            else:
                v = self.edge_vals[i](live)
            vals[i] = v
            r = self.edge_dst[i](live)
            reach = None if r == self.full[i + 1] else r
        return vals

    # -- count -------------------------------------------------------------------

    def count(self, restrict: Restriction) -> int:
        if self.empty:
            return 0
        allowed = self.masks(restrict)
        if allowed is None:
            return 0
        restricted = [i for i, a in enumerate(allowed) if a is not None]
        if not restricted:
            return self.total
        lo, hi = restricted[0], restricted[-1]
        # Paths root -> layer lo are unrestricted (precomputed); walk forward only through the
        # band lo..hi, then finish with the precomputed unrestricted counts below hi.
        above = self.above[lo]
        fwd: dict[int, int] = {u: above[u] for u in range(self.size[lo])}
        for i in range(lo, hi + 1):
            ai = allowed[i]
            nxt: dict[int, int] = {}
            get = nxt.get
            if ai is None:
                # Parallel edges (several values into one child) are merged into a multiplicity.
                pairs = self.pairs[i]
                for u, c in fwd.items():
                    for d, k in pairs[u]:
                        nxt[d] = get(d, 0) + c * k
            else:
                # One edge per value and node: follow each allowed value's successor map.
                succ_i = self.succ[i]
                for a in _bits(ai):
                    succ = succ_i[a].get
                    for u, c in fwd.items():
                        child = succ(u)
                        if child is not None:
                            nxt[child] = get(child, 0) + c
            if not nxt:
                return 0
            fwd = nxt
        below = self.below[hi + 1]
        return sum(c * below[d] for d, c in fwd.items())

    # -- solve ---------------------------------------------------------------------

    def solve(
        self,
        restrict: Restriction,
        weights: Mapping[str, Mapping[Value, Fraction]] | None,
    ) -> dict[str, Value] | None:
        if self.empty:
            return None
        allowed = self.masks(restrict)
        if allowed is None:
            return None
        wt = self._weights(weights)
        if self.order == tuple(range(self.n)):
            return self._solve_in_order(allowed, wt)
        # Tie-break: among minimum-weight solutions take the lexicographically smallest tuple of
        # value indices in *model* order. With base B > every index, that is the minimum of
        # sum(index_j * B**(n-1-j)), a unary weight, so one shortest-path pass does both.
        variables = self.model.variables
        base = max(len(v.domain) for v in variables) if variables else 1
        nvars = len(variables)
        lex = [base ** (nvars - 1 - p) for p in self.order]
        inf: tuple[Fraction, int] | None = None
        best: list[list[tuple[Fraction, int] | None]] = [[] for _ in range(self.n + 1)]
        best[self.n] = [(Fraction(0), 0)]
        choice: list[list[int]] = [[] for _ in range(self.n)]
        for i in range(self.n - 1, -1, -1):
            best[i], choice[i] = self._best_layer(i, allowed[i], best[i + 1], wt[i], lex[i])
        if best[0][0] is inf:
            return None
        picked: dict[str, Value] = {}
        u = 0
        for i in range(self.n):
            e = choice[i][u]
            a = self.vals[i][u][e]
            picked[variables[self.order[i]].name] = self.domains[i][a]
            u = self.dsts[i][u][e]
        return {v.name: picked[v.name] for v in variables}

    def _solve_in_order(
        self, allowed: list[int | None], wt: list[list[Fraction] | None]
    ) -> dict[str, Value] | None:
        """Layers in model order: cost-only shortest path, then the first optimal edge per layer.

        Taking, layer by layer, the smallest value index that still reaches the optimum gives the
        lexicographically smallest optimal solution directly, without the huge tie-break integers
        (which make the general pass slow on models with thousands of variables).
        """
        scale = math.lcm(*(w.denominator for ws in wt if ws is not None for w in ws))
        iw = [None if ws is None or not any(ws) else [int(w * scale) for w in ws] for ws in wt]
        best: list[list[int | None]] | None = None
        alive: list[int | None] | None = [None] * (self.n + 1)
        if any(w is not None for w in iw):
            best = [[] for _ in range(self.n + 1)]
            best[self.n] = [0]
            for i in range(self.n - 1, -1, -1):
                best[i] = self._cost_layer(i, allowed[i], best[i + 1], iw[i])
            if best[0][0] is None:
                return None
        else:
            restricted = [i for i, a in enumerate(allowed) if a is not None]
            if restricted:
                alive = self.alive(allowed, restricted[-1])
                if alive is None:
                    return None
        picked: dict[str, Value] = {}
        u = 0
        for i in range(self.n):
            ai, target = allowed[i], None if best is None else best[i][u]
            nxt_alive, nxt_best, w = alive[i + 1] if alive else None, best[i + 1] if best else None, iw[i]
            for a, d in zip(self.vals[i][u], self.dsts[i][u], strict=True):
                if ai is not None and not (ai >> a) & 1:
                    continue
                if nxt_best is not None:
                    rest = nxt_best[d]
                    if rest is None or rest + (w[a] if w is not None else 0) != target:
                        continue
                elif nxt_alive is not None and not (nxt_alive >> d) & 1:
                    continue
                picked[self.model.variables[i].name] = self.domains[i][a]
                u = d
                break
        return picked

    def value_costs(
        self, restrict: Restriction, weights: Mapping[str, Mapping[Value, int]]
    ) -> dict[str, dict[Value, int]] | None:
        """Per variable and value, the least total weight of a solution taking it (absent: none).

        A backward shortest-path pass (cost to the terminal) and a forward one (cost from the root):
        a value's cost is the least ``forward + weight + backward`` over its edges.
        """
        return self.value_costs_each(restrict, weights)[0]

    def _backward(
        self, restrict: Restriction, weights: Mapping[str, Mapping[Value, int]], *, feasible_only: bool = True
    ) -> tuple[list[int | None], list[list[int] | None], list[list[int | None]]] | None:
        """Allowed masks, integer weights per layer and least cost to the terminal per node
        (``None`` when ``restrict`` has no solution, unless ``feasible_only`` is false)."""
        if self.empty:
            return None
        allowed = self.masks(restrict)
        if allowed is None:
            return None
        iw: list[list[int] | None] = [None] * self.n
        for name, per_value in weights.items():
            i = self.layer_of.get(name)
            if i is None:
                raise UnknownVariable(name, self.model.key)
            iw[i] = [int(per_value.get(v, 0)) for v in self.domains[i]]
        best: list[list[int | None]] = [[] for _ in range(self.n + 1)]
        best[self.n] = [0]
        for i in range(self.n - 1, -1, -1):
            best[i] = self._cost_layer(i, allowed[i], best[i + 1], iw[i])
        if feasible_only and (not best[0] or best[0][0] is None):
            return None
        return allowed, iw, best

    def min_solution(
        self, restrict: Restriction, weights: Mapping[str, Mapping[Value, int]]
    ) -> dict[str, Value] | None:
        """A solution of least total integer weight (ties: the smallest value index, layer by layer)."""
        fast = self._np_passes(restrict, weights)
        if fast is not None:
            return fast.min_solution()
        found = self._backward(restrict, weights)
        if found is None:
            return None
        allowed, iw, best = found
        picked: dict[str, Value] = {}
        u = 0
        for i in range(self.n):
            ai, w, nxt, target = allowed[i], iw[i], best[i + 1], best[i][u]
            pick: tuple[int, int] | None = None
            for a, d in zip(self.vals[i][u], self.dsts[i][u], strict=True):
                rest = nxt[d]
                if rest is None or (ai is not None and not (ai >> a) & 1):
                    continue
                if rest + (w[a] if w is not None else 0) == target and (pick is None or a < pick[0]):
                    pick = (a, d)
            assert pick is not None
            picked[self.model.variables[self.order[i]].name] = self.domains[i][pick[0]]
            u = pick[1]
        return {v.name: picked[v.name] for v in self.model.variables}

    def value_costs_each(
        self, restrict: Restriction, weights: Mapping[str, Mapping[Value, int]]
    ) -> tuple[dict[str, dict[Value, int]] | None, dict[str, dict[Value, int]] | None]:
        """:meth:`value_costs`, and the same per variable with *that variable's own* restriction lifted
        (every other restriction kept), from the same two passes: an edge the restriction excludes
        still counts for its own layer's second answer. The first is ``None`` when ``restrict`` has
        no solution; the lifted answers are computed then too (lifting a restriction may make it
        feasible), and are ``None`` only when the restriction leaves some variable no value at all."""
        fast = self._np_passes(restrict, weights)
        if fast is not None:
            return fast.value_costs_each()
        found = self._backward(restrict, weights, feasible_only=False)
        if found is None:
            return None, None
        allowed, iw, best = found
        feasible = bool(best[0]) and best[0][0] is not None
        out: dict[str, dict[Value, int]] = {}
        lifted: dict[str, dict[Value, int]] = {}
        fwd: list[int | None] = [0]
        for i in range(self.n):
            ai, w, nxt = allowed[i], iw[i], best[i + 1]
            vmin: list[int | None] = [None] * len(self.domains[i])
            vany: list[int | None] = [None] * len(self.domains[i])
            new_fwd: list[int | None] = [None] * self.size[i + 1]
            for u, f in enumerate(fwd):
                if f is None:
                    continue
                for a, d in zip(self.vals[i][u], self.dsts[i][u], strict=True):
                    # Forward costs follow every allowed edge (not only those that reach the terminal
                    # under the restrictions below): the lifted answers of later layers need them.
                    c = f + (w[a] if w is not None else 0)
                    allowed_here = ai is None or bool((ai >> a) & 1)
                    if allowed_here:
                        reached = new_fwd[d]
                        if reached is None or c < reached:
                            new_fwd[d] = c
                    rest = nxt[d]
                    if rest is None:
                        continue
                    total = c + rest
                    known = vany[a]
                    if known is None or total < known:
                        vany[a] = total
                    if allowed_here:
                        known = vmin[a]
                        if known is None or total < known:
                            vmin[a] = total
            fwd = new_fwd
            name = self.model.variables[self.order[i]].name
            out[name] = {self.domains[i][a]: c for a, c in enumerate(vmin) if c is not None}
            lifted[name] = {self.domains[i][a]: c for a, c in enumerate(vany) if c is not None}
        if not feasible:
            return None, lifted
        return {v.name: out[v.name] for v in self.model.variables}, lifted

    def _np_passes(self, restrict: Restriction, weights: Mapping[str, Mapping[Value, int]]) -> _CostPasses | None:
        """The backward pass of :meth:`value_costs_each` / :meth:`min_solution` on numpy arrays, or ``None``
        when the weights could overflow 64-bit integers (then the exact Python-int passes run)."""
        if self.empty:
            return None
        rows: list[list[int] | None] = [None] * self.n
        bound = 0
        for name, per_value in weights.items():
            i = self.layer_of.get(name)
            if i is None:
                raise UnknownVariable(name, self.model.key)
            row = [int(per_value.get(v, 0)) for v in self.domains[i]]
            if min(row) < 0:
                return None
            bound += max(row)
            rows[i] = row
        if bound >= _NP_BOUND:
            return None
        iw = [None if row is None else np.array(row, dtype=np.int64) for row in rows]
        return _CostPasses(self, self.masks(restrict), iw)

    def _np_layers(self) -> list[tuple[IntArray, IntArray, IntArray, IntArray]]:
        """Per layer, the edges as arrays (source node, value index, child node) and each node's first edge."""
        layers: list[tuple[IntArray, IntArray, IntArray, IntArray]] | None = getattr(self, "_np_cache", None)
        if layers is None:
            layers = []
            for i in range(self.n):
                lens = np.array([len(vs) for vs in self.vals[i]], dtype=np.int64)
                src = np.repeat(np.arange(self.size[i], dtype=np.int64), lens)
                val = np.array([a for vs in self.vals[i] for a in vs], dtype=np.int64)
                dst = np.array([d for ds in self.dsts[i] for d in ds], dtype=np.int64)
                starts = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
                layers.append((src, val, dst, starts))
            self._np_cache = layers
        return layers

    def _cost_layer(
        self, i: int, ai: int | None, nxt: list[int | None], w: list[int] | None
    ) -> list[int | None]:
        out: list[int | None] = []
        for vs, ds in zip(self.vals[i], self.dsts[i], strict=True):
            top: int | None = None
            for a, d in zip(vs, ds, strict=True):
                rest = nxt[d]
                if rest is None or (ai is not None and not (ai >> a) & 1):
                    continue
                c = rest + w[a] if w is not None else rest
                if top is None or c < top:
                    top = c
            out.append(top)
        return out

    def _weights(self, weights: Mapping[str, Mapping[Value, Fraction]] | None) -> list[list[Fraction] | None]:
        wt: list[list[Fraction] | None] = [None] * self.n
        for name, per_value in (weights or {}).items():
            i = self.layer_of.get(name)
            if i is None:
                raise UnknownVariable(name, self.model.key)
            wt[i] = [Fraction(per_value.get(v, 0)) for v in self.domains[i]]
        return wt

    def _best_layer(
        self,
        i: int,
        ai: int | None,
        nxt: list[tuple[Fraction, int] | None],
        wt: list[Fraction] | None,
        lex: int,
    ) -> tuple[list[tuple[Fraction, int] | None], list[int]]:
        zero = Fraction(0)
        layer_best: list[tuple[Fraction, int] | None] = []
        layer_choice: list[int] = []
        for vs, ds in zip(self.vals[i], self.dsts[i], strict=True):
            top: tuple[Fraction, int] | None = None
            arg = -1
            for e, (a, d) in enumerate(zip(vs, ds, strict=True)):
                if ai is not None and not (ai >> a) & 1:
                    continue
                rest = nxt[d]
                if rest is None:
                    continue
                cand = (rest[0] + (wt[a] if wt is not None else zero), rest[1] + a * lex)
                if top is None or cand < top:
                    top, arg = cand, e
            layer_best.append(top)
            layer_choice.append(arg)
        return layer_best, layer_choice


IntArray = npt.NDArray[np.int64]
_NP_INF = 1 << 60
"""Cost of "no path" in the numpy passes."""
_NP_BOUND = 1 << 58
"""Largest total weight the numpy passes accept (sums stay below 2**63)."""


class _CostPasses:
    """Least-cost passes over a diagram's layers with int64 arrays (weights below :data:`_NP_BOUND`).

    The same answers as the Python-int passes of :class:`_Diagram`; every node of a reduced diagram
    has an out-edge, so per-node minima are segment minima over the edges sorted by source node.
    """

    def __init__(self, d: _Diagram, allowed: list[int | None] | None, iw: list[IntArray | None]) -> None:
        self.d = d
        self.iw = iw
        self.layers = d._np_layers()
        self.allowed: list[npt.NDArray[np.bool_] | None] | None = None
        self.best: list[IntArray] = []
        if allowed is None:
            return
        self.allowed = [
            None if ai is None else np.array([(ai >> a) & 1 for a in range(len(d.domains[i]))], dtype=np.bool_)
            for i, ai in enumerate(allowed)
        ]
        best: list[IntArray] = [np.zeros(0, dtype=np.int64)] * (d.n + 1)
        best[d.n] = np.zeros(1, dtype=np.int64)
        for i in range(d.n - 1, -1, -1):
            src, val, dst, starts = self.layers[i]
            rest = best[i + 1][dst]
            w = iw[i]
            c = rest + w[val] if w is not None else rest.copy()
            bad = rest >= _NP_INF
            al = self.allowed[i]
            if al is not None:
                bad |= ~al[val]
            c[bad] = _NP_INF
            best[i] = np.minimum.reduceat(c, starts) if len(c) else np.full(d.size[i], _NP_INF, dtype=np.int64)
        self.best = best

    @property
    def feasible(self) -> bool:
        return bool(self.best) and int(self.best[0][0]) < _NP_INF

    def min_solution(self) -> dict[str, Value] | None:
        if not self.feasible:
            return None
        d = self.d
        assert self.allowed is not None
        picked: dict[str, Value] = {}
        u = 0
        for i in range(d.n):
            w, al, nxt = self.iw[i], self.allowed[i], self.best[i + 1]
            target = int(self.best[i][u])
            pick: tuple[int, int] | None = None
            for a, dd in zip(d.vals[i][u], d.dsts[i][u], strict=True):
                if al is not None and not al[a]:
                    continue
                if int(nxt[dd]) + (int(w[a]) if w is not None else 0) == target and (pick is None or a < pick[0]):
                    pick = (a, dd)
            assert pick is not None
            picked[d.model.variables[d.order[i]].name] = d.domains[i][pick[0]]
            u = pick[1]
        return {v.name: picked[v.name] for v in d.model.variables}

    def value_costs_each(self) -> tuple[dict[str, dict[Value, int]] | None, dict[str, dict[Value, int]] | None]:
        if self.allowed is None:
            return None, None
        d = self.d
        out: dict[str, dict[Value, int]] = {}
        lifted: dict[str, dict[Value, int]] = {}
        fwd = np.zeros(1, dtype=np.int64)
        for i in range(d.n):
            src, val, dst, _starts = self.layers[i]
            w, al = self.iw[i], self.allowed[i]
            f = fwd[src]
            c = f + w[val] if w is not None else f
            reach = f < _NP_INF
            rest = self.best[i + 1][dst]
            good = reach & (rest < _NP_INF)
            total = c + rest
            ndom = len(d.domains[i])
            vany = np.full(ndom, _NP_INF, dtype=np.int64)
            np.minimum.at(vany, val[good], total[good])
            if al is None:
                vmin = vany
                move = reach
            else:
                vmin = np.full(ndom, _NP_INF, dtype=np.int64)
                g2 = good & al[val]
                np.minimum.at(vmin, val[g2], total[g2])
                move = reach & al[val]
            new = np.full(d.size[i + 1], _NP_INF, dtype=np.int64)
            np.minimum.at(new, dst[move], c[move])
            fwd = new
            name = d.model.variables[d.order[i]].name
            dom = d.domains[i]
            out[name] = {dom[a]: c for a, c in enumerate(vmin.tolist()) if c < _NP_INF}
            lifted[name] = {dom[a]: c for a, c in enumerate(vany.tolist()) if c < _NP_INF}
        if not self.feasible:
            return None, lifted
        return {v.name: out[v.name] for v in d.model.variables}, lifted


class _Union:
    """``s -> OR of image[j] for each set bit j of s``, 8 bits at a time through lazily filled tables.

    A table entry maps one byte value at one position to the union of its bits'
    images, so a warm query costs one look-up per non-zero chunk. At most
    ``_UNION_TABLE_CAP`` entries are kept per union map (memory stays linear in the diagram);
    past that, misses are computed each time.

    >>> u = _Union([0b001, 0b110, 0b100])
    >>> u(0b011), u(0b100), u(0)
    (7, 4, 0)
    """

    __slots__ = ("image", "memo", "nbytes", "table")

    def __init__(self, image: Sequence[int]) -> None:
        self.image = image
        self.nbytes = (len(image) + 7) // 8
        self.table: dict[int, int] = {}
        self.memo: dict[int, int] = {}
        """Whole-set answers: the sets met at one layer repeat across queries (small layers
        always, large ones whenever the restrictions on one side of the layer repeat)."""

    def __call__(self, s: int) -> int:
        got = self.memo.get(s)
        if got is not None:
            return got
        m = 0
        table = self.table
        get = table.get
        for k, b in enumerate(s.to_bytes(self.nbytes, "little")):
            if b:
                key = k << 8 | b
                x = get(key)
                if x is None:
                    x = 0
                    image, base = self.image, k << 3
                    for j in _BYTE_BITS[b]:
                        x |= image[base + j]
                    if len(table) < _UNION_TABLE_CAP:
                        table[key] = x
                m |= x
        memo = self.memo
        if len(memo) >= _UNION_MEMO_CAP:
            memo.clear()  # cheaper than LRU bookkeeping; the sets that matter come back quickly
        memo[s] = m
        return m


_BYTE_BITS = [tuple(j for j in range(8) if b >> j & 1) for b in range(256)]
_UNION_TABLE_CAP = 4096
"""Chunk entries kept per union map."""
_UNION_MEMO_CAP = 256
"""Whole-set answers kept per union map."""


def _bits(m: int) -> Iterator[int]:
    """Indices of the set bits of ``m``, lowest first.

    Done through the binary string so the whole scan runs in C: several times faster than
    peeling bits off with arithmetic once a layer has more than a few live nodes.

    >>> list(_bits(0b10110)), list(_bits(0))
    ([1, 2, 4], [])
    """
    flags = bin(m)[:1:-1].encode().translate(_ZERO_ONE)
    return itertools.compress(range(len(flags)), flags)


_ZERO_ONE = bytes.maketrans(b"01", b"\x00\x01")


# -- compilation -------------------------------------------------------------------------


class _Compiler:
    """One compilation of a model through CUDD; discarded afterwards."""

    def __init__(self, model: Model, node_budget: int, time_budget_s: float) -> None:
        self.model = model
        self.node_budget = node_budget
        self.deadline = time.monotonic() + time_budget_s
        self.time_budget_s = time_budget_s
        self.start = time.perf_counter()
        self.peak = 0
        self.bdd = cudd.BDD()
        self.bdd.configure(
            reordering=False,
            max_memory=max(_MIN_CUDD_MEMORY, node_budget * _BYTES_PER_NODE),
        )
        self.position = {v.name: p for p, v in enumerate(model.variables)}
        self.index = [{x: k for k, x in enumerate(v.domain)} for v in model.variables]
        self.bit_names = [
            [f"v{p}b{j}" for j in range(max(len(v.domain) - 1, 0).bit_length())]
            for p, v in enumerate(model.variables)
        ]
        # Sifting costs about (number of bits)^2 swaps per pass: worth it for product-sized models
        # (Renault: ~200 bits), too slow past about a thousand bits. Small models start from the
        # FORCE order and are sifted; large ones keep the model's order (build_model clusters it:
        # FORCE, blind to domain sizes, can pull a few global attributes into the middle).
        self.reordering = sum(len(names) for names in self.bit_names) <= REORDER_MAX_BITS
        if self.reordering:
            scopes = [[self.position[name] for name in c.scope] for c in model.constraints]
            initial = initial_order(len(model.variables), scopes)
        else:
            initial = list(range(len(model.variables)))
        self.rank = [0] * len(initial)
        for r, p in enumerate(initial):
            self.rank[p] = r
            names = self.bit_names[p]
            for nm in names:
                self.bdd.declare(nm)
            if len(names) > 1:
                # Keep a variable's bits adjacent through reordering so it maps to one MDD layer.
                self.bdd.group({names[0]: len(names)})
        self.bit_vars = [[self.bdd.var(nm) for nm in names] for names in self.bit_names]
        self.next_reorder = REORDER_FIRST_AT

    def close(self) -> None:
        """Drop every BDD reference before the manager goes (dd insists on that order)."""
        self.bit_vars = []
        gc_bdd = self.bdd
        del self.bdd
        del gc_bdd

    def check(self, what: str) -> None:
        if time.monotonic() > self.deadline:
            raise CompileBudgetExceeded(
                "mdd", f"time budget of {self.time_budget_s:g} s exceeded while {what}"
            )

    def check_size(self, f: Any, what: str) -> None:
        size = len(f)
        self.peak = max(self.peak, size)
        if size > self.node_budget:
            raise CompileBudgetExceeded(
                "mdd", f"BDD of {size} nodes exceeds the node budget of {self.node_budget} while {what}"
            )
        self.check(what)

    # A constraint's tuples as value indices, in the scope order.
    def rows(self, c: Constraint) -> list[tuple[int, ...]]:
        pos = [self.position[name] for name in c.scope]
        index = [self.index[p] for p in pos]
        if c.allowed is not None:
            out = []
            for t in c.allowed:
                ks = tuple(ix.get(x, -1) for ix, x in zip(index, t, strict=True))
                if -1 not in ks:
                    out.append(ks)
            return out
        doms = [self.model.variables[p].domain for p in pos]
        size = math.prod(len(d) for d in doms)
        if size > MAX_TABLE_ROWS:
            raise CompileBudgetExceeded(
                "mdd", f"constraint {c.rule_id!r} spans {size} combinations (limit {MAX_TABLE_ROWS})"
            )
        out = []
        for n, ks in enumerate(itertools.product(*(range(len(d)) for d in doms))):
            if n % 65536 == 65535:
                self.check(f"enumerating constraint {c.rule_id!r}")
            if c.predicate(*(d[k] for d, k in zip(doms, ks, strict=True))):
                out.append(ks)
        return out

    def table(self, pos: Sequence[int], rows: list[tuple[int, ...]]) -> Any:
        """The BDD of "the scope's values are one of ``rows``" (value indices), built bottom-up.

        Columns are taken in the current BDD level order and equal sub-tables are shared, so
        the number of CUDD calls is about the size of the table's own reduced diagram, not the
        number of rows times the arity (which is what makes big configuration tables cheap).
        """
        bdd = self.bdd
        level = [bdd.level_of_var(self.bit_names[p][0]) if self.bit_names[p] else -1 for p in pos]
        cols = sorted(range(len(pos)), key=lambda j: level[j])
        bitv = [self.bit_vars[pos[j]] for j in cols]
        ordered = sorted({tuple(r[j] for j in cols) for r in rows})
        if not ordered:
            return bdd.false
        memo: dict[tuple[int, frozenset[tuple[int, int]]], Any] = {}
        return _table_node(bdd, bitv, ordered, 0, memo)

    def conjoin(self, parts: list[tuple[tuple[int, int], Any]]) -> Any:
        """AND all parts as a balanced tree; ``parts`` are (locality key, BDD) pairs."""
        bdd = self.bdd
        fs = [f for _, f in sorted(parts, key=lambda kf: kf[0])]
        if not fs:
            return bdd.true
        while len(fs) > 1:
            nxt = []
            for j in range(0, len(fs) - 1, 2):
                g = self.apply_and(fs[j], fs[j + 1])
                if g == bdd.false:
                    return g
                if self.reordering and len(g) > self.next_reorder:
                    # Sift only when an intermediate result grows: with the FORCE order most
                    # product models never get here, and sifting is the costly step.
                    bdd.reorder()
                    self.next_reorder = max(REORDER_FIRST_AT, 2 * len(g))
                nxt.append(g)
            if len(fs) % 2:
                nxt.append(fs[-1])
            fs = nxt
        return fs[0]

    def apply_and(self, f: Any, g: Any) -> Any:
        try:
            h = self.bdd.apply("and", f, g)
        except RuntimeError:
            # CUDD returns NULL when the manager hits max_memory (derived from the node budget).
            raise CompileBudgetExceeded(
                "mdd", f"CUDD ran out of its memory allowance (node budget {self.node_budget})"
            ) from None
        self.check_size(h, "conjoining constraints")
        return h

    def compile(self) -> _Diagram:
        model = self.model
        phases: list[tuple[str, float]] = []
        mark = time.perf_counter()

        def phase(name: str) -> None:
            nonlocal mark
            now = time.perf_counter()
            phases.append((name, now - mark))
            mark = now

        parts: list[tuple[tuple[int, int], Any]] = []
        for c in model.constraints:
            pos = [self.position[name] for name in c.scope]
            f = self.table(pos, self.rows(c))
            self.check_size(f, f"building constraint {c.rule_id!r}")
            parts.append((_locality([self.rank[p] for p in pos]), f))
        for p, v in enumerate(model.variables):
            k = len(self.bit_names[p])
            if len(v.domain) < (1 << k):
                # Codes past the domain size are not values.
                parts.append(
                    ((self.rank[p], self.rank[p]), self.table([p], [(a,) for a in range(len(v.domain))]))
                )
        phase("tables")
        if any(not v.domain for v in model.variables):
            root = self.bdd.false
        else:
            root = self.conjoin(parts)
        del parts
        phase("conjoin")
        if self.reordering and root != self.bdd.false and len(root) > 1:
            self.bdd.reorder()  # one last sifting pass: a smaller BDD gives a smaller MDD
        self.bdd.configure(reordering=False)
        self.check_size(root, "reordering the final BDD")
        phase("reorder")
        order = self.layer_order()
        kids = self.to_layers(root, order)
        phase("convert")
        diagram = _Diagram(model, order, kids, None)
        phase("index")
        diagram.stats = MddStats(
            compile_seconds=time.perf_counter() - self.start,
            bdd_nodes=len(root),
            peak_bdd_nodes=self.peak,
            mdd_nodes=sum(len(layer) for layer in kids) + 1,
            mdd_edges=sum(len(e) for layer in kids for e in layer),
            order=tuple(model.variables[p].name for p in order),
            reorderings=self.reorderings(),
            phases=tuple(phases),
        )
        return diagram

    def reorderings(self) -> int:
        with warnings.catch_warnings():
            # dd warns that the unit of the "mem" entry changed; only the reordering count is read.
            warnings.simplefilter("ignore")
            return int(self.bdd.statistics()["n_reorderings"])

    def layer_order(self) -> list[int]:
        """Model variable positions sorted by the level of their bits; bitless ones last."""
        bdd = self.bdd

        def key(p: int) -> tuple[int, int]:
            names = self.bit_names[p]
            return (min(bdd.level_of_var(nm) for nm in names), p) if names else (1 << 30, p)

        return sorted(range(len(self.model.variables)), key=key)

    def to_layers(self, root: Any, order: Sequence[int]) -> list[list[tuple[tuple[int, int], ...]]]:
        bdd = self.bdd
        if root == bdd.false:
            return [[] for _ in order]
        layer: dict[int, Any] = {int(root): root}
        kids: list[list[tuple[tuple[int, int], ...]]] = []
        total = 0
        for p in order:
            names = self.bit_names[p]
            levels = sorted((bdd.level_of_var(nm), j) for j, nm in enumerate(names))
            m = len(self.model.variables[p].domain)
            nxt: dict[int, Any] = {}
            slot: dict[int, int] = {}
            edges_layer: list[tuple[tuple[int, int], ...]] = []
            for u in layer.values():
                edges: list[tuple[int, int]] = []
                found: list[tuple[int, Any]] = []
                _descend(u, levels, len(names), m, bdd.false, 0, 0, found)
                found.sort(key=lambda ag: ag[0])
                for a, g in found:
                    key = int(g)
                    d = slot.get(key)
                    if d is None:
                        d = slot[key] = len(nxt)
                        nxt[key] = g
                    edges.append((a, d))
                edges_layer.append(tuple(edges))
            kids.append(edges_layer)
            total += len(nxt)
            if total > self.node_budget:
                raise CompileBudgetExceeded(
                    "mdd", f"MDD of more than {self.node_budget} nodes (node budget) while converting"
                )
            self.check("converting the BDD into layers")
            layer = nxt
        assert len(layer) == 1 and next(iter(layer.values())) == bdd.true
        return kids


def _table_node(
    bdd: Any,
    bitv: Sequence[Sequence[Any]],
    rows: list[tuple[int, ...]],
    j: int,
    memo: dict[tuple[int, frozenset[tuple[int, int]]], Any],
) -> Any:
    """BDD of the suffixes (columns ``j``..) of ``rows``; equal suffix sets share one result."""
    if j == len(bitv):
        return bdd.true
    groups: dict[int, list[tuple[int, ...]]] = {}
    for r in rows:
        groups.setdefault(r[j], []).append(r)
    children = {a: _table_node(bdd, bitv, g, j + 1, memo) for a, g in groups.items()}
    key = (j, frozenset((a, int(f)) for a, f in children.items()))
    got = memo.get(key)
    if got is None:
        got = memo[key] = _split(bdd, bitv[j], children, sorted(children), 0)
    return got


def _split(bdd: Any, bitv: Sequence[Any], children: Mapping[int, Any], vals: list[int], depth: int) -> Any:
    """OR over values a in ``vals`` of (the variable's bits encode a) AND children[a]: a bit-level decision tree."""
    if not vals:
        return bdd.false
    k = len(bitv)
    if depth == k:
        return children[vals[0]]
    shift = k - 1 - depth
    lo = [a for a in vals if not (a >> shift) & 1]
    hi = [a for a in vals if (a >> shift) & 1]
    return bdd.ite(
        bitv[depth], _split(bdd, bitv, children, hi, depth + 1), _split(bdd, bitv, children, lo, depth + 1)
    )


def _descend(
    g: Any,
    levels: list[tuple[int, int]],
    k: int,
    m: int,
    false: Any,
    depth: int,
    code: int,
    out: list[tuple[int, Any]],
) -> None:
    """Append (value index, node after the variable's bits) for each value index ``< m`` not leading to false.

    ``levels`` are the variable's (BDD level, bit position) pairs in level order; a bit the node
    does not test leads to the same node for both of its values.
    """
    if g == false:
        return
    if depth == len(levels):
        if code < m:
            out.append((code, g))
        return
    lvl, j = levels[depth]
    bit = 1 << (k - 1 - j)
    if g.var is not None and g.level == lvl:
        lo, hi = g.low, g.high
        if g.negated:  # CUDD complement edges: the cofactors of a complemented node are complemented
            lo, hi = ~lo, ~hi
        _descend(lo, levels, k, m, false, depth + 1, code, out)
        _descend(hi, levels, k, m, false, depth + 1, code | bit, out)
    else:
        _descend(g, levels, k, m, false, depth + 1, code, out)
        _descend(g, levels, k, m, false, depth + 1, code | bit, out)


def initial_order(n: int, scopes: Sequence[Sequence[int]], rounds: int = 40) -> list[int]:
    """A static variable order keeping each constraint's scope close together (FORCE heuristic).

    Each round moves every variable to the mean centre of the scopes it is in; the order with the
    smallest total scope span wins, the given order ``0..n-1`` included (build_model already
    clusters modules, and then it usually stays).

    >>> initial_order(4, [(0, 2), (1, 3)])
    [0, 2, 1, 3]
    >>> initial_order(3, [(0, 1), (1, 2)])
    [0, 1, 2]
    """
    order = list(range(n))
    scopes = [s for s in scopes if len(s) > 1]
    if not scopes or n < 3:
        return order
    member: list[list[int]] = [[] for _ in range(n)]
    for k, s in enumerate(scopes):
        for p in s:
            member[p].append(k)

    def span(pos: Sequence[int]) -> int:
        return sum(max(pos[p] for p in s) - min(pos[p] for p in s) for s in scopes)

    pos = list(range(n))
    best, best_span = order, span(pos)
    for _ in range(rounds):
        centre = [sum(pos[p] for p in s) / len(s) for s in scopes]
        target = [
            sum(centre[k] for k in member[p]) / len(member[p]) if member[p] else pos[p] for p in range(n)
        ]
        order = sorted(range(n), key=lambda p: (target[p], pos[p]))
        for r, p in enumerate(order):
            pos[p] = r
        cost = span(pos)
        if cost < best_span:
            best, best_span = order, cost
        elif cost == best_span:
            break
    return best


def _locality(pos: Sequence[int]) -> tuple[int, int]:
    """Conjunction order key: by the scope's last variable, so a rule linking a global attribute
    to a module is conjoined together with that module's own rules."""
    return (max(pos), min(pos)) if pos else (-1, -1)


# -- cache and backend ---------------------------------------------------------------------

_cache: OrderedDict[str, _Diagram] = OrderedDict()
_failures: OrderedDict[tuple[str, int, float], CompileBudgetExceeded] = OrderedDict()
_lock = threading.Lock()


def compile_diagram(
    model: Model,
    *,
    node_budget: int = DEFAULT_NODE_BUDGET,
    time_budget_s: float = DEFAULT_TIME_BUDGET_S,
) -> _Diagram:
    """The compiled diagram of ``model``, from the LRU cache when ``model.key`` was compiled before.

    A budget failure is remembered too (per key and budgets), so a model that does not compile
    costs its time budget once, not on every request.
    """
    failure_key = (model.key, node_budget, time_budget_s)
    with _lock:
        hit = _cache.get(model.key)
        if hit is not None:
            _cache.move_to_end(model.key)
            return hit
        failed = _failures.get(failure_key)
        if failed is not None:
            raise CompileBudgetExceeded(failed.backend, failed.detail)
    compiler = _Compiler(model, node_budget, time_budget_s)
    try:
        diagram = compiler.compile()
    except CompileBudgetExceeded as exc:
        _drop_bdd_references(exc)
        with _lock:
            _failures[failure_key] = exc
            while len(_failures) > CACHE_SIZE:
                _failures.popitem(last=False)
        raise
    except BaseException as exc:
        _drop_bdd_references(exc)
        raise
    finally:
        compiler.close()
    with _lock:
        _cache[model.key] = diagram
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return diagram


def _drop_bdd_references(exc: BaseException | None) -> None:
    """Clear the locals of the frames an exception carries (and of its cause/context chain).

    Those frames hold ``dd.cudd.Function`` objects. Left alone they would be freed later by the
    cycle collector, possibly after their CUDD manager, which dd reports as nodes still referenced
    at shutdown. The tracebacks keep their line information.
    """
    for _ in range(16):
        if exc is None:
            return
        traceback.clear_frames(exc.__traceback__)
        exc = exc.__cause__ or exc.__context__


def clear_cache() -> None:
    """Forget every compiled diagram and remembered failure."""
    with _lock:
        _cache.clear()
        _failures.clear()


class MddBackend:
    """Backend answering every query from a compiled layered MDD (see the module docstring)."""

    name = "mdd"

    def __init__(
        self,
        model: Model,
        *,
        node_budget: int = DEFAULT_NODE_BUDGET,
        time_budget_s: float = DEFAULT_TIME_BUDGET_S,
    ) -> None:
        self.model = model
        self._d = compile_diagram(model, node_budget=node_budget, time_budget_s=time_budget_s)

    @property
    def stats(self) -> MddStats:
        return self._d.stats

    def artifact_parts(self) -> tuple[tuple[int, ...], list[list[tuple[tuple[int, int], ...]]], MddStats]:
        """What :meth:`from_artifact_parts` needs to rebuild this backend without compiling
        (the layer order and each node's (value, child) edges; ``configurator.artifacts``)."""
        d = self._d
        kids = [
            [tuple(zip(vs, ds, strict=True)) for vs, ds in zip(d.vals[i], d.dsts[i], strict=True)]
            for i in range(d.n)
        ]
        return d.order, kids, d.stats

    @classmethod
    def from_artifact_parts(
        cls,
        model: Model,
        order: Sequence[int],
        kids: list[list[tuple[tuple[int, int], ...]]],
        stats: MddStats,
    ) -> MddBackend:
        """The backend of an already compiled diagram (see :meth:`artifact_parts`)."""
        backend = cls.__new__(cls)
        backend.model = model
        backend._d = _Diagram(model, order, kids, stats)
        return backend

    def propagate(self, restrict: Restriction) -> dict[str, frozenset[Value]] | None:
        return self._d.propagate(restrict)

    def count(self, restrict: Restriction) -> int:
        return self._d.count(restrict)

    def solve(
        self,
        restrict: Restriction,
        weights: Mapping[str, Mapping[Value, Fraction]] | None = None,
    ) -> dict[str, Value] | None:
        return self._d.solve(restrict, weights)

    def value_costs(
        self, restrict: Restriction, weights: Mapping[str, Mapping[Value, int]]
    ) -> dict[str, dict[Value, int]] | None:
        """Least total integer weight of a solution, per variable and value it takes (absent: none)."""
        return self._d.value_costs(restrict, weights)

    def value_costs_each(
        self, restrict: Restriction, weights: Mapping[str, Mapping[Value, int]]
    ) -> tuple[dict[str, dict[Value, int]] | None, dict[str, dict[Value, int]] | None]:
        """:meth:`value_costs` (``None``: no solution) and, per variable, the same with its own
        restriction lifted (computed also when ``restrict`` has no solution)."""
        return self._d.value_costs_each(restrict, weights)

    def propagate_each(
        self, restrict: Restriction
    ) -> tuple[dict[str, frozenset[Value]] | None, dict[str, frozenset[Value]] | None]:
        """``propagate``, and per variable its domain with its own restriction retracted.

        An unrestricted variable's retracted domain is its propagated one; a restricted variable's
        takes one propagation without its restriction. (:meth:`value_costs_each` without weights
        gives all of them from one forward and one backward pass over every layer, but the bitset
        propagation is several times cheaper per query at the sizes the diagram compiles, and a
        click restricts few variables.)"""
        d = self._d
        names = [v.name for v in self.model.variables]
        if d.masks(restrict) is None:
            return None, None
        domains = d.propagate(restrict)
        empty: frozenset[Value] = frozenset()
        each = dict(domains) if domains is not None else dict.fromkeys(names, empty)
        for name in restrict:
            without = d.propagate({n: r for n, r in restrict.items() if n != name})
            each[name] = without[name] if without is not None else empty
        return domains, each

    def min_solution(
        self, restrict: Restriction, weights: Mapping[str, Mapping[Value, int]]
    ) -> dict[str, Value] | None:
        """A solution of least total integer weight (no lexicographic tie-break across the model)."""
        return self._d.min_solution(restrict, weights)


__all__ = ["CompileBudgetExceeded", "MddBackend", "MddStats", "clear_cache", "compile_diagram"]
