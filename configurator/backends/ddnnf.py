"""Knowledge-compiled backend: the model's CNF compiled once into a d-DNNF by d4.

For models the decision diagram cannot hold. The model is encoded as CNF
(:func:`encode_cnf`) whose every auxiliary variable is *functionally
determined* by the model's variables, so the CNF's models and the model's
solutions are in one-to-one correspondence and counts need no projection:

- a two-value domain is one CNF variable (value index 1 = true), a one-value
  domain one variable forced true, larger domains one literal per value with
  at-least-one and at-most-one (pairwise up to six values, beyond that a
  ladder whose auxiliary ``s_i`` is *equivalent* to "one of the first i
  values", not merely implied by it);
- each constraint is tabulated over its scope and written either as the
  clauses of a Shannon expansion of the table (no auxiliaries) or as one
  "support" variable per allowed row (the row holds iff its support does:
  rows are distinct, so exactly one support is true).

d4 (PyPI ``d4solver``, module ``py_d4``) compiles the CNF in a child process,
so a compilation that exceeds its time budget is stopped (the child is
killed) instead of hanging the caller; the decision-DNNF it prints is parsed
into flat numpy arrays (nodes, arcs, literals per arc in CSR form), cached
per ``Model.key`` like the decision diagram.

d4's output is not smooth: a variable mentioned under an or-node but not
under one of its arcs is free on that arc (its "gap"), and a variable
mentioned nowhere is free everywhere. Only CNF variables that are model
variables of a two-value domain can be free (a determined variable never is),
and the gaps are computed once, at load time.

Queries, each one pass or two over the arrays:

- ``propagate``: bottom-up satisfiability under the restriction, height
  level by height level (numpy, one vectorised step per level), then
  top-down reachability; a value survives when a literal of it lies on a
  reachable live arc or its variable is free in a reachable gap (global
  consistency, no query per value);
- ``count``: exact Python ints bottom-up, free variables counted by their
  allowed values;
- ``solve``: a min-cost pass with exact integer costs ("weight, then domain
  positions in model order" folded into one integer, as the SAT backend
  does), then the arg-min proof tree read top-down.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import subprocess  # nosec B404: runs this interpreter on a fixed script, no shell
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence, Set
from dataclasses import dataclass
from fractions import Fraction
from typing import cast, overload

import numpy as np
import numpy.typing as npt

from catalog.snapshot import Value
from configurator.backends.base import CompileBudgetExceeded, SearchLimitExceeded, UnknownVariable
from configurator.backends.brute import Weights, check_weights
from configurator.backends.sat import _table_cnf
from configurator.backends.tabulate import ShapeCache, shape_key
from configurator.model import Constraint, Model, Restriction
from configurator.progress import Progress as Progress  # re-exported: callers named it here

DEFAULT_TIME_BUDGET_S = 120.0
"""Wall-clock seconds d4 may spend compiling one model."""
TABLE_LIMIT = 2_000_000
"""Largest Cartesian product enumerated to tabulate one predicate constraint."""
CACHE_SIZE = 16
"""Compiled d-DNNFs kept in the module-level LRU (keyed by ``Model.key``)."""
_PAIRWISE_MAX = 6

_CODE_BITS = 62
"""Largest domain whose propagated values are read as one integer bit code."""
_NP_INF = 1 << 60
"""Infinite cost in the numpy min-plus passes."""
_NP_BOUND = 1 << 58
"""Largest total weight the numpy passes take (sums stay below ``_NP_INF`` and far from overflow)."""

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

D4_ORDER_BUDGET = 1
"""Effort d4 spends on the tree decomposition behind its branching order (its partial-order heuristic's
``budget``, default 100). On the corpus the default spends most of d4's time there (Automotive02_V4: 9 s of
CPU, 1.6 s with 1; generated 10,000 attributes: 35 s, 3 s) for a circuit of the same size (within 4 %)."""

# The child process: d4 reads the DIMACS file itself, compiles, writes its NNF text to another file.
_WORKER = r"""
import sys
import py_d4
src, dst, budget = sys.argv[1], sys.argv[2], int(sys.argv[3])
options = py_d4.OptionDpllStyleMethod()
options.optionBranchingHeuristic.optionPartialOrderHeuristic.budget = budget
result = py_d4.Solver(src, options).compile()
with open(dst, "w") as fh:
    fh.write(result.getNNFString())
"""


# -- encoding ------------------------------------------------------------------------------------


class PackedClauses(Sequence[tuple[int, ...]]):
    """Clauses stored as two flat arrays (length per clause, then every literal), read as tuples on demand.

    A CNF read back from an artifact keeps its clauses this way: answering queries never reads them, so
    loading a model creates no object per clause.

    >>> packed = PackedClauses.of([(1, -2), (3,)])
    >>> len(packed), packed[1], list(packed) == [(1, -2), (3,)], packed == ((1, -2), (3,))
    (2, (3,), True, True)
    """

    __slots__ = ("lengths", "literals", "_starts")

    def __init__(self, lengths: IntArray, literals: IntArray) -> None:
        if len(lengths) and (int(lengths.min()) < 0 or int(lengths.sum()) != len(literals)):
            raise ValueError(f"{int(lengths.sum())} clause literals announced, {len(literals)} stored")
        self.lengths = lengths
        self.literals = literals
        self._starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)

    @classmethod
    def of(cls, clauses: Sequence[tuple[int, ...]]) -> PackedClauses:
        if isinstance(clauses, PackedClauses):
            return clauses
        lengths = np.fromiter((len(c) for c in clauses), dtype=np.int64, count=len(clauses))
        literals = np.fromiter(itertools.chain.from_iterable(clauses), dtype=np.int64, count=int(lengths.sum()))
        return cls(lengths, literals)

    def __len__(self) -> int:
        return len(self.lengths)

    @overload
    def __getitem__(self, index: int) -> tuple[int, ...]: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[tuple[int, ...], ...]: ...
    def __getitem__(self, index: int | slice) -> tuple[int, ...] | tuple[tuple[int, ...], ...]:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self))))
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return tuple(self.literals[self._starts[index] : self._starts[index + 1]].tolist())

    def __iter__(self) -> Iterator[tuple[int, ...]]:
        flat = self.literals.tolist()
        starts = self._starts.tolist()
        for i in range(len(self)):
            yield tuple(flat[starts[i] : starts[i + 1]])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PackedClauses):
            return np.array_equal(self.lengths, other.lengths) and np.array_equal(self.literals, other.literals)
        if isinstance(other, Sequence):
            return len(other) == len(self) and all(a == tuple(b) for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PackedClauses({len(self)} clauses, {len(self.literals)} literals)"


@dataclass(frozen=True, slots=True)
class Cnf:
    """A CNF over variables ``1..nvars`` and the literal of every model value."""

    nvars: int
    clauses: Sequence[tuple[int, ...]]
    """A tuple of clauses as encoded, or :class:`PackedClauses` when read back from an artifact."""
    value_lits: tuple[tuple[int, ...], ...]
    """Per model variable, per domain index: the literal meaning "variable = that value"."""
    unsat: bool = False
    """A constraint or domain allows nothing (the CNF then holds an empty clause)."""


def encode_cnf(model: Model, *, table_limit: int = TABLE_LIMIT) -> Cnf:
    """The model as CNF with functionally determined auxiliaries (see the module docstring).

    >>> from configurator.model import Model, Variable
    >>> m = Model("k", (Variable("a", (1, 2, 3), "a"), Variable("b", (False, True), "b")),
    ...           (Constraint("r", ("a", "b"), lambda a, b: b or a == 1),))
    >>> cnf = encode_cnf(m)
    >>> cnf.value_lits
    ((1, 2, 3), (-4, 4))
    """
    counter = itertools.count(1)
    value_lits: list[tuple[int, ...]] = []
    clauses: list[tuple[int, ...]] = []
    unsat = False
    for var in model.variables:
        n = len(var.domain)
        if n == 0:
            unsat = True
            value_lits.append(())
        elif n == 2:
            v = next(counter)
            value_lits.append((-v, v))
        else:
            value_lits.append(tuple(next(counter) for _ in range(n)))
    for lits in value_lits:
        if len(lits) == 2 and lits[0] == -lits[1]:
            continue
        if len(lits) == 1:
            clauses.append((lits[0],))
        elif len(lits) <= _PAIRWISE_MAX:
            clauses.append(tuple(lits))
            clauses.extend((-a, -b) for a, b in itertools.combinations(lits, 2))
        elif lits:
            clauses.append(tuple(lits))
            # Ladder: s_i <-> (x_1 or ... or x_i), and x_i excludes s_{i-1}.
            s_prev = lits[0]
            for x in lits[1:-1]:
                s = next(counter)
                clauses += [(-x, s), (-s_prev, s), (-s, s_prev, x), (-s_prev, -x)]
                s_prev = s
            clauses.append((-s_prev, -lits[-1]))
    index = {v.name: i for i, v in enumerate(model.variables)}
    shapes = ShapeCache()
    row_plans: dict[tuple[tuple[int, ...], frozenset[tuple[int, ...]], tuple[int, ...]], _Plan] = {}
    for c in model.constraints:
        if not _encode_constraint(model, c, index, value_lits, clauses, counter, table_limit, shapes, row_plans):
            unsat = True
    if unsat:
        clauses.append(())
    nvars = next(counter) - 1
    return Cnf(nvars, tuple(clauses), tuple(value_lits), unsat)


def _encode_constraint(
    model: Model,
    c: Constraint,
    index: Mapping[str, int],
    value_lits: Sequence[tuple[int, ...]],
    clauses: list[tuple[int, ...]],
    counter: itertools.count[int],
    table_limit: int,
    shapes: ShapeCache,
    row_plans: dict[tuple[tuple[int, ...], frozenset[tuple[int, ...]], tuple[int, ...]], _Plan],
) -> bool:
    """Append the clauses of ``c``; False when it allows nothing."""
    if not c.scope:
        return bool(c.predicate())
    positions = [index[name] for name in c.scope]
    domains = [model.variables[i].domain for i in positions]
    distinct = tuple(dict.fromkeys(positions))
    size = math.prod(len(d) for d in domains)
    combos: set[tuple[int, ...]] | frozenset[tuple[int, ...]] = set()
    pattern = tuple(distinct.index(p) for p in positions)
    sizes = tuple(len(value_lits[i]) for i in distinct)
    key: object = None
    if c.allowed is not None:
        # Listed rows (tables, the decomposer's definitions): their value positions, no enumeration.
        value_index = [{v: k for k, v in enumerate(d)} for d in domains]
        found: set[tuple[int, ...]] = set()
        for row in c.allowed:
            ks = tuple(value_index[j].get(v) for j, v in enumerate(row))
            if None not in ks:
                found.add(cast("tuple[int, ...]", ks))
        combos = frozenset(found)
    else:
        key = shape_key(c.predicate, tuple(domains))
        plan = shapes.plans.get((key, pattern)) if key is not None else None
        if plan is not None:
            return _emit(plan, [value_lits[i] for i in distinct], clauses, counter)
        cached = shapes.get(key)
        if cached is not None:
            combos = cached
        else:
            if size > table_limit:
                raise SearchLimitExceeded(
                    "ddnnf",
                    f"rule {c.rule_id!r} spans {size} value combinations over {', '.join(c.scope)}, "
                    f"more than the table limit of {table_limit}",
                )
            predicate = c.predicate
            combos = frozenset(
                combo
                for combo, values in zip(
                    itertools.product(*(range(len(d)) for d in domains)), itertools.product(*domains), strict=True
                )
                if predicate(*values)
            )
            shapes.put(key, combos)
    if key is not None:
        plan = shapes.plans[(key, pattern)] = _plan(combos, pattern, list(sizes))
    else:
        # Equal tables over equal domain sizes share one plan (the decomposer's chains repeat their links).
        plan = row_plans.get((sizes, combos, pattern))
        if plan is None:
            plan = row_plans[(sizes, combos, pattern)] = _plan(combos, pattern, list(sizes))
    return _emit(plan, [value_lits[i] for i in distinct], clauses, counter)


_Plan = tuple[str, tuple[tuple[int, ...], ...]]
"""How one table becomes CNF, independent of the literals: ("none" | "all", ()), ("clauses", clauses whose
entries ``±(j + 1)`` stand for ``±`` the ``j``-th literal of the scope's values laid end to end) or
("supports", rows)."""


def _plan(combos: Set[tuple[int, ...]], pattern: tuple[int, ...], sizes: list[int]) -> _Plan:
    """The CNF of a table (rows of value positions over a scope with the repetition ``pattern``)."""
    n = len(sizes)
    if len(pattern) == n:  # no variable twice in the scope
        rows = sorted(combos)
    else:
        rows = []
        for combo in sorted(combos):
            seen: dict[int, int] = {}
            if all(seen.setdefault(p, k) == k for p, k in zip(pattern, combo, strict=True)):
                rows.append(tuple(seen[p] for p in range(n)))
    if not rows:
        return ("none", ())
    if len(rows) == math.prod(sizes):
        return ("all", ())
    starts = list(itertools.accumulate(sizes, initial=0))
    placeholders = [[starts[p] + k + 1 for k in range(size)] for p, size in enumerate(sizes)]
    table = _table_cnf(rows, sizes, placeholders)
    if sum(map(len, table)) <= len(rows) * (2 * n + 1):
        return ("clauses", tuple(tuple(cl) for cl in table))
    return ("supports", tuple(rows))


def _emit(
    plan: _Plan, lits: Sequence[tuple[int, ...]], clauses: list[tuple[int, ...]], counter: itertools.count[int]
) -> bool:
    """Append ``plan``'s clauses over the literals ``lits`` (per scope variable, per value); False for "none"."""
    kind, body = plan
    if kind == "none":
        return False
    if kind == "clauses":
        flat = [0, *itertools.chain.from_iterable(lits)]
        clauses.extend(tuple(flat[t] if t > 0 else -flat[-t] for t in cl) for cl in body)
    elif kind == "supports":
        supports: list[int] = []
        for row in body:
            t = next(counter)
            supports.append(t)
            clauses.extend((-t, lits[p][k]) for p, k in enumerate(row))
        clauses.append(tuple(supports))
    return True


# -- compiling -----------------------------------------------------------------------------------


def run_d4(cnf: Cnf, *, time_budget_s: float, what: str, progress: Progress | None = None) -> str:
    """d4's NNF text for ``cnf``, compiled in a child process stopped after ``time_budget_s``."""
    with tempfile.TemporaryDirectory(prefix="c2m-d4-") as tmp:
        src = os.path.join(tmp, "model.cnf")
        dst = os.path.join(tmp, "model.nnf")
        with open(src, "w") as fh:
            fh.write(f"p cnf {cnf.nvars} {len(cnf.clauses)}\n")
            fh.writelines(" ".join(map(str, cl)) + " 0\n" for cl in cnf.clauses)
        started = time.monotonic()
        child = subprocess.Popen(  # nosec B603: fixed script, this interpreter, no shell
            [sys.executable, "-c", _WORKER, src, dst, str(D4_ORDER_BUDGET)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            while True:
                elapsed = time.monotonic() - started
                try:
                    child.wait(timeout=max(0.0, min(1.0, time_budget_s - elapsed)))
                    break
                except subprocess.TimeoutExpired:
                    elapsed = time.monotonic() - started
                    if progress is not None:
                        progress("compiling", elapsed)
                    if elapsed >= time_budget_s:
                        raise CompileBudgetExceeded(
                            "ddnnf", f"d4 did not compile {what} within the time budget of {time_budget_s:g} s"
                        ) from None
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        err = child.stderr.read().decode(errors="replace") if child.stderr else ""
        if child.stderr:
            child.stderr.close()
        if child.returncode != 0:
            tail = err.strip().splitlines()[-1:] or [f"exit status {child.returncode}"]
            raise CompileBudgetExceeded("ddnnf", f"d4 failed on {what}: {tail[0]}")
        with open(dst) as fh:
            return fh.read()


# -- the compiled form ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DdnnfStats:
    compile_seconds: float
    cnf_variables: int
    cnf_clauses: int
    nodes: int
    arcs: int
    levels: int
    free_on_arcs: int
    """Total length of the per-arc lists of free (gap) variables."""


@dataclass(frozen=True, slots=True)
class _OutputPlan:
    """How a per-literal "supported" array becomes per-variable domains (built once per circuit)."""

    names: tuple[str, ...]
    pair_names: tuple[str, ...]
    pair_options: tuple[tuple[frozenset[Value], ...], ...]
    """Per two-value variable: its domains for (neither, first, second, both) values supported."""
    pair_neg: IntArray
    pair_pos: IntArray
    others: tuple[tuple[str, tuple[Value, ...], tuple[int, ...]], ...]
    """One-value variables and domains too large for a bit code: value by value."""
    multi_names: tuple[str, ...]
    """Multi-valued variables of at most ``_CODE_BITS`` values: one bit code per variable."""
    multi_domains: tuple[tuple[Value, ...], ...]
    multi_index: IntArray
    """Their "this value" literals' indices, variable after variable."""
    multi_shift: IntArray
    multi_starts: IntArray
    multi_memo: tuple[dict[int, frozenset[Value]], ...]
    """Per variable, the domain of each bit code met (the same objects click after click)."""


_OR, _AND, _TRUE, _FALSE = 1, 2, 3, 4
_KINDS = {"o": _OR, "a": _AND, "t": _TRUE, "f": _FALSE}


def _parse_nnf(text: str, model_key: str) -> tuple[IntArray, IntArray, IntArray, IntArray, IntArray, IntArray]:
    r"""d4's NNF text as arrays: sorted node ids and their kinds (:data:`_KINDS`), arcs as (parent, child) node
    positions in the order printed, and the arcs' literals (count per arc, then all of them in arc order).

    Lines are ``o|a|t|f <id> 0`` (a node) or ``<parent> <child> <literal>... 0`` (an arc); ``c`` lines are
    comments. The text is read by numpy in one pass: a node's kind letter becomes its negated kind code, so
    every line is a run of integers ended by its 0 and a line starting below zero is a node.

    >>> ids, kind, parent, child, lens, lits = _parse_nnf("o 1 0\nt 2 0\nf 3 0\n1 2 -4 5 0\n1 3 4 0\n", "k")
    >>> ids.tolist(), kind.tolist(), parent.tolist(), child.tolist(), lens.tolist(), lits.tolist()
    ([1, 2, 3], [1, 3, 4], [0, 0], [1, 2], [2, 1], [-4, 5, 4])
    """
    if "c" in text:
        text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("c"))
    for letter, code in _KINDS.items():
        text = text.replace(letter, str(-code))
    try:
        nums = np.array(text.split(), dtype=np.int64)
    except ValueError:
        raise CompileBudgetExceeded("ddnnf", f"d4 printed an unreadable circuit for model {model_key!r}") from None
    ends = np.flatnonzero(nums == 0)
    if len(ends) == 0 or ends[-1] != len(nums) - 1:
        raise CompileBudgetExceeded("ddnnf", f"d4 printed no circuit for model {model_key!r}")
    starts = np.concatenate([[0], ends[:-1] + 1])
    if np.any(ends - starts < 2):
        raise CompileBudgetExceeded("ddnnf", f"d4 printed a malformed line for model {model_key!r}")
    is_node = nums[starts] < 0
    node_ids, first = np.unique(nums[starts[is_node] + 1], return_index=True)
    kind = -nums[starts[is_node]][first]
    if len(node_ids) == 0:
        raise CompileBudgetExceeded("ddnnf", f"d4 printed no circuit for model {model_key!r}")
    if np.any(kind > len(_KINDS)):
        raise CompileBudgetExceeded("ddnnf", f"d4 printed an unknown node kind for model {model_key!r}")
    arc_start, arc_end = starts[~is_node], ends[~is_node]
    ends_points = np.concatenate([nums[arc_start], nums[arc_start + 1]])
    where = np.searchsorted(node_ids, ends_points)
    if len(ends_points) and (where.max() >= len(node_ids) or np.any(node_ids[where] != ends_points)):
        raise CompileBudgetExceeded("ddnnf", f"d4 printed an arc to an undeclared node for model {model_key!r}")
    parent, child = where[: len(arc_start)], where[len(arc_start) :]
    lens = arc_end - arc_start - 2
    lit_pos = np.repeat(arc_start + 2 - np.concatenate([[0], np.cumsum(lens)])[:-1], lens) + np.arange(int(lens.sum()))
    return node_ids, kind, parent, child, lens, nums[lit_pos]


@dataclass(frozen=True, slots=True)
class Circuit:
    """A parsed d-DNNF as flat arrays, with its gaps: what an artifact stores, so that loading a compiled
    model parses no text and recomputes nothing per node (:func:`circuit_of_text` builds it from d4's
    output, :func:`check_circuit` checks one read back)."""

    root: int
    is_or: BoolArray
    """Per node: an or-node (else an and-node or a leaf)."""
    leaf_sat: BoolArray
    """Per node: a satisfied leaf (a true node, an and-node without arcs)."""
    height: IntArray
    """Per node: leaves 0, a node one above its highest child."""
    parent: IntArray
    child: IntArray
    """Per arc, arcs sorted by (parent height, parent): one contiguous slice per level and per parent."""
    lit_ptr: IntArray
    lits: IntArray
    """The arcs' literals: arc ``a`` holds ``lits[lit_ptr[a]:lit_ptr[a + 1]]``."""
    gap_ptr: IntArray
    gap_vars: IntArray
    """Per arc, the two-value model variables free on it (an or-arc's "gap"), laid out as the literals."""
    root_free: IntArray
    """Two-value model variables mentioned nowhere (free in every solution)."""

    ARRAYS = ("is_or", "leaf_sat", "height", "parent", "child", "lit_ptr", "lits", "gap_ptr", "gap_vars", "root_free")
    """The array fields, in the order an artifact stores them."""


def _freeable(cnf: Cnf) -> list[int]:
    """The CNF variables of the two-value model variables: the only ones that can be free on an arc."""
    return [lits[1] for lits in cnf.value_lits if len(lits) == 2 and lits[0] == -lits[1]]


def circuit_of_text(text: str, cnf: Cnf, model_key: str) -> Circuit:
    """The :class:`Circuit` of d4's NNF ``text`` for ``cnf``: arcs sorted by level, gaps computed."""
    ids, kind, parent, child, lens, flat = _parse_nnf(text, model_key)
    n_nodes = len(ids)
    root = int(np.searchsorted(ids, 1)) if 1 in ids else 0
    # Heights: leaves 0, a node one above its highest child. Kahn's algorithm in rounds: a node
    # becomes ready in the round after its last child, so its round is its height.
    by_child = np.argsort(child, kind="stable")
    child_ptr = np.concatenate([[0], np.cumsum(np.bincount(child, minlength=n_nodes))])
    pending = np.bincount(parent, minlength=n_nodes)
    h = np.zeros(n_nodes, dtype=np.int64)
    ready = np.flatnonzero(pending == 0)
    rounds = 0
    done = 0
    while len(ready):
        h[ready] = rounds
        rounds += 1
        done += len(ready)
        counts = child_ptr[ready + 1] - child_ptr[ready]
        arcs = by_child[np.repeat(child_ptr[ready] - np.cumsum(counts) + counts, counts)
                        + np.arange(int(counts.sum()))]
        touched, drops = np.unique(parent[arcs], return_counts=True)
        pending[touched] -= drops
        ready = touched[pending[touched] == 0]
    if done != n_nodes:
        raise CompileBudgetExceeded("ddnnf", f"d4 printed a cyclic circuit for model {model_key!r}")
    is_or = kind == _OR
    # Leaves: true nodes, and-nodes without arcs, are satisfied; false and empty or-nodes are not.
    leaf_sat = (h == 0) & ((kind == _TRUE) | (kind == _AND))
    # Arcs sorted by (parent height, parent): one contiguous slice per level, one segment per parent.
    arc_order = np.lexsort((parent, h[parent])) if len(parent) else np.zeros(0, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lens)])[:-1]
    lens = lens[arc_order]
    lit_ptr = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    # The literals of the sorted arcs, gathered from the arcs' slices of ``flat`` in one indexing.
    gather = np.repeat(starts[arc_order] - lit_ptr[:-1], lens) + np.arange(int(lit_ptr[-1]))
    parent, child, lits = parent[arc_order], child[arc_order], flat[gather]
    gap_ptr, gap_vars, root_free = _gaps(cnf, n_nodes, root, is_or, np.argsort(h, kind="stable"), parent, child,
                                         lit_ptr, lits)
    return Circuit(root, is_or, leaf_sat, h, parent, child, lit_ptr, lits, gap_ptr, gap_vars, root_free)


def _gaps(
    cnf: Cnf, n_nodes: int, root: int, is_or: BoolArray, order: IntArray, parent: IntArray, child: IntArray,
    lit_ptr: IntArray, lits: IntArray,
) -> tuple[IntArray, IntArray, IntArray]:
    """Per or-arc, the two-value model variables free on it (CSR: pointers, variables); and the ones
    free everywhere. Sets of variables are Python ints used as bit sets, nodes children first."""
    freeable = _freeable(cnf)
    bit_of = np.full(cnf.nvars + 1, -1, dtype=np.int64)
    bit_of[np.array(freeable, dtype=np.int64)] = np.arange(len(freeable))
    n_arcs = len(parent)
    arc_bits = [0] * n_arcs
    bits_of_lit = bit_of[np.abs(lits)]
    on = bits_of_lit >= 0
    lit_arc = np.repeat(np.arange(n_arcs, dtype=np.int64), np.diff(lit_ptr))
    for a, b in zip(lit_arc[on].tolist(), bits_of_lit[on].tolist(), strict=True):
        arc_bits[a] |= 1 << b
    arcs_of: list[list[int]] = [[] for _ in range(n_nodes)]
    for a, p in enumerate(parent.tolist()):
        arcs_of[p].append(a)
    mentioned = [0] * n_nodes
    child_list = child.tolist()
    or_list = is_or.tolist()
    gaps: dict[int, int] = {}
    for n in order.tolist():
        arcs = arcs_of[n]
        below = [arc_bits[a] | mentioned[child_list[a]] for a in arcs]
        total = 0
        for b in below:
            total |= b
        mentioned[n] = total
        if or_list[n]:
            for a, b in zip(arcs, below, strict=True):
                if b != total:
                    gaps[a] = total & ~b
    ptr = [0]
    flat: list[int] = []
    for a in range(n_arcs):
        bits = gaps.get(a, 0)
        while bits:
            low = bits & -bits
            flat.append(low.bit_length() - 1)
            bits ^= low
        ptr.append(len(flat))
    free = np.array(freeable, dtype=np.int64)
    gap_vars = free[np.array(flat, dtype=np.int64)] if flat else np.zeros(0, np.int64)
    everywhere = ~mentioned[root] if n_nodes else -1
    root_free = np.array([v for b, v in enumerate(freeable) if everywhere >> b & 1], dtype=np.int64)
    return np.array(ptr, dtype=np.int64), gap_vars, root_free


def check_circuit(c: Circuit, cnf: Cnf) -> None:
    """Raise ``ValueError`` naming the first inconsistency of a circuit read back for ``cnf``: array
    shapes, pointers, node and variable numbers, heights and the arc order every pass relies on
    (a few vectorised passes over the arrays, no loop per node)."""
    n, m = len(c.is_or), len(c.parent)
    for name in ("leaf_sat", "height"):
        if len(getattr(c, name)) != n:
            raise ValueError(f"circuit: {name} has {len(getattr(c, name))} entries for {n} nodes")
    if n == 0 or not 0 <= c.root < n:
        raise ValueError(f"circuit: root {c.root} outside the {n} nodes")
    if len(c.child) != m:
        raise ValueError(f"circuit: {m} arc parents, {len(c.child)} arc children")
    for ptr_name, data_name in (("lit_ptr", "lits"), ("gap_ptr", "gap_vars")):
        ptr, data = getattr(c, ptr_name), getattr(c, data_name)
        if len(ptr) != m + 1 or ptr[0] != 0 or ptr[-1] != len(data) or np.any(ptr[1:] < ptr[:-1]):
            raise ValueError(f"circuit: {ptr_name} does not delimit the {len(data)} {data_name} over {m} arcs")
    if m and (c.parent.min() < 0 or c.parent.max() >= n or c.child.min() < 0 or c.child.max() >= n):
        raise ValueError(f"circuit: an arc ends outside the {n} nodes")
    expected = np.zeros(n, dtype=np.int64)
    if m:
        np.maximum.at(expected, c.parent, c.height[c.child] + 1)
    if not np.array_equal(expected, c.height):
        raise ValueError("circuit: node heights do not match the arcs (or the circuit has a cycle)")
    key = c.height[c.parent] * n + c.parent
    if m and np.any(key[1:] < key[:-1]):
        raise ValueError("circuit: arcs are not sorted by parent height and parent")
    if np.any(c.leaf_sat & (c.height > 0)):
        raise ValueError("circuit: an inner node is marked as a satisfied leaf")
    if len(c.lits) and (np.any(c.lits == 0) or np.abs(c.lits).max() > cnf.nvars):
        raise ValueError(f"circuit: an arc literal is not a variable of the {cnf.nvars} of the CNF")
    freeable = np.array(_freeable(cnf), dtype=np.int64)
    for name in ("gap_vars", "root_free"):
        if not np.all(np.isin(getattr(c, name), freeable)):
            raise ValueError(f"circuit: {name} holds a variable that is not a two-value model variable")


class _Ddnnf:
    """A parsed decision-DNNF with the arrays every query walks. Immutable after construction."""

    def __init__(self, model: Model, cnf: Cnf, c: Circuit, compile_seconds: float) -> None:
        self.model = model
        self.cnf = cnf
        self.circuit = c
        """The arrays as built or loaded, kept for ``configurator.artifacts``."""
        n_nodes = len(c.is_or)
        self.root = c.root
        self.is_or = c.is_or
        self.leaf_sat = c.leaf_sat
        self.parent, self.child = c.parent, c.child
        self.lit_ptr, self.lits = c.lit_ptr, c.lits
        self.gap_ptr, self.gap_vars, self.root_free = c.gap_ptr, c.gap_vars, c.root_free
        self.freeable = np.array(_freeable(cnf), dtype=np.int64)
        h = c.height
        self.order = np.argsort(h, kind="stable").tolist()
        """Nodes children first (by height, then number)."""
        self.levels = int(h.max()) if n_nodes else 0
        n_arcs = len(self.parent)
        self.lit_index = 2 * np.abs(self.lits) + (self.lits > 0)
        """Index of each arc literal in a per-literal array: ``2 * var + (literal is positive)``."""
        self.lit_arc = np.repeat(np.arange(n_arcs, dtype=np.int64), np.diff(self.lit_ptr))
        self.gap_arc = np.repeat(np.arange(n_arcs, dtype=np.int64), np.diff(self.gap_ptr))
        # Per parent node, its arcs: one contiguous run of the sorted arcs.
        seg = np.flatnonzero(np.concatenate([[True], self.parent[1:] != self.parent[:-1]])) if n_arcs else np.zeros(
            0, np.int64)
        self._seg_starts = seg
        parent_h = h[self.parent]
        self.level_slices: list[tuple[int, int, IntArray, IntArray]] = []
        """Per height 1..max: (first arc, end arc, segment starts relative to first, parent nodes)."""
        bounds = np.searchsorted(parent_h, np.arange(1, self.levels + 2))
        seg_bounds = np.searchsorted(seg, bounds)
        for lv in range(self.levels):
            lo, hi = int(bounds[lv]), int(bounds[lv + 1])
            starts = seg[seg_bounds[lv] : seg_bounds[lv + 1]]
            self.level_slices.append((lo, hi, (starts - lo).astype(np.int64), self.parent[starts]))
        self.stats = DdnnfStats(
            compile_seconds, cnf.nvars, len(cnf.clauses), n_nodes, n_arcs, self.levels, int(len(self.gap_vars)),
        )
        self._arcs_cache: list[range] | None = None
        self._plan_cache: _OutputPlan | None = None
        self._position_cache: dict[str, int] | None = None
        # What every click reads and no restriction changes, built with the circuit rather than by
        # the first click: the output plan, the per-level arc plan, the unrestricted node counts.
        self._plan()
        self._level_plan()
        self._base_counts()

    # -- restriction -> per-literal allowed mask

    def _ok(self, restrict: Restriction) -> BoolArray | None:
        """Per literal (index ``2 * var + positive``): may it be true under ``restrict``."""
        position = self._position()
        variables = self.model.variables
        if self.cnf.unsat:
            for name in restrict:
                if name not in position:
                    raise UnknownVariable(name, self.model.key)
            return None
        ok = np.ones(2 * (self.cnf.nvars + 1), dtype=np.bool_)
        for name, kept in restrict.items():
            i = position.get(name)
            if i is None:
                raise UnknownVariable(name, self.model.key)
            var = variables[i]
            lits = self.cnf.value_lits[i]
            if not any(x in kept for x in var.domain):
                return None
            boolean = len(lits) == 2 and lits[0] == -lits[1]
            for x, lit in zip(var.domain, lits, strict=True):
                if x not in kept:
                    if boolean:
                        ok[2 * abs(lit) + (lit > 0)] = False
                    else:
                        ok[2 * lit + 1] = False  # the "this value" literal may not be true
        return ok

    def _position(self) -> dict[str, int]:
        position: dict[str, int] | None = self._position_cache
        if position is None:
            position = self._position_cache = {v.name: i for i, v in enumerate(self.model.variables)}
        return position

    def _arc_ok(self, ok: BoolArray) -> BoolArray:
        bad = ~ok[self.lit_index]
        cs = np.concatenate([[0], np.cumsum(bad, dtype=np.int64)])
        return bool_(cs[self.lit_ptr[1:]] == cs[self.lit_ptr[:-1]])

    def _sat(self, arc_ok: BoolArray) -> BoolArray:
        sat: BoolArray = self.leaf_sat.copy()
        for lo, hi, starts, parents in self.level_slices:
            if hi == lo:
                continue
            alive = arc_ok[lo:hi] & sat[self.child[lo:hi]]
            any_ = np.logical_or.reduceat(alive, starts)
            all_ = np.logical_and.reduceat(alive, starts)
            sat[parents] = np.where(self.is_or[parents], any_, all_)
        return sat

    # -- queries

    def propagate(self, restrict: Restriction) -> dict[str, frozenset[Value]] | None:
        ok = self._ok(restrict)
        if ok is None:
            return None
        arc_ok = self._arc_ok(ok)
        sat = self._sat(arc_ok)
        if not sat[self.root]:
            return None
        reach = np.zeros(len(sat), dtype=np.bool_)
        reach[self.root] = True
        used = np.zeros(len(self.parent), dtype=np.bool_)
        for lo, hi, _starts, _parents in reversed(self.level_slices):
            if hi == lo:
                continue
            u = reach[self.parent[lo:hi]] & arc_ok[lo:hi] & sat[self.child[lo:hi]]
            used[lo:hi] = u
            reach[self.child[lo:hi][u]] = True
        supported = np.zeros(len(ok), dtype=np.bool_)
        supported[self.lit_index[used[self.lit_arc]]] = True
        free = np.concatenate([self.gap_vars[used[self.gap_arc]], self.root_free])
        supported[2 * free] = ok[2 * free]
        supported[2 * free + 1] = ok[2 * free + 1]
        return self._domains_of(supported, ok)

    def propagate_each(
        self, restrict: Restriction
    ) -> tuple[dict[str, frozenset[Value]] | None, dict[str, frozenset[Value]] | None]:
        """``propagate``, and per variable the values that extend to a solution under the restrictions
        of every *other* variable (its own restriction retracted), from one bottom-up and one top-down
        pass: the Boolean partial derivatives of the circuit (Darwiche's differential approach).

        ``_ok`` puts the evidence on a variable only on its own literals: on the positive "this value"
        literals of a multi-valued variable (a solution holds exactly one of them) and on the one
        literal a two-valued variable forbids. The derivative with respect to a value's literal is the
        disjunction, over the proof trees holding that literal, of the rest of the tree under the
        evidence; by decomposability the rest holds no other literal of the variable, so this is
        "some solution takes this value under the other variables' restrictions". A free variable of
        a gap (or of the whole circuit) holds either literal at once, so both get the derivative of
        the gap. Top-down: the derivative of a child through an arc is its parent's, with the arc's
        literals allowed and, under an and-node, every sibling arc alive (dead arcs counted per node);
        a literal's, the arc's, with the arc's other literals allowed and its child satisfiable.

        The first answer is ``None`` when ``restrict`` has no solution; the second is computed then
        too (retracting a restriction may make it feasible) and is ``None`` only when ``restrict``
        leaves some variable no value at all.
        """
        ok = self._ok(restrict)
        if ok is None:
            if self.cnf.unsat and self._leaves_a_value(restrict):
                # The model itself has no solution: retracting a restriction does not change that.
                return None, dict.fromkeys(self._plan().names, frozenset())
            return None, None
        bad = ~ok[self.lit_index]
        cs = np.concatenate([[0], np.cumsum(bad, dtype=np.int64)])
        arc_bad = cs[self.lit_ptr[1:]] - cs[self.lit_ptr[:-1]]
        arc_ok = arc_bad == 0
        sat = self._sat(arc_ok)
        n_arcs = len(self.parent)
        deriv = np.zeros(len(sat), dtype=np.bool_)
        deriv[self.root] = True
        through = np.zeros(n_arcs, dtype=np.bool_)
        """Per arc: its parent's derivative with every sibling arc alive under an and-node."""
        for (lo, hi, starts, _parents), (seg_len, under_and) in zip(
            reversed(self.level_slices), reversed(self._level_plan()), strict=True
        ):
            if hi == lo:
                continue
            children = self.child[lo:hi]
            dead = ~(arc_ok[lo:hi] & sat[children])
            t = deriv[self.parent[lo:hi]]
            if under_and.any():
                dead_n = np.add.reduceat(dead.astype(np.int64), starts)
                others_dead = np.repeat(dead_n, seg_len) - dead
                t &= ~under_and | (others_dead == 0)
            through[lo:hi] = t
            deriv[children[t & arc_ok[lo:hi]]] = True
        live = through & sat[self.child]
        retracted = np.zeros(len(ok), dtype=np.bool_)
        # A literal: its arc's derivative, the arc's other literals allowed.
        on = live[self.lit_arc] & (arc_bad[self.lit_arc] == bad)
        retracted[self.lit_index[on]] = True
        free = self.gap_vars[(live & arc_ok)[self.gap_arc]]
        root_sat = bool(sat[self.root])
        if root_sat:
            free = np.concatenate([free, self.root_free])
        retracted[2 * free] = True
        retracted[2 * free + 1] = True
        domains = self._domains_of(retracted & ok, ok) if root_sat else None
        each = self._domains_of(retracted, ok)
        if not root_sat:
            # A one-value variable is never restricted here (``_ok`` would have answered None):
            # retracting its restriction changes nothing, and there is no solution.
            for i in self._single_value_vars():
                each[self.model.variables[i].name] = frozenset()
        return domains, each

    def _leaves_a_value(self, restrict: Restriction) -> bool:
        """Whether ``restrict`` keeps some domain value of every variable it names."""
        variables, position = self.model.variables, self._position()
        return all(any(x in kept for x in variables[position[n]].domain) for n, kept in restrict.items())

    def _level_plan(self) -> list[tuple[IntArray, BoolArray]]:
        """Per entry of ``level_slices``: the arc count of each segment, and per arc whether its
        parent is an and-node (built once)."""
        cached: list[tuple[IntArray, BoolArray]] | None = getattr(self, "_level_plan_cache", None)
        if cached is None:
            cached = []
            for lo, hi, starts, _parents in self.level_slices:
                seg_len = np.diff(np.concatenate([starts, [hi - lo]])).astype(np.int64)
                cached.append((seg_len, ~self.is_or[self.parent[lo:hi]]))
            self._level_plan_cache = cached
        return cached

    def _domains_of(self, supported: BoolArray, ok: BoolArray) -> dict[str, frozenset[Value]]:
        """Per model variable, the values whose literal is ``supported`` (vectorised over the
        two-value variables: each picks one of its four possible domains)."""
        plan = self._plan()
        out: dict[str, frozenset[Value]] = dict.fromkeys(plan.names, frozenset())
        if len(plan.pair_pos):
            code = supported[plan.pair_neg].astype(np.int64) + 2 * supported[plan.pair_pos]
            for name, options, c in zip(plan.pair_names, plan.pair_options, code.tolist(), strict=True):
                out[name] = options[c]
        if len(plan.multi_names):
            bits = supported[plan.multi_index].astype(np.int64) << plan.multi_shift
            codes = np.add.reduceat(bits, plan.multi_starts).tolist()
            for name, domain, memo, c in zip(plan.multi_names, plan.multi_domains, plan.multi_memo, codes, strict=True):
                fs = memo.get(c)
                if fs is None:
                    fs = frozenset(x for k, x in enumerate(domain) if c >> k & 1)
                    if len(memo) < 4096:
                        memo[c] = fs
                out[name] = fs
        if not plan.others:
            return out
        sup = supported.tolist()
        okl = ok.tolist()
        for name, domain, lits in plan.others:
            if len(lits) == 1:
                out[name] = frozenset(domain) if okl[2 * lits[0] + 1] else frozenset()
            else:
                out[name] = frozenset(
                    x for x, lit in zip(domain, lits, strict=True) if sup[2 * abs(lit) + (lit > 0)]
                )
        return out

    def _plan(self) -> _OutputPlan:
        plan = self._plan_cache
        if plan is None:
            names = tuple(v.name for v in self.model.variables)
            pair_names: list[str] = []
            pair_options: list[tuple[frozenset[Value], ...]] = []
            neg: list[int] = []
            pos: list[int] = []
            others: list[tuple[str, tuple[Value, ...], tuple[int, ...]]] = []
            multi: list[tuple[str, tuple[Value, ...], tuple[int, ...]]] = []
            # Equal two-value domains share their four options (a feature model's are all (False, True)).
            # Keyed by the values' types too: (0, 1) equals (False, True) but must not answer False for 0.
            shared: dict[tuple[object, ...], tuple[frozenset[Value], ...]] = {}
            for var, lits in zip(self.model.variables, self.cnf.value_lits, strict=True):
                if len(lits) == 2 and lits[0] == -lits[1]:
                    a, b = var.domain
                    key = (a, b, type(a), type(b))
                    options = shared.get(key)
                    if options is None:
                        options = shared[key] = (frozenset(), frozenset({a}), frozenset({b}), frozenset({a, b}))
                    pair_names.append(var.name)
                    pair_options.append(options)
                    neg.append(2 * abs(lits[0]) + (lits[0] > 0))
                    pos.append(2 * abs(lits[1]) + (lits[1] > 0))
                elif 1 < len(lits) <= _CODE_BITS:
                    multi.append((var.name, tuple(var.domain), tuple(lits)))
                else:
                    others.append((var.name, tuple(var.domain), tuple(lits)))
            index = [2 * abs(lit) + (lit > 0) for _, _, lits in multi for lit in lits]
            shift = [k for _, _, lits in multi for k in range(len(lits))]
            sizes = [len(lits) for _, _, lits in multi]
            plan = self._plan_cache = _OutputPlan(
                names, tuple(pair_names), tuple(pair_options),
                np.array(neg, dtype=np.int64), np.array(pos, dtype=np.int64), tuple(others),
                tuple(m[0] for m in multi), tuple(m[1] for m in multi),
                np.array(index, dtype=np.int64), np.array(shift, dtype=np.int64),
                np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64) if sizes else np.zeros(0, np.int64),
                tuple({} for _ in multi),
            )
        return plan

    def count(self, restrict: Restriction) -> int:
        """Exact count: nodes whose sub-circuit no restricted literal (or restricted free variable)
        touches keep their unrestricted count (computed once), the others are recounted bottom-up."""
        ok = self._ok(restrict)
        if ok is None:
            return 0
        for i in self._single_value_vars():
            if not ok[2 * self.cnf.value_lits[i][0] + 1]:
                return 0
        both = ok[0::2] & ok[1::2]
        root_doubles = int(both[self.root_free].sum())
        base = self._base_counts()
        if not restrict:
            return base[self.root] << root_doubles
        arc_ok_np = self._arc_ok(ok)
        doubles_np = np.zeros(len(self.parent), dtype=np.int64)
        gap_full = np.zeros(len(self.parent), dtype=np.int64)
        if len(self.gap_vars):
            cs = np.concatenate([[0], np.cumsum(both[self.gap_vars], dtype=np.int64)])
            doubles_np = cs[self.gap_ptr[1:]] - cs[self.gap_ptr[:-1]]
            gap_full = self.gap_ptr[1:] - self.gap_ptr[:-1]
        touched = self._touched(~arc_ok_np | (doubles_np != gap_full))
        if not touched[self.root]:
            return base[self.root] << root_doubles
        order = self._order_array()
        redo = order[touched[order]].tolist()
        arc_ok = arc_ok_np.tolist()
        doubles = doubles_np.tolist()
        counts = list(base)
        is_or = self.is_or.tolist()
        child = self.child.tolist()
        arcs_of = self._arcs_of()
        for n in redo:
            arcs = arcs_of[n]
            if is_or[n]:
                total = 0
                for a in arcs:
                    if arc_ok[a]:
                        total += counts[child[a]] << doubles[a]
            else:
                total = 1
                for a in arcs:
                    if not arc_ok[a]:
                        total = 0
                        break
                    total *= counts[child[a]]
                    if not total:
                        break
            counts[n] = total
        result: int = counts[self.root] << root_doubles
        return result

    def _touched(self, arc_touched: BoolArray) -> BoolArray:
        """Nodes with a touched arc below them (an arc is touched when a literal on it is restricted,
        a free variable of its gap is, or its child is touched)."""
        touched = np.zeros(len(self.is_or), dtype=np.bool_)
        for lo, hi, starts, parents in self.level_slices:
            if hi == lo:
                continue
            t = arc_touched[lo:hi] | touched[self.child[lo:hi]]
            touched[parents] = np.logical_or.reduceat(t, starts)
        return touched

    def _single_value_vars(self) -> list[int]:
        cached: list[int] | None = getattr(self, "_single_cache", None)
        if cached is None:
            cached = self._single_cache = [i for i, lits in enumerate(self.cnf.value_lits) if len(lits) == 1]
        return cached

    def _order_array(self) -> IntArray:
        cached: IntArray | None = getattr(self, "_order_cache", None)
        if cached is None:
            cached = self._order_cache = np.array(self.order, dtype=np.int64)
        return cached

    def _base_counts(self) -> list[int]:
        """Per node, its count with nothing restricted (free variables of gaps counted twice)."""
        cached: list[int] | None = getattr(self, "_base_cache", None)
        if cached is None:
            doubles = (self.gap_ptr[1:] - self.gap_ptr[:-1]).tolist()
            counts = [0] * len(self.is_or)
            leaf = self.leaf_sat.tolist()
            is_or = self.is_or.tolist()
            child = self.child.tolist()
            arcs_of = self._arcs_of()
            for n in self.order:
                arcs = arcs_of[n]
                if not arcs:
                    counts[n] = 1 if leaf[n] else 0
                elif is_or[n]:
                    counts[n] = sum(counts[child[a]] << doubles[a] for a in arcs)
                else:
                    total = 1
                    for a in arcs:
                        total *= counts[child[a]]
                    counts[n] = total
            cached = self._base_cache = counts
        return cached

    def _arcs_of(self) -> list[range]:
        """Per node, its arcs (a run of the sorted arcs; ranges are no work for the garbage collector)."""
        cached = self._arcs_cache
        if cached is None:
            lo = np.zeros(len(self.is_or), dtype=np.int64)
            hi = np.zeros(len(self.is_or), dtype=np.int64)
            seg = self._seg_starts
            if len(seg):
                lo[self.parent[seg]] = seg
                hi[self.parent[seg]] = np.concatenate([seg[1:], [len(self.parent)]])
            cached = self._arcs_cache = list(map(range, lo.tolist(), hi.tolist()))
        return cached

    def _lit_costs(self, weights: Weights | None) -> list[int]:
        """Integer cost per literal: weight (scaled to integers) * span + full-domain position * place.

        Minimizing the sum minimizes the weight, then the tuple of domain positions in model order.
        """
        variables = self.model.variables
        sizes = [len(v.domain) for v in variables]
        span = math.prod(sizes)
        given = weights or {}
        fracs = [[Fraction(given.get(v.name, {}).get(x, 0)) for x in v.domain] for v in variables]
        scale = math.lcm(*(w.denominator for row in fracs for w in row)) if fracs else 1
        low = min((w for row in fracs for w in row), default=Fraction(0))
        lit_cost = [0] * (2 * (self.cnf.nvars + 1))
        place = span
        for i, lits in enumerate(self.cnf.value_lits):
            place //= sizes[i]
            for k, lit in enumerate(lits):
                lit_cost[2 * abs(lit) + (lit > 0)] = int((fracs[i][k] - low) * scale) * span + k * place
        return lit_cost

    def solve(self, restrict: Restriction, weights: Weights | None) -> dict[str, Value] | None:
        check_weights(self.model, weights)
        ok = self._ok(restrict)
        if ok is None:
            return None
        return self._cheapest(ok, self._lit_costs(weights))

    def _cheapest(self, ok: BoolArray, lit_cost: list[int]) -> dict[str, Value] | None:
        """The least-cost solution allowed by ``ok`` under literal costs ``lit_cost`` (one min pass)."""
        okl = ok.tolist()
        # Free variables pick their cheaper allowed polarity.
        free_cost = [0] * (self.cnf.nvars + 1)
        free_pick = [0] * (self.cnf.nvars + 1)
        for v in self.freeable.tolist():
            options = [(lit_cost[2 * v + s], s) for s in (0, 1) if okl[2 * v + s]]
            if options:
                free_cost[v], free_pick[v] = min(options)
        best, choice = self._min_pass(self._arc_ok(ok).tolist(), lit_cost, free_cost)
        if best[self.root] is None:
            return None
        return self._read_solution(choice, free_pick)

    def min_solution(
        self, restrict: Restriction, weights: Mapping[str, Mapping[Value, int]]
    ) -> dict[str, Value] | None:
        """A solution of least total integer weight (ties: the first arc met, no lexicographic order)."""
        check_weights(self.model, {name: {} for name in weights})
        ok = self._ok(restrict)
        if ok is None:
            return None
        costs = self._np_costs(weights)
        if costs is not None:
            return self._np_cheapest(ok, costs[0], costs[2])
        lit_cost = [0] * (2 * (self.cnf.nvars + 1))
        for var, lits in zip(self.model.variables, self.cnf.value_lits, strict=True):
            for x, lit in zip(var.domain, lits, strict=True):
                lit_cost[2 * abs(lit) + (lit > 0)] = int(weights.get(var.name, {}).get(x, 0))
        return self._cheapest(ok, lit_cost)

    def value_costs(
        self, restrict: Restriction, weights: Mapping[str, Mapping[Value, int]]
    ) -> dict[str, dict[Value, int]] | None:
        """Per variable and value, the least total weight of a solution taking that value.

        Values that no solution takes are absent (so the keys are ``propagate``'s domains).
        One bottom-up min pass and one top-down pass ("outside" costs) over the circuit.
        """
        check_weights(self.model, {name: {} for name in weights})
        ok = self._ok(restrict)
        if ok is None:
            return None
        okl = ok.tolist()
        lit_cost = [0] * (2 * (self.cnf.nvars + 1))
        for var, lits in zip(self.model.variables, self.cnf.value_lits, strict=True):
            for x, lit in zip(var.domain, lits, strict=True):
                lit_cost[2 * abs(lit) + (lit > 0)] = int(weights.get(var.name, {}).get(x, 0))
        free_cost = [0] * (self.cnf.nvars + 1)
        for v in self.freeable.tolist():
            options = [lit_cost[2 * v + s] for s in (0, 1) if okl[2 * v + s]]
            if options:
                free_cost[v] = min(options)
        arc_ok = self._arc_ok(ok).tolist()
        best, _choice = self._min_pass(arc_ok, lit_cost, free_cost)
        if best[self.root] is None:
            return None
        # Variables free everywhere add their cheapest value to every solution.
        root_extra = sum(free_cost[v] for v in self.root_free.tolist())
        lit_best = self._outside(best, arc_ok, okl, lit_cost, free_cost, root_extra)
        root_best = best[self.root]
        assert root_best is not None
        root_best += root_extra
        for v in self.root_free.tolist():
            for s in (0, 1):
                c = root_best - free_cost[v] + lit_cost[2 * v + s]
                known = lit_best[2 * v + s]
                if okl[2 * v + s] and (known is None or c < known):
                    lit_best[2 * v + s] = c
        out: dict[str, dict[Value, int]] = {}
        for var, lits in zip(self.model.variables, self.cnf.value_lits, strict=True):
            row: dict[Value, int] = {}
            if len(lits) == 1:
                if okl[2 * lits[0] + 1]:
                    row[var.domain[0]] = root_best
            else:
                for x, lit in zip(var.domain, lits, strict=True):
                    c = lit_best[2 * abs(lit) + (lit > 0)]
                    if c is not None:
                        row[x] = c
            out[var.name] = row
        return out

    def value_costs_each(
        self, restrict: Restriction, weights: Mapping[str, Mapping[Value, int]]
    ) -> tuple[dict[str, dict[Value, int]] | None, dict[str, dict[Value, int]] | None]:
        """:meth:`value_costs`, and per variable the same with *its own* restriction retracted (every
        other restriction kept), from one bottom-up and one top-down pass on numpy arrays: the min-plus
        partial derivatives of the circuit (as :meth:`propagate_each` in the Boolean semiring).

        A literal's retracted cost is the least cost of a proof tree holding it, with the evidence on
        its arc's *other* literals kept: the outside cost of its arc (its parent's outside cost plus,
        under an and-node, the sibling arcs' least costs), the arc's literals and gaps, and its child's
        least cost. The first answer is ``None`` when ``restrict`` has no solution, the second only when
        ``restrict`` leaves some variable no value at all. Costs are 64-bit integers when every total
        fits, Python ints (object arrays) beyond; negative weights take the per-node Python passes of
        :meth:`value_costs` (and then no retracted answer: ``None``).
        """
        check_weights(self.model, {name: {} for name in weights})
        ok = self._ok(restrict)
        if ok is None:
            if self.cnf.unsat and self._leaves_a_value(restrict):
                return None, {name: {} for name in self._plan().names}
            return None, None
        costs = self._np_costs(weights)
        if costs is None:
            return self.value_costs(restrict, weights), None
        lit_cost, constant, inf = costs
        dt = lit_cost.dtype
        # Free variables of a gap cost their cheaper allowed value.
        free_cost = np.zeros(self.cnf.nvars + 1, dtype=dt)
        fv = self.freeable
        if len(fv):
            neg = np.where(ok[2 * fv], lit_cost[2 * fv], inf)
            pos = np.where(ok[2 * fv + 1], lit_cost[2 * fv + 1], inf)
            free_cost[fv] = np.minimum(neg, pos)
        bad = ~ok[self.lit_index]
        cs = np.concatenate([[0], np.cumsum(bad, dtype=np.int64)])
        arc_bad = cs[self.lit_ptr[1:]] - cs[self.lit_ptr[:-1]]
        arc_ok = arc_bad == 0
        cs = np.concatenate([[0], np.cumsum(lit_cost[self.lit_index], dtype=dt)])
        own = cs[self.lit_ptr[1:]] - cs[self.lit_ptr[:-1]]
        """Per arc: its literals' costs (allowed or not) and its gap's free variables' costs."""
        if len(self.gap_vars):
            cs = np.concatenate([[0], np.cumsum(free_cost[self.gap_vars], dtype=dt)])
            own += cs[self.gap_ptr[1:]] - cs[self.gap_ptr[:-1]]
        best, sums = self._np_up(own, arc_ok, inf)
        plan = self._level_plan()
        root_extra = constant + int(free_cost[self.root_free].sum())
        outside = np.full(len(best), inf, dtype=dt)
        outside[self.root] = root_extra
        base = np.full(len(self.parent), inf, dtype=dt)
        """Per arc: the least cost of everything outside it in a proof tree through it."""
        for (lo, hi, _starts, _parents), (seg_len, under_and), (c, dead_n, dead, total) in zip(
            reversed(self.level_slices), reversed(plan), reversed(sums), strict=True
        ):
            if hi == lo:
                continue
            out_p = outside[self.parent[lo:hi]]
            b = out_p
            if under_and.any():
                others_dead = np.repeat(dead_n, seg_len) - dead
                others = np.repeat(total, seg_len) - c
                b = np.where(under_and, np.where(others_dead == 0, out_p + others, inf), out_p)
            b = np.where(out_p >= inf, inf, b)
            base[lo:hi] = b
            reach = arc_ok[lo:hi] & (b < inf)
            np.minimum.at(outside, self.child[lo:hi][reach], (b + own[lo:hi])[reach])
        below = best[self.child]
        live = (base < inf) & (below < inf)
        through = np.where(live, base + below + own, inf)
        each = np.full(len(ok), inf, dtype=dt)
        # A literal: its arc's cost with the arc's other literals allowed (its own may be excluded).
        on = live[self.lit_arc] & (arc_bad[self.lit_arc] == bad)
        np.minimum.at(each, self.lit_index[on], through[self.lit_arc[on]])
        g = (live & arc_ok)[self.gap_arc]
        gv = self.gap_vars[g]
        if len(gv):
            gt = through[self.gap_arc[g]] - free_cost[gv]
            np.minimum.at(each, 2 * gv, gt + lit_cost[2 * gv])
            np.minimum.at(each, 2 * gv + 1, gt + lit_cost[2 * gv + 1])
        feasible = bool(best[self.root] < inf)
        root_total = int(best[self.root]) + root_extra if feasible else inf
        rf = self.root_free
        if feasible and len(rf):
            rt = root_total - free_cost[rf]
            each[2 * rf] = np.minimum(each[2 * rf], rt + lit_cost[2 * rf])
            each[2 * rf + 1] = np.minimum(each[2 * rf + 1], rt + lit_cost[2 * rf + 1])
        lifted = self._cost_rows(each, root_total, inf)
        if not feasible:
            return None, lifted
        return self._cost_rows(np.where(ok, each, inf), root_total, inf), lifted

    def _np_up(
        self, own: IntArray, arc_ok: BoolArray, inf: int, choice: IntArray | None = None
    ) -> tuple[IntArray, list[tuple[IntArray, IntArray, BoolArray, IntArray]]]:
        """Bottom-up least cost per node (``inf``: none) given each arc's own cost, and per level
        the arcs' costs (0 when dead), the dead arcs per node, the dead mask and the sum per node.
        With ``choice``, the first least-cost arc of every or-node is written into it."""

        best = np.full(len(self.is_or), inf, dtype=own.dtype)
        best[self.leaf_sat] = 0
        sums: list[tuple[IntArray, IntArray, BoolArray, IntArray]] = []
        for lo, hi, starts, parents in self.level_slices:
            if hi == lo:
                sums.append((own[:0], own[:0], arc_ok[:0], own[:0]))
                continue
            below = best[self.child[lo:hi]]
            dead = ~arc_ok[lo:hi] | (below >= inf)
            c = np.where(dead, 0, below + own[lo:hi])
            dead_n = np.add.reduceat(dead.astype(np.int64), starts)
            total = np.add.reduceat(c, starts)
            masked = np.where(dead, inf, c)
            least = np.minimum.reduceat(masked, starts)
            best[parents] = np.where(self.is_or[parents], least, np.where(dead_n > 0, inf, total))
            if choice is not None:
                seg_len = self._level_plan()[len(sums)][0]
                first = np.where(masked == np.repeat(least, seg_len), np.arange(lo, hi), len(self.parent))
                choice[parents] = np.minimum.reduceat(first, starts)
            sums.append((c, dead_n, dead, total))
        return best, sums

    def _np_cheapest(self, ok: BoolArray, lit_cost: IntArray, inf: int) -> dict[str, Value] | None:
        """:meth:`_cheapest` on numpy arrays (the same solution: ties go to the first arc met)."""

        fv = self.freeable
        free_cost = np.zeros(self.cnf.nvars + 1, dtype=lit_cost.dtype)
        free_pick = np.zeros(self.cnf.nvars + 1, dtype=np.int64)
        if len(fv):
            neg = np.where(ok[2 * fv], lit_cost[2 * fv], inf)
            pos = np.where(ok[2 * fv + 1], lit_cost[2 * fv + 1], inf)
            free_cost[fv] = np.minimum(neg, pos)
            free_pick[fv] = pos < neg
        arc_ok = self._arc_ok(ok)
        cs = np.concatenate([[0], np.cumsum(lit_cost[self.lit_index], dtype=lit_cost.dtype)])
        own = cs[self.lit_ptr[1:]] - cs[self.lit_ptr[:-1]]
        if len(self.gap_vars):
            cs = np.concatenate([[0], np.cumsum(free_cost[self.gap_vars], dtype=lit_cost.dtype)])
            own += cs[self.gap_ptr[1:]] - cs[self.gap_ptr[:-1]]
        choice = np.full(len(self.is_or), -1, dtype=np.int64)
        best, _sums = self._np_up(own, arc_ok, inf, choice)
        if best[self.root] >= inf:
            return None
        reach = np.zeros(len(best), dtype=np.bool_)
        reach[self.root] = True
        used = np.zeros(len(self.parent), dtype=np.bool_)
        for (lo, hi, _starts, _parents), (_seg_len, under_and) in zip(
            reversed(self.level_slices), reversed(self._level_plan()), strict=True
        ):
            if hi == lo:
                continue
            ps = self.parent[lo:hi]
            u = reach[ps] & (under_and | (choice[ps] == np.arange(lo, hi)))
            used[lo:hi] = u
            reach[self.child[lo:hi][u]] = True
        value = np.full(self.cnf.nvars + 1, -1, dtype=np.int64)
        lits = self.lits[used[self.lit_arc]]
        value[np.abs(lits)] = lits > 0
        free = np.concatenate([self.gap_vars[used[self.gap_arc]], self.root_free])
        value[free] = free_pick[free]
        return self._solution_of(value.tolist())

    def _np_costs(self, weights: Mapping[str, Mapping[Value, int]]) -> tuple[IntArray, int, int] | None:
        """Cost per literal, the weight of the one-value variables (a constant of every solution,
        whatever d4 kept of their literals) and a cost above every total ("none"); ``None`` for
        negative weights. 64-bit integers when the totals fit, Python ints (object arrays) beyond."""
        position = self._position()
        variables = self.model.variables
        bound = 0
        constant = 0
        index: list[int] = []
        cost: list[int] = []
        for name, row in weights.items():
            i = position[name]
            lits = self.cnf.value_lits[i]
            values = [int(row.get(x, 0)) for x in variables[i].domain]
            if not values:
                continue
            if min(values) < 0:
                return None
            bound += max(values)
            if len(lits) == 1:
                constant += values[0]
                continue
            index.extend(2 * abs(lit) + (lit > 0) for lit in lits)
            cost.extend(values)
        exact = bound >= _NP_BOUND
        dt = np.dtype(object) if exact else np.dtype(np.int64)
        lit_cost = np.zeros(2 * (self.cnf.nvars + 1), dtype=dt)
        if index:
            lit_cost[np.array(index, dtype=np.int64)] = np.array(cost, dtype=dt)
        return lit_cost, constant, (2 * bound + 1 if exact else _NP_INF)

    def _cost_rows(self, cost: IntArray, root_total: int, inf: int) -> dict[str, dict[Value, int]]:
        """Per model variable, its values' entries of a per-literal cost array (absent: none)."""
        costs = cost.tolist()
        out: dict[str, dict[Value, int]] = {}
        for var, lits in zip(self.model.variables, self.cnf.value_lits, strict=True):
            if len(lits) == 1:
                out[var.name] = {var.domain[0]: root_total} if root_total < inf else {}
                continue
            row: dict[Value, int] = {}
            for x, lit in zip(var.domain, lits, strict=True):
                c = costs[2 * abs(lit) + (lit > 0)]
                if c < inf:
                    row[x] = c
            out[var.name] = row
        return out

    def _outside(
        self,
        best: list[int | None],
        arc_ok: list[bool],
        okl: list[bool],
        lit_cost: list[int],
        free_cost: list[int],
        root_extra: int,
    ) -> list[int | None]:
        """Top-down: per literal, the least cost of a solution whose proof tree holds it (or frees it)."""
        lit_best: list[int | None] = [None] * len(lit_cost)

        def offer(li: int, c: int) -> None:
            known = lit_best[li]
            if known is None or c < known:
                lit_best[li] = c

        gap_ptr = self.gap_ptr.tolist()
        gap_vars = self.gap_vars.tolist()
        lit_ptr = self.lit_ptr.tolist()
        lit_index = self.lit_index.tolist()
        child = self.child.tolist()
        is_or = self.is_or.tolist()
        arcs_of = self._arcs_of()
        outside: list[int | None] = [None] * len(best)
        outside[self.root] = root_extra
        for n in reversed(self.order):  # parents before children
            out_n, best_n = outside[n], best[n]
            if out_n is None or best_n is None:
                continue
            for a in arcs_of[n]:
                below = best[child[a]]
                if not arc_ok[a] or below is None:
                    continue
                own = sum(lit_cost[lit_index[j]] for j in range(lit_ptr[a], lit_ptr[a + 1]))
                own += sum(free_cost[gap_vars[j]] for j in range(gap_ptr[a], gap_ptr[a + 1]))
                # The cheapest solution through this arc: everything outside the arc's parent,
                # then this arc (or-node) or all the arcs (and-node).
                through = out_n + (own + below if is_or[n] else best_n)
                child_out = through - below
                known = outside[child[a]]
                if known is None or child_out < known:
                    outside[child[a]] = child_out
                for j in range(lit_ptr[a], lit_ptr[a + 1]):
                    offer(lit_index[j], through)
                for j in range(gap_ptr[a], gap_ptr[a + 1]):
                    v = gap_vars[j]
                    for s in (0, 1):
                        if okl[2 * v + s]:
                            offer(2 * v + s, through - free_cost[v] + lit_cost[2 * v + s])
        return lit_best

    def _min_pass(
        self, arc_ok: list[bool], lit_cost: list[int], free_cost: list[int]
    ) -> tuple[list[int | None], list[int]]:
        """Bottom-up least cost per node and the arg-min arc of every or-node."""
        gap_ptr = self.gap_ptr.tolist()
        gap_vars = self.gap_vars.tolist()
        lit_ptr = self.lit_ptr.tolist()
        lit_index = self.lit_index.tolist()
        child = self.child.tolist()
        is_or = self.is_or.tolist()
        leaf = self.leaf_sat.tolist()
        arcs_of = self._arcs_of()
        best: list[int | None] = [None] * len(self.is_or)
        choice = [-1] * len(self.is_or)

        def arc_cost(a: int) -> int | None:
            below = best[child[a]]
            if not arc_ok[a] or below is None:
                return None
            c: int = below
            for j in range(lit_ptr[a], lit_ptr[a + 1]):
                c += lit_cost[lit_index[j]]
            for j in range(gap_ptr[a], gap_ptr[a + 1]):
                c += free_cost[gap_vars[j]]
            return c

        for n in self.order:
            arcs = arcs_of[n]
            if not arcs:
                best[n] = 0 if leaf[n] else None
            elif is_or[n]:
                top: int | None = None
                for a in arcs:
                    c = arc_cost(a)
                    if c is not None and (top is None or c < top):
                        top, choice[n] = c, a
                best[n] = top
            else:
                costs = [arc_cost(a) for a in arcs]
                best[n] = None if any(c is None for c in costs) else sum(c for c in costs if c is not None)
        return best, choice

    def _read_solution(self, choice: list[int], free_pick: list[int]) -> dict[str, Value]:
        """The values along the arg-min proof tree (free variables: their cheaper polarity)."""
        gap_ptr = self.gap_ptr.tolist()
        gap_vars = self.gap_vars.tolist()
        lit_ptr = self.lit_ptr.tolist()
        lit_index = self.lit_index.tolist()
        child = self.child.tolist()
        is_or = self.is_or.tolist()
        arcs_of = self._arcs_of()
        value = [-1] * (self.cnf.nvars + 1)  # 0 / 1 per CNF variable, -1 unknown
        stack = [self.root]
        seen: set[int] = set()
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            for a in [choice[n]] if is_or[n] else arcs_of[n]:
                if a < 0:
                    continue
                for j in range(lit_ptr[a], lit_ptr[a + 1]):
                    li = lit_index[j]
                    value[li >> 1] = li & 1
                for j in range(gap_ptr[a], gap_ptr[a + 1]):
                    value[gap_vars[j]] = free_pick[gap_vars[j]]
                stack.append(child[a])
        for v in self.root_free.tolist():
            value[v] = free_pick[v]
        return self._solution_of(value)

    def _solution_of(self, value: list[int]) -> dict[str, Value]:
        """The model's values from a 0 / 1 per CNF variable (-1: not set; a one-value variable needs none)."""
        out: dict[str, Value] = {}
        for var, lits in zip(self.model.variables, self.cnf.value_lits, strict=True):
            if len(lits) == 1:
                out[var.name] = var.domain[0]
                continue
            picked = [k for k, lit in enumerate(lits) if value[abs(lit)] == (1 if lit > 0 else 0)]
            assert len(picked) == 1, f"d-DNNF solution leaves {var.name} undetermined"
            out[var.name] = var.domain[picked[0]]
        return out


def bool_(a: npt.NDArray[np.bool_]) -> BoolArray:
    return a


# -- cache and backend ---------------------------------------------------------------------------

_cache: OrderedDict[str, _Ddnnf] = OrderedDict()
_failures: OrderedDict[tuple[str, float], CompileBudgetExceeded] = OrderedDict()
_lock = threading.Lock()


def available() -> bool:
    """Whether the d4 compiler can be imported here."""
    import importlib.util

    return importlib.util.find_spec("py_d4") is not None


def compile_ddnnf(
    model: Model, *, time_budget_s: float = DEFAULT_TIME_BUDGET_S, progress: Progress | None = None
) -> _Ddnnf:
    """The compiled d-DNNF of ``model`` (LRU cache per ``model.key``; failures remembered too)."""
    failure_key = (model.key, time_budget_s)
    with _lock:
        hit = _cache.get(model.key)
        if hit is not None:
            _cache.move_to_end(model.key)
            return hit
        failed = _failures.get(failure_key)
        if failed is not None:
            raise CompileBudgetExceeded(failed.backend, failed.detail)
    if not available():
        raise CompileBudgetExceeded("ddnnf", "the d4 compiler (PyPI d4solver, module py_d4) is not installed")
    started = time.perf_counter()
    try:
        cnf = encode_cnf(model)
        # A CNF with an empty clause has no model: the circuit is the false leaf (UNSAT is data); one without
        # variables has exactly one (d4 cannot read an empty formula).
        text = "f 1 0\n" if cnf.unsat else "t 1 0\n" if cnf.nvars == 0 else run_d4(
            cnf, time_budget_s=time_budget_s, what=f"model {model.key!r}", progress=progress
        )
        if progress is not None:
            progress("reading", time.perf_counter() - started)
        compiled = _Ddnnf(model, cnf, circuit_of_text(text, cnf, model.key), 0.0)
    except CompileBudgetExceeded as exc:
        with _lock:
            _failures[failure_key] = exc
            while len(_failures) > CACHE_SIZE:
                _failures.popitem(last=False)
        raise
    compiled.stats = dataclasses.replace(compiled.stats, compile_seconds=time.perf_counter() - started)
    with _lock:
        _cache[model.key] = compiled
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return compiled


def clear_cache() -> None:
    with _lock:
        _cache.clear()
        _failures.clear()


class DdnnfBackend:
    """Backend answering every query from a d4-compiled d-DNNF (see the module docstring)."""

    name = "ddnnf"

    def __init__(
        self,
        model: Model,
        *,
        time_budget_s: float = DEFAULT_TIME_BUDGET_S,
        progress: Progress | None = None,
    ) -> None:
        self.model = model
        self._d = compile_ddnnf(model, time_budget_s=time_budget_s, progress=progress)

    @property
    def stats(self) -> DdnnfStats:
        return self._d.stats

    def artifact_parts(self) -> tuple[Cnf, Circuit, float]:
        """The CNF, the circuit's arrays and the compile time: what :meth:`from_artifact_parts`
        rebuilds this backend from without running d4 (``configurator.artifacts``)."""
        return self._d.cnf, self._d.circuit, self._d.stats.compile_seconds

    @classmethod
    def from_artifact_parts(cls, model: Model, cnf: Cnf, circuit: Circuit, compile_seconds: float) -> DdnnfBackend:
        """The backend of a circuit compiled earlier for ``cnf`` (see :meth:`artifact_parts`), checked first.

        :raise ValueError: the circuit's arrays are inconsistent (see :func:`check_circuit`).
        """
        check_circuit(circuit, cnf)
        backend = cls.__new__(cls)
        backend.model = model
        backend._d = _Ddnnf(model, cnf, circuit, compile_seconds)
        return backend

    def propagate(self, restrict: Restriction) -> dict[str, frozenset[Value]] | None:
        return self._d.propagate(restrict)

    def propagate_each(
        self, restrict: Restriction
    ) -> tuple[dict[str, frozenset[Value]] | None, dict[str, frozenset[Value]] | None]:
        """``propagate``, and per variable its domain with its own restriction retracted (one pass)."""
        return self._d.propagate_each(restrict)

    def count(self, restrict: Restriction) -> int:
        return self._d.count(restrict)

    def solve(self, restrict: Restriction, weights: Weights | None = None) -> dict[str, Value] | None:
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
        restriction retracted (computed also when ``restrict`` has no solution)."""
        return self._d.value_costs_each(restrict, weights)

    def min_solution(
        self, restrict: Restriction, weights: Mapping[str, Mapping[Value, int]]
    ) -> dict[str, Value] | None:
        """A solution of least total integer weight (no lexicographic tie-break across the model)."""
        return self._d.min_solution(restrict, weights)


__all__ = [
    "Circuit", "Cnf", "DdnnfBackend", "DdnnfStats", "PackedClauses", "check_circuit", "circuit_of_text", "clear_cache",
    "compile_ddnnf", "encode_cnf",
]
