"""The configurator engine: state, explanations, repairs, completion, counting, validation.

A :class:`Configurator` wraps one product's compiled model and a solver
backend. Every question is answered from the buyer's decisions (oldest
first, see :mod:`configurator.decisions`), so the engine itself is stateless
and safe to share between requests.

The guarantee that matters to a buyer: a value shown as possible extends to
at least one complete valid configuration. Backends answer ``propagate``
with *global* consistency (every value that survives is part of a full
solution), not with local propagation, which can leave values that look
fine one rule at a time but lead into a dead end several choices later.
"""

from __future__ import annotations

import atexit
import gc
import hashlib
import itertools
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from threading import Lock
from typing import Any

from catalog.snapshot import Attribute, AttributeKind, Label, Product, Value
from configurator.backends.base import (
    Backend,
    CompileBudgetExceeded,
    RetractingBackend,
    SearchLimitExceeded,
    retracting,
)
from configurator.decisions import (
    AnyDecision,
    AttributeValue,
    Decision,
    SetElement,
    check_decision,
    check_value,
    effective_decisions,
    find_attribute,
    format_value,
    restriction_of,
)
from configurator.diagnosis import fastdiag, quickxplain
from configurator.errors import BudgetExceeded, ClickBudgetExceeded, ConfiguratorError
from configurator.model import Constraint, Model
from configurator.modules import GUARD_PREFIX, module_labels
from configurator.priced import PricedModel
from configurator.pricing import PriceBreakdown, PriceModel
from configurator.progress import Progress

SOURCES = ("user", "implied", "default", "cheapest")
"""Where a fixed value came from: a buyer decision, forced by the rules and decisions, the attribute's
default, or the cheapest completion (a default ruled out by the decisions, or an attribute without a
default whose value changes the price)."""

_VALUE_STATES_KEPT = 200_000
"""Shared value states kept per configurator (the memo is cleared past it)."""
MAX_SET_ENUMERATION = 8
"""Open set elements up to which a set attribute's remaining subsets are enumerated for pricing."""


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class RuleRef:
    """A rule (or a structural constraint such as a set's min/max count) with its buyer-facing message."""

    rule_id: str
    message: Label


@dataclass(frozen=True, slots=True)
class ValueState:
    """One value of an attribute (for a set attribute: one element).

    ``possible``: choosing this value now (replacing any earlier decision on
    the same attribute or element) still leads to a complete valid
    configuration. For a set element, ``possible`` is about putting it in and
    ``possible_out`` about leaving it out. ``price_delta``: the price change
    of choosing it, including every value it forces and the defaults that
    still apply afterwards; ``0`` for the selected value, ``None`` when the
    value is impossible.
    """

    value: Value
    possible: bool
    selected: bool
    source: str | None
    price_delta: Decimal | None
    possible_out: bool | None = None


@dataclass(frozen=True, slots=True)
class AttributeState:
    """The state of one attribute: its value when fixed, where it came from, and every value."""

    code: str
    kind: AttributeKind
    value: AttributeValue | None
    """The fixed value (a frozenset for a set attribute whose every element is fixed), else ``None``."""
    source: str | None
    """"user", "implied", "default" or ``None`` when open. For a set: "default" if any element is
    default-filled, else "user" if any is user-fixed, else "implied"."""
    values: tuple[ValueState, ...]

    @property
    def possible(self) -> tuple[Value, ...]:
        """Values (set: elements that may be included) still possible."""
        return tuple(v.value for v in self.values if v.possible)


@dataclass(frozen=True, slots=True)
class Conflict:
    """Why the decisions cannot all hold, and what the state dropped to stay usable.

    ``decisions``: a minimal conflicting subset (QuickXplain, preferring older
    decisions); ``rules``: a minimal set of rules that make them conflict;
    ``dropped``: a minimal set of decisions (FastDiag, dropping the oldest)
    left out to compute the state.
    """

    decisions: tuple[AnyDecision, ...]
    rules: tuple[RuleRef, ...]
    dropped: tuple[AnyDecision, ...]


@dataclass(frozen=True, slots=True)
class State:
    """The propagated state of a configuration."""

    product: str
    decisions: tuple[AnyDecision, ...]
    """The decisions in force (effective, minus ``conflict.dropped`` when there is a conflict)."""
    attributes: tuple[AttributeState, ...]
    conflict: Conflict | None
    price: PriceBreakdown
    complete: bool
    """Every attribute is fixed by the buyer or by implication (defaults do not count)."""
    missing: tuple[str, ...]
    """Attributes not yet fixed by the buyer or by implication, in product order."""
    count: int
    """Number of valid complete configurations that extend ``decisions``."""

    def attribute(self, code: str) -> AttributeState:
        for a in self.attributes:
            if a.code == code:
                return a
        raise KeyError(code)

    def values(self) -> dict[str, AttributeValue]:
        """Every fixed attribute value (including default-filled ones)."""
        return {a.code: a.value for a in self.attributes if a.value is not None}


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why ``value`` of ``attribute`` is not possible.

    ``possible`` is true when it is possible after all (then both tuples are
    empty). Otherwise ``decisions`` is a minimal subset of the buyer's
    decisions that rules it out (empty when the rules alone exclude it) and
    ``rules`` a minimal set of rules involved.
    """

    attribute: str
    value: AttributeValue
    possible: bool
    decisions: tuple[AnyDecision, ...]
    rules: tuple[RuleRef, ...]


@dataclass(frozen=True, slots=True)
class Repair:
    """Decisions to drop so that the wanted value becomes possible.

    ``decisions`` = ``keep`` with the wanted decision added (it replaces any
    decision on the same attribute or element).
    """

    drop: tuple[AnyDecision, ...]
    keep: tuple[AnyDecision, ...]
    decisions: tuple[AnyDecision, ...]


@dataclass(frozen=True, slots=True)
class Violation:
    """A rule a full configuration breaks (or a domain problem: unknown, missing, invalid value)."""

    rule_id: str
    message: Label
    attributes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ModelStats:
    """Size of the compiled model (``c2m model stats``)."""

    product: str
    variables: int
    constraints: int
    rules: int
    backend: str
    compile_seconds: float
    size: int | None
    """Node count of the compiled form (decision diagram or d-DNNF) when the backend has one."""
    count: int
    choice: tuple[str, ...] = ()
    """With backend "auto": each compiler tried, why it was passed over, and what was used."""


# --------------------------------------------------------------------------- errors


class ConflictError(ConfiguratorError):
    """The decisions contradict each other or the rules (raised where a state cannot be degraded)."""

    reason = "conflict"

    def __init__(self, conflict: Conflict) -> None:
        names = ", ".join(str(d) for d in conflict.decisions) or "(none)"
        rules = ", ".join(r.rule_id for r in conflict.rules)
        super().__init__(f"conflicting decisions: {names}" + (f" (rules: {rules})" if rules else ""))
        self.conflict = conflict


class ValueImpossible(ConfiguratorError):
    """No repair helps: the rules alone exclude the value."""

    reason = "value_impossible"

    def __init__(self, attribute: str, value: object, rules: Sequence[RuleRef]) -> None:
        shown = format_value(value)
        ids = ", ".join(r.rule_id for r in rules)
        super().__init__(f"{attribute}={shown} is impossible in every configuration (rules: {ids})")
        self.attribute = attribute
        self.value = value
        self.rules = tuple(rules)


class NoValidConfiguration(ConfiguratorError):
    """The product's rules admit no configuration at all (a catalog error)."""

    reason = "no_valid_configuration"

    def __init__(self, product: str) -> None:
        super().__init__(f"product {product!r} has no valid configuration: its rules contradict each other")
        self.product = product


class ModelNotCompiled(BudgetExceeded):
    """The requested backend (or, with "auto", every backend of the chain) could not compile the
    product's model within its budget."""

    reason = "compile_budget"

    def __init__(self, product: str, backend: str, detail: str, *, part: str = "the model") -> None:
        super().__init__(f"product {product!r}: the {backend} backend did not compile {part}: {detail}")
        self.product = product
        self.backend = backend
        self.detail = detail
        self.part = part


PRICED_PART = "the model's priced part (the model with price auxiliaries)"
"""How :class:`ModelNotCompiled` names the priced part (:meth:`Configurator.priced_backend`)."""


class UnknownObjective(ConfiguratorError):
    reason = "unknown_objective"

    def __init__(self, objective: str) -> None:
        super().__init__(f"unknown objective {objective!r}; expected 'defaults' or 'cheapest'")
        self.objective = objective


class OptimizationLimitExceeded(ConfiguratorError):
    """The cheapest-configuration search needed more nodes than its limit."""

    reason = "optimization_limit"

    def __init__(self, product: str, limit: int) -> None:
        super().__init__(f"cheapest configuration of {product!r}: search exceeded {limit} nodes")
        self.product = product
        self.limit = limit


# --------------------------------------------------------------------------- click budget

_deadline: ContextVar[tuple[float, float, str] | None] = ContextVar("configurator_click_deadline", default=None)
"""(monotonic deadline, budget in ms, product) of the query running in this context, if it has a budget."""


@contextmanager
def _budget(product: str, budget_ms: float | None) -> Iterator[None]:
    """Run a query under a time budget: :func:`_check_budget` raises once it is spent. Cooperative: it is
    checked between passes and solver calls, never by interrupting a thread."""
    if budget_ms is None or _deadline.get() is not None:
        yield
        return
    token = _deadline.set((time.monotonic() + budget_ms / 1000, budget_ms, product))
    try:
        yield
    finally:
        _deadline.reset(token)


def _check_budget() -> None:
    """Raise :class:`ClickBudgetExceeded` when the running query's budget is spent."""
    d = _deadline.get()
    if d is not None and time.monotonic() >= d[0]:
        raise ClickBudgetExceeded(d[2], d[1])


# --------------------------------------------------------------------------- compiled model cache

_CACHE_SIZE = 32
_cache: OrderedDict[tuple[object, ...], tuple[Model, Backend, float]] = OrderedDict()
_cache_lock = Lock()
# Solver backends wrap native libraries; release them while the interpreter is
# still whole rather than during module teardown.
atexit.register(_cache.clear)


def _compiled(
    product: Product,
    catalog_key: str,
    backend: str,
    node_budget: int | None = None,
    time_budget_s: float | None = None,
    progress: Progress | None = None,
) -> tuple[Model, Backend, float]:
    # Keyed by the catalog's content key when known: two requests for the same
    # published version share one compiled diagram. Without a key the product
    # value itself (hashable, frozen) is the key, with the modules it reaches (compiled in, but
    # not part of a product's equality).
    ident: object = catalog_key if catalog_key else (product, product.modules)
    cache_key = (ident, product.code, backend)
    with _cache_lock:
        hit = _cache.get(cache_key)
        if hit is not None:
            _cache.move_to_end(cache_key)
            return hit
    from configurator.backends.select import make_backend
    from configurator.build import build_model

    # Backends keep their own caches keyed by Model.key, so without a catalog key
    # the key must still identify the product's content, not just its code.
    content = catalog_key or hashlib.sha256(repr((product, product.modules)).encode()).hexdigest()[:20]
    model_key = f"{content}:{product.code}"
    started = time.perf_counter()
    model = build_model(product, key=model_key)
    try:
        solver = make_backend(
            model, prefer=backend, node_budget=node_budget, time_budget_s=time_budget_s, progress=progress
        )
    except (CompileBudgetExceeded, SearchLimitExceeded) as exc:
        # SearchLimitExceeded: a rule spans more value combinations than a backend tabulates
        raise ModelNotCompiled(product.code, exc.backend, exc.detail) from exc
    entry = (model, solver, time.perf_counter() - started)
    if entry[2] > 1.0:
        # A large compiled model is millions of long-lived objects: one full collection now makes the
        # collector count them as old, so the clicks that follow do not each trigger a full scan.
        gc.collect()
    with _cache_lock:
        _cache[cache_key] = entry
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return entry


# --------------------------------------------------------------------------- the engine


@dataclass(slots=True)
class _Settled:
    """Decisions propagated, then defaults applied on top."""

    restrict: dict[str, frozenset[Value]]
    base: dict[str, frozenset[Value]]
    """Domains under the decisions alone."""
    final: dict[str, frozenset[Value]]
    """Domains after defaults."""
    defaulted: set[str] = field(default_factory=set)


def _priced_backend(
    product: str, backend: Backend, model: Model, node_budget: int | None, time_budget_s: float | None
) -> Backend:
    """A backend of the same kind as ``backend`` over the model with price auxiliaries, compiled within
    the same budgets as the model (``None``: the backend's own defaults).

    :raise ModelNotCompiled: over a budget, naming the priced part.
    """
    from configurator.backends.brute import BruteBackend
    from configurator.backends.select import BACKEND_NAMES, make_backend

    if backend.name not in BACKEND_NAMES:
        return BruteBackend(model)  # an injected backend of another kind: the exhaustive ground truth
    try:
        return make_backend(model, prefer=backend.name, node_budget=node_budget, time_budget_s=time_budget_s)
    except (CompileBudgetExceeded, SearchLimitExceeded) as exc:
        raise ModelNotCompiled(product, exc.backend, exc.detail, part=PRICED_PART) from exc


class _PerValueCosts:
    """``value_costs`` and ``min_solution`` for a backend without passes: one weighted solve per value.

    Only for the search backends (SAT, reference, brute force), so that every backend shows the same
    state; the compiled backends answer in two passes.
    """

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def propagate(self, restrict: Mapping[str, frozenset[Value]]) -> dict[str, frozenset[Value]] | None:
        """The wrapped backend's propagation (the click without prices asks for nothing else)."""
        return self.backend.propagate(restrict)

    def value_costs(
        self, restrict: Mapping[str, frozenset[Value]], weights: Mapping[str, Mapping[Value, int]]
    ) -> dict[str, dict[Value, int]] | None:
        domains = self.backend.propagate(restrict)
        if domains is None:
            return None
        fractions = {n: {v: Fraction(c) for v, c in row.items()} for n, row in weights.items()}
        out: dict[str, dict[Value, int]] = {}
        for name, dom in domains.items():
            row: dict[Value, int] = {}
            for v in dom:
                solution = self.backend.solve({**restrict, name: frozenset({v})}, fractions)
                assert solution is not None  # v is globally consistent
                row[v] = sum(int(weights.get(n, {}).get(x, 0)) for n, x in solution.items())
            out[name] = row
        return out

    def min_solution(
        self, restrict: Mapping[str, frozenset[Value]], weights: Mapping[str, Mapping[Value, int]]
    ) -> dict[str, Value] | None:
        fractions = {n: {v: Fraction(c) for v, c in row.items()} for n, row in weights.items()}
        return self.backend.solve(restrict, fractions)


class _Uniform(Mapping[Value, Any]):
    """A row of an unweighted pass: every value of ``domain`` has the one ``total`` (a mapping that
    keeps the domain instead of building a dict per variable and click)."""

    __slots__ = ("domain", "total")

    def __init__(self, domain: frozenset[Value], total: Any) -> None:
        self.domain = domain
        self.total = total

    def __getitem__(self, value: Value) -> Any:
        if value in self.domain:
            return self.total
        raise KeyError(value)

    def get(self, value: Value, default: Any = None) -> Any:
        return self.total if value in self.domain else default

    def __contains__(self, value: object) -> bool:
        return value in self.domain

    def __len__(self) -> int:
        return len(self.domain)

    def __iter__(self) -> Iterator[Value]:
        return iter(self.domain)


def _uniform(row: Mapping[Value, Any], total: Any) -> _Uniform:
    """``row``'s values, each with ``total``."""
    return _Uniform(row.domain if type(row) is _Uniform else frozenset(row), total)


def _distinct_totals(row: Mapping[Value, Any]) -> int:
    """How many different totals ``row`` holds."""
    if type(row) is _Uniform:
        return 1 if row.domain else 0
    return len(set(row.values()))


def _zero_rows(domains: Mapping[str, frozenset[Value]] | None) -> dict[str, Mapping[Value, int]] | None:
    """Domains as per-value weights of an unweighted pass (every solution weighs 0)."""
    return None if domains is None else {n: _Uniform(d, 0) for n, d in domains.items()}


@dataclass(slots=True)
class _Click:
    """Weights that order complete configurations the way the state shows them, for pass-based clicks.

    The weight of a configuration is ``penalty * M + price`` where ``price`` is the additive part of
    its price in cents (shifted per variable to be non-negative, ``M`` above any such sum) and
    ``penalty`` has bit ``K-1-j`` set when the j-th default (attribute order) is not taken: the least
    weight keeps the defaults greedily in attribute order, exactly as they are applied, and among those
    is the cheapest. Conditional percentages get one pass per combination of their conditions.
    """

    priced: PricedModel
    backend: Any
    names: tuple[str, ...]
    """Solver variables of the attributes (no auxiliaries)."""
    weights: dict[str, dict[Value, int]]
    scale: int
    """``M``: every additive price sum is below it."""
    shift: int
    defaults: dict[str, Value]
    combos: tuple[tuple[bool, ...], ...]

    @staticmethod
    def build(conf: Configurator, priced: PricedModel, backend: Any) -> _Click:
        weights: dict[str, dict[Value, int]] = {}
        shift = 0
        top = 0
        domains = {v.name: v.domain for v in priced.model.variables}
        for name, row in priced.weights.items():
            full = {v: int(row.get(v, 0)) for v in domains[name]}
            low = min(full.values())
            shift += low
            weights[name] = {v: c - low for v, c in full.items()}
            top += max(weights[name].values())
        scale = top + 1
        candidates = conf._default_candidates({})
        defaults = dict(candidates)
        for j, (name, value) in enumerate(candidates):
            penalty = scale << (len(candidates) - 1 - j)
            row = weights.setdefault(name, {v: 0 for v in domains[name]})
            for v in domains[name]:
                if v != value:
                    row[v] = row.get(v, 0) + penalty
        combos = tuple(itertools.product((False, True), repeat=len(priced.flags)))
        names = tuple(v.name for v in conf.model.variables if not v.auxiliary)
        return _Click(priced, backend, names, weights, scale, shift, defaults, combos)

    def _key(self, cost: int, combo: tuple[bool, ...]) -> tuple[int, int]:
        penalty, additive = divmod(cost, self.scale)
        return penalty, self.priced.total_cents(additive + self.shift, combo)

    def _with(self, restrict: Mapping[str, frozenset[Value]], combo: tuple[bool, ...]) -> dict[str, frozenset[Value]]:
        out = dict(restrict)
        out.update((aux, frozenset({on})) for (aux, _), on in zip(self.priced.flags, combo, strict=True))
        return out

    def best(
        self, restrict: Mapping[str, frozenset[Value]]
    ) -> tuple[dict[str, frozenset[Value]], dict[str, Mapping[Value, Decimal]], dict[str, Mapping[Value, Decimal]] | None] | None:
        """The restriction (with flags) of the configuration to show; per attribute variable and value
        the total shown after choosing it; and, when the backend gives it from the same passes, the
        same with that variable's own restriction lifted. ``None`` when ``restrict`` has no solution."""
        if not self.weights and len(self.combos) == 1:
            both = retracting(self.backend)
            if both is not None:
                return self._best_unweighted(both, restrict)
        chosen: tuple[tuple[int, int], dict[str, frozenset[Value]]] | None = None
        each = getattr(self.backend, "value_costs_each", None)
        passes: list[tuple[tuple[bool, ...], Mapping[str, Mapping[Value, int]] | None,
                           Mapping[str, Mapping[Value, int]] | None]] = []
        lifted_ok = True
        for combo in self.combos:
            _check_budget()
            r = self._with(restrict, combo)
            costs, lifted_costs = self._costs(r, each)
            if lifted_costs is None:
                lifted_ok = False
            passes.append((combo, costs, lifted_costs))
            if costs is None:
                continue
            first = next((row for row in costs.values() if row), None)
            optimum = min(first.values()) if first else 0
            k = self._key(optimum, combo)
            if chosen is None or k < chosen[0]:
                chosen = (k, r)
        if chosen is None:
            return None
        per_value = self._totals([(combo, costs) for combo, costs, _ in passes if costs is not None])
        lifted = None
        if lifted_ok:
            lifted = self._totals([(combo, lc) for combo, _, lc in passes if lc is not None])
        return chosen[1], per_value, lifted

    def _best_unweighted(
        self, backend: RetractingBackend, restrict: Mapping[str, frozenset[Value]]
    ) -> tuple[dict[str, frozenset[Value]], dict[str, Mapping[Value, Decimal]], dict[str, Mapping[Value, Decimal]] | None] | None:
        """:meth:`best` when every solution weighs the same and there is one pass: one query for the
        domains and the retracted domains, one total for every value."""
        _check_budget()
        combo = self.combos[0]
        r = self._with(restrict, combo)
        domains, each = backend.propagate_each(r)
        if domains is None:
            return None
        same = Decimal(self._key(0, combo)[1]).scaleb(-2)
        per_value: dict[str, Mapping[Value, Decimal]] = {n: _Uniform(domains[n], same) for n in self.names}
        lifted: dict[str, Mapping[Value, Decimal]] | None = None
        if each is not None:
            # Only the restricted variables' rows are asked for (a click replaces their decision).
            lifted = {n: _Uniform(each[n], same) for n in restrict if n in per_value}
        return r, per_value, lifted

    def _totals(
        self, tables: Sequence[tuple[tuple[bool, ...], Mapping[str, Mapping[Value, int]]]]
    ) -> dict[str, Mapping[Value, Decimal]]:
        """Per attribute variable and value, the least shown total over the passes (one per combination of
        conditional percentages), as money."""
        memo: dict[tuple[int, tuple[bool, ...]], tuple[int, int]] = {}
        money: dict[int, Decimal] = {}

        def key(cost: int, combo: tuple[bool, ...]) -> tuple[int, int]:
            k = memo.get((cost, combo))
            if k is None:
                k = memo[(cost, combo)] = self._key(cost, combo)
            return k

        def as_money(cents: int) -> Decimal:
            m = money.get(cents)
            if m is None:
                m = money[cents] = Decimal(cents).scaleb(-2)
            return m

        out: dict[str, Mapping[Value, Decimal]] = {}
        if len(tables) == 1:
            combo, costs = tables[0]
            if not self.weights:  # every solution weighs 0: one total for every value
                same = as_money(key(0, combo)[1])
                return {name: _uniform(costs[name], same) for name in self.names}
            for name in self.names:
                row = costs[name]
                values = set(row.values())
                if len(values) == 1:  # the common case: one total for every value
                    out[name] = dict.fromkeys(row, as_money(key(next(iter(values)), combo)[1]))
                else:
                    out[name] = {v: as_money(key(c, combo)[1]) for v, c in row.items()}
            return out
        for name in self.names:
            best: dict[Value, tuple[int, int]] = {}
            for combo, costs in tables:
                for v, c in costs[name].items():
                    k = key(c, combo)
                    known = best.get(v)
                    if known is None or k < known:
                        best[v] = k
            out[name] = {v: as_money(k[1]) for v, k in best.items()}
        return out

    def _costs(
        self, r: Mapping[str, frozenset[Value]], each: Any
    ) -> tuple[Mapping[str, Mapping[Value, int]] | None, Mapping[str, Mapping[Value, int]] | None]:
        """Per-value least weights under ``r`` (``None``: no solution) and, when the backend gives them
        from the same passes, the same per variable with its own restriction lifted."""
        if not self.weights:
            # No price weights and no defaults: every solution weighs the same, so the passes
            # reduce to propagation (the backend's fastest query), with the retracted domains
            # from the same passes when the backend gives them.
            both = retracting(self.backend)
            if both is not None:
                domains, each_domain = both.propagate_each(r)
                return _zero_rows(domains), _zero_rows(each_domain)
            return _zero_rows(self.backend.propagate(r)), None
        if each is not None:
            found: tuple[Any, Any] = each(r, self.weights)
            return found
        return self.backend.value_costs(r, self.weights), None

    def values_without(self, restrict: Mapping[str, frozenset[Value]], name: str) -> Mapping[Value, Decimal]:
        """The totals after choosing each value of ``name`` under ``restrict`` (one variable's row of
        :meth:`best`; without weights, one propagation per combination)."""
        _check_budget()
        if not self.weights:
            keys: dict[Value, tuple[int, int]] = {}
            for combo in self.combos:
                domains = self.backend.propagate(self._with(restrict, combo))
                if domains is None:
                    continue
                k = self._key(0, combo)
                for v in domains[name]:
                    if v not in keys or k < keys[v]:
                        keys[v] = k
            return {v: Decimal(k[1]).scaleb(-2) for v, k in keys.items()}
        found = self.best(restrict)
        return {} if found is None else found[1][name]

    def solution(
        self, restrict: Mapping[str, frozenset[Value]], tie_break: Sequence[str] = ()
    ) -> dict[str, Value] | None:
        """A least-weight solution to show; ``None`` when nothing is weighted (nothing to fill).

        Among the least-weight solutions, the one whose values of ``tie_break`` (in that order) come
        first by domain position: the weights are scaled above every such position vector, so every
        backend returns the same values for those variables (the ones the state shows from it)."""
        if not self.weights:
            return None
        weights: Mapping[str, Mapping[Value, int]] = self.weights
        if tie_break:
            domains = {v.name: v.domain for v in self.priced.model.variables}
            span = math.prod(len(domains[n]) for n in tie_break)
            scaled = {n: {v: c * span for v, c in row.items()} for n, row in self.weights.items()}
            place = span
            for n in tie_break:
                place //= len(domains[n])
                row = scaled.setdefault(n, {})
                for k, v in enumerate(domains[n]):
                    row[v] = row.get(v, 0) + k * place
            weights = scaled
        if hasattr(self.backend, "min_solution"):
            solution = self.backend.min_solution(restrict, weights)
        else:
            fractions = {n: {v: Fraction(c) for v, c in row.items()} for n, row in weights.items()}
            solution = self.backend.solve(restrict, fractions)
        assert solution is not None  # restrict came from a combination with a solution
        return dict(solution)


class Configurator:
    """The facade over one product: build once, ask many times.

    ``backend`` is "auto" (decision diagram, SAT fallback) or a backend name;
    ``solver`` injects an already-built backend (its ``model`` is used as is).
    ``node_budget`` and ``time_budget_s`` bound compiling the model and, later, its priced part
    (:meth:`priced_backend`), also when ``solver`` is given.
    """

    def __init__(
        self,
        product: Product,
        *,
        catalog_key: str = "",
        backend: str = "auto",
        currency: str = "CNY",
        solver: Backend | None = None,
        node_budget: int | None = None,
        time_budget_s: float | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.product = product
        self.currency = currency
        self.catalog_key = catalog_key
        self._budgets = (node_budget, time_budget_s)
        if solver is None:
            # node_budget / time_budget_s bound the decision-diagram compilation (see make_backend)
            self.model, self.backend, self.compile_seconds = _compiled(
                product, catalog_key, backend, node_budget, time_budget_s, progress
            )
        else:
            self.model, self.backend, self.compile_seconds = solver.model, solver, 0.0
        self.pricing = PriceModel.of(product)
        self._variables = {v.name: v for v in self.model.variables}
        self._attr_vars: dict[str, tuple[str, ...]] = {}
        for a in product.attributes:
            if a.kind is AttributeKind.SET:
                self._attr_vars[a.code] = tuple(self.model.set_elements.get(a.code, ()))
            else:
                self._attr_vars[a.code] = (a.code,)
        # Module constraints' labels (a product that reaches no module has none: not walked, which on a large
        # product saves a pass over its texts).
        labels = module_labels(product) if product.modules else {}
        self._rule_labels = {**labels, **{r.id: r.message for r in product.rules}}
        # Rule ids in the order of their first constraint (a dict keeps insertion order). Module line
        # guards define auxiliary variables: structure every rule subset keeps.
        self._rule_order: list[str] = list(
            dict.fromkeys(c.rule_id for c in self.model.constraints if not c.rule_id.startswith(GUARD_PREFIX))
        )
        self._click_cache: _Click | bool | None = None
        self._priced_cache: PricedModel | bool | None = None
        self._priced_solver: Backend | None = None
        self._value_states: dict[tuple[Any, ...], ValueState] = {}
        self._attribute_states: dict[tuple[Any, ...], AttributeState] = {}
        """States of single-valued attributes whose values share one total, by what they are built
        from (the attribute, its possible values, the total's delta, the shown value and source)."""
        self._attr_plan = tuple(
            (a, a.kind is AttributeKind.SET, self._attr_vars[a.code],
             () if a.kind is AttributeKind.SET else self._variables[a.code].domain)
            for a in product.attributes
        )
        self._attr_names = tuple(n for a in product.attributes for n in self._attr_vars[a.code])
        read = {code for line in self.pricing.lines for code in line.reads}
        self._priced_attrs = tuple(a for a in product.attributes if a.code in read)
        self._priced_names = frozenset(n for a in self._priced_attrs for n in self._attr_vars[a.code])
        self._rule_check_cache: dict[tuple[frozenset[str], tuple[tuple[str, frozenset[Value]], ...]], bool] = {}

    # ----------------------------------------------------------------- decisions

    def check(self, decisions: Iterable[AnyDecision]) -> tuple[AnyDecision, ...]:
        """Validate decisions (unknown attribute, invalid value) and return the effective ones."""
        return effective_decisions(check_decision(self.product, d) for d in decisions)

    def consistent(self, decisions: Iterable[AnyDecision]) -> bool:
        """Whether ``decisions`` hold together: some complete configuration satisfies them all."""
        return self._consistent(self.check(decisions))

    def _restrict(self, decisions: Iterable[AnyDecision]) -> dict[str, frozenset[Value]]:
        return restriction_of(self.model, decisions)

    def _consistent(self, decisions: Sequence[AnyDecision]) -> bool:
        _check_budget()
        return self.backend.propagate(self._restrict(decisions)) is not None

    def _target(self, attribute: str, value: object, included: bool) -> AnyDecision:
        attr = find_attribute(self.product, attribute)
        if attr.kind is AttributeKind.SET and isinstance(value, str):
            return check_decision(self.product, SetElement(attribute, value, included))
        return check_decision(self.product, Decision(attribute, check_value(attr, value)))

    @staticmethod
    def _replaces(target: AnyDecision, d: AnyDecision) -> bool:
        """Whether ``target``, made now, would replace or fold ``d`` (same attribute / element)."""
        if d.attribute != target.attribute:
            return False
        if isinstance(target, Decision) or isinstance(d, Decision):
            return True
        return d.element == target.element

    # ----------------------------------------------------------------- defaults

    def _default_candidates(self, restrict: Mapping[str, frozenset[Value]]) -> list[tuple[str, Value]]:
        out: list[tuple[str, Value]] = []
        for a in self.product.attributes:
            if a.kind is AttributeKind.SET:
                if a.default_set is None:
                    continue
                chosen = set(a.default_set)
                for name in self._attr_vars[a.code]:
                    if name not in restrict:
                        out.append((name, self._variables[name].element in chosen))
            elif a.default is not None and a.code not in restrict:
                out.append((a.code, a.default))
        return out

    def _settle(self, decisions: Sequence[AnyDecision]) -> _Settled | None:
        restrict = self._restrict(decisions)
        base = self.backend.propagate(restrict)
        if base is None:
            return None
        # Defaults are soft: each applies when still possible after the decisions and
        # the earlier defaults (attribute order). When all individually possible
        # defaults hold together, that greedy pass accepts exactly them, so one joint
        # query replaces one query per default (the common case).
        cands = [(n, v) for n, v in self._default_candidates(restrict) if v in base[n] and len(base[n]) > 1]
        if not cands:
            return _Settled(restrict, base, base)
        joint = dict(restrict)
        joint.update((n, frozenset({v})) for n, v in cands)
        final = self.backend.propagate(joint)
        if final is not None:
            return _Settled(joint, base, final, {n for n, _ in cands})
        current = dict(restrict)
        final = base
        defaulted: set[str] = set()
        for name, value in cands:
            if len(final[name]) > 1 and value in final[name]:
                _check_budget()
                current[name] = frozenset({value})
                narrowed = self.backend.propagate(current)
                assert narrowed is not None  # value was in a globally consistent domain
                final = narrowed
                defaulted.add(name)
        return _Settled(current, base, final, defaulted)

    # ----------------------------------------------------------------- values and prices

    def _attribute_value(self, attr: Attribute, domains: Mapping[str, frozenset[Value]]) -> AttributeValue | None:
        names = self._attr_vars[attr.code]
        if any(len(domains[n]) != 1 for n in names):
            return None
        if attr.kind is AttributeKind.SET:
            return frozenset(
                str(self._variables[n].element) for n in names if next(iter(domains[n])) is True
            )
        return next(iter(domains[names[0]]))

    def _candidates(
        self, domains: Mapping[str, frozenset[Value]], *, priced_only: bool = False
    ) -> dict[str, tuple[AttributeValue, ...]]:
        """Remaining values per attribute for pricing (sets: subsets, when few enough); with
        ``priced_only`` just the attributes some price line reads (all the price looks at)."""
        out: dict[str, tuple[AttributeValue, ...]] = {}
        for a in self._priced_attrs if priced_only else self.product.attributes:
            names = self._attr_vars[a.code]
            if a.kind is not AttributeKind.SET:
                out[a.code] = tuple(v for v in self._variables[a.code].domain if v in domains[a.code])
                continue
            included = [str(self._variables[n].element) for n in names if domains[n] == frozenset({True})]
            optional = [str(self._variables[n].element) for n in names if len(domains[n]) > 1]
            if len(optional) > MAX_SET_ENUMERATION:
                continue
            subsets: list[AttributeValue] = []
            for k in range(len(optional) + 1):
                for extra in itertools.combinations(optional, k):
                    subsets.append(frozenset(included) | frozenset(extra))
            out[a.code] = tuple(subsets)
        return out

    def _price(self, domains: Mapping[str, frozenset[Value]]) -> PriceBreakdown:
        return self.pricing.breakdown(self._candidates(domains), currency=self.currency)

    def _price_after(self, decisions: Sequence[AnyDecision], extra: AnyDecision) -> Decimal | None:
        settled = self._settle(effective_decisions([*decisions, extra]))
        if settled is None:
            return None
        return self._price(settled.final).total

    # ----------------------------------------------------------------- state

    def state(self, decisions: Iterable[AnyDecision] = (), *, budget_ms: float | None = None) -> State:
        """The propagated state: possible values, fixed values and their sources, price, count.

        Inconsistent decisions do not raise: ``conflict`` describes them and the
        state is computed without a minimal set of the oldest decisions.
        ``budget_ms`` bounds the wall-clock time: past it :class:`ClickBudgetExceeded`
        is raised (checked between passes; the configurator stays usable).
        """
        with _budget(self.product.code, budget_ms):
            return self._state(decisions)

    def _state(self, decisions: Iterable[AnyDecision]) -> State:
        effective = self.check(decisions)
        click = self._click()
        if click is not None:
            return self._state_by_passes(click, effective)
        conflict: Conflict | None = None
        settled = self._settle(effective)
        if settled is None:
            conflict = self._conflict(effective)
            dropped = {id(d) for d in conflict.dropped}
            effective = tuple(d for d in effective if id(d) not in dropped)
            settled = self._settle(effective)
            if settled is None:
                raise NoValidConfiguration(self.product.code)
        price = self._price(settled.final)
        # The alternatives of decided attributes: every variable's domain with its own restriction
        # retracted, in one query when the backend gives it (else one propagation per decided attribute).
        both = retracting(self.backend)
        each = both.propagate_each(self._restrict(effective))[1] if both is not None else None
        attributes = tuple(
            self._attribute_state(a, effective, settled, price.total, each) for a in self.product.attributes
        )
        missing = tuple(
            a.code for a in self.product.attributes
            if any(len(settled.base[n]) != 1 for n in self._attr_vars[a.code])
        )
        return State(
            product=self.product.code,
            decisions=effective,
            attributes=attributes,
            conflict=conflict,
            price=price,
            complete=not missing,
            missing=missing,
            count=self.backend.count(self._restrict(effective)),
        )

    # ----------------------------------------------------------------- the click by passes

    def _click(self) -> _Click | None:
        """What :meth:`state` needs to price every value by passes over a compiled form, or ``None``
        when the backend has no ``value_costs`` or the price is not a sum of weights (then value by value)."""
        if self._click_cache is not None:
            return self._click_cache if isinstance(self._click_cache, _Click) else None
        click: _Click | None = None
        priced = self.priced_model()
        if priced is not None:
            backend = self.priced_backend() or self.backend
            click = _Click.build(self, priced, backend if hasattr(backend, "value_costs") else _PerValueCosts(backend))
        self._click_cache = click if click is not None else False
        return click

    def priced_model(self) -> PricedModel | None:
        """The price as weights over the model plus price auxiliaries (built once), or ``None`` when
        the price is not a sum of weights (:func:`configurator.priced.priced_model`)."""
        if self._priced_cache is None:
            from configurator.priced import priced_model

            self._priced_cache = priced_model(self.product, self.model, self.pricing) or False
        return self._priced_cache if isinstance(self._priced_cache, PricedModel) else None

    def priced_part_model(self) -> Model | None:
        """The model the priced part is over (the model plus price auxiliaries), or ``None`` when the
        product needs no priced part (no price as weights, or weights over the model itself)."""
        priced = self.priced_model()
        return None if priced is None or priced.model is self.model else priced.model

    def priced_backend(self) -> Backend | None:
        """The backend over the model with price auxiliaries, or ``None`` when the product has none
        (the click then passes over :attr:`backend`). Compiled on first use unless one was given to
        :meth:`use_priced_backend` (a stored compiled model's priced part), within the budgets the
        configurator was given (the model's own).

        :raise ModelNotCompiled: the priced part does not compile within them (names the priced part).
        """
        model = self.priced_part_model()
        if model is None:
            return None
        if self._priced_solver is None:
            self._priced_solver = _priced_backend(self.product.code, self.backend, model, *self._budgets)
        return self._priced_solver

    def use_priced_backend(self, backend: Backend) -> None:
        """Use ``backend``, built over :meth:`priced_model`'s model, instead of compiling it.

        :raise ValueError: the product has no price auxiliaries, or ``backend`` is over another model.
        """
        model = self.priced_part_model()
        if model is None:
            raise ValueError(f"product {self.product.code!r}: its price needs no priced backend")
        if backend.model is not model:
            raise ValueError(f"product {self.product.code!r}: the priced backend is over model "
                             f"{backend.model.key!r}, not this configurator's priced model")
        self._priced_solver = backend

    def _state_by_passes(self, click: _Click, effective: tuple[AnyDecision, ...]) -> State:
        conflict: Conflict | None = None
        restrict = self._restrict(effective)
        passes = click.best(restrict)
        if passes is None:
            conflict = self._conflict(effective)
            dropped = {id(d) for d in conflict.dropped}
            effective = tuple(d for d in effective if id(d) not in dropped)
            restrict = self._restrict(effective)
            passes = click.best(restrict)
            if passes is None:
                raise NoValidConfiguration(self.product.code)
        shown_restrict, per_value, lifted = passes
        # The variables the state shows from the least-weight solution (kept or re-chosen defaults,
        # price-relevant open attributes) and those the price reads: ties among equally cheap
        # completions go to earlier values in attribute order, the same on every backend.
        tie_break = [
            n for n in self._attr_names
            if len(per_value[n]) > 1 and (
                n in click.defaults or n in self._priced_names or _distinct_totals(per_value[n]) > 1)
        ] if click.weights else []  # without weights there is no solution to show (see _Click.solution)
        solution = click.solution(shown_restrict, tie_break)
        shown, sources = self._shown(click, restrict, per_value, solution)
        if solution is None:
            full = {n: frozenset({v}) if v is not None else frozenset(per_value[n])
                    for n, v in shown.items() if n in self._priced_names}
        else:
            full = {n: frozenset({solution[n]}) for n in self._priced_names}
        price = self.pricing.breakdown(self._candidates(full, priced_only=True), currency=self.currency)
        total = price.total
        if len(self._value_states) > _VALUE_STATES_KEPT:
            self._value_states.clear()
        if len(self._attribute_states) > _VALUE_STATES_KEPT:
            self._attribute_states.clear()
        attributes, missing = self._pass_attributes(click, restrict, per_value, lifted, shown, sources, total)
        return State(
            product=self.product.code,
            decisions=effective,
            attributes=tuple(attributes),
            conflict=conflict,
            price=price,
            complete=not missing,
            missing=tuple(missing),
            count=self._count_checked(restrict),
        )

    def _count_checked(self, restrict: Mapping[str, frozenset[Value]]) -> int:
        _check_budget()
        return self.backend.count(restrict)

    def _shown(
        self,
        click: _Click,
        restrict: Mapping[str, frozenset[Value]],
        per_value: Mapping[str, Mapping[Value, Decimal]],
        solution: Mapping[str, Value] | None,
    ) -> tuple[dict[str, Value | None], dict[str, str | None]]:
        """Per attribute variable, the value shown (``None``: open) and where it came from."""
        shown: dict[str, Value | None] = {}
        sources: dict[str, str | None] = {}
        defaults = click.defaults
        for name in self._attr_names:
            row = per_value[name]
            if len(row) == 1:
                shown[name] = next(iter(row))
                sources[name] = "user" if name in restrict else "implied"
            elif solution is not None and name in defaults:
                v = solution[name]
                shown[name] = v
                sources[name] = "default" if v == defaults[name] else "cheapest"
            elif solution is not None and _distinct_totals(row) > 1:
                shown[name] = solution[name]
                sources[name] = "cheapest"
            else:
                shown[name] = None
                sources[name] = None
        return shown, sources

    def _pass_attributes(
        self,
        click: _Click,
        restrict: Mapping[str, frozenset[Value]],
        per_value: Mapping[str, Mapping[Value, Decimal]],
        lifted: Mapping[str, Mapping[Value, Decimal]] | None,
        shown: Mapping[str, Value | None],
        sources: Mapping[str, str | None],
        total: Decimal,
    ) -> tuple[list[AttributeState], list[str]]:
        """Every attribute with its values' possibility and exact price delta, and the attributes
        not fixed by the buyer or by implication."""
        zero = Decimal("0.00")
        # Totals are shared Decimal objects (one per distinct amount, kept alive by ``per_value``):
        # memoise by identity (Decimal hashing costs more than the subtraction).
        deltas: dict[int, Decimal] = {}
        kept_rows: list[Mapping[Value, Decimal]] = []

        def delta_of(t: Decimal) -> Decimal:
            d = deltas.get(id(t))
            if d is None:
                d = deltas[id(t)] = t - total
            return d

        attributes: list[AttributeState] = []
        missing: list[str] = []
        attr_memo = self._attribute_states

        def row_of(name: str) -> Mapping[Value, Decimal]:
            # A click on this value replaces the buyer's own decision on this variable (for a set
            # element, it is folded into a whole-set decision): price its values with every other
            # restriction kept and this variable's own lifted.
            if name not in restrict:
                return per_value[name]
            if lifted is not None:
                return lifted[name]  # from the same passes
            own = click.values_without({n: r for n, r in restrict.items() if n != name}, name)
            kept_rows.append(own)  # keeps its totals alive for the identity memo
            return own

        for a, is_set, names, domain in self._attr_plan:
            values: list[ValueState] = []
            value: Value | None
            if not is_set:
                name = names[0]
                row = row_of(name)
                value = shown[name]
                source = sources[name] if value is not None else None
                if len(per_value[name]) != 1:
                    missing.append(a.code)
                memo_key: tuple[Any, ...] | None = None
                if type(row) is _Uniform:
                    # One total for every possible value: the attribute's state depends on its possible
                    # values (the same frozenset object click after click), that total, the shown value.
                    memo_key = (name, row.domain, delta_of(row.total) if row.domain else None, value, source)
                    hit = attr_memo.get(memo_key)
                    if hit is not None:
                        attributes.append(hit)
                        continue
                attr_state = AttributeState(
                    a.code, a.kind, value, source, self._value_row(name, domain, row, value, source, delta_of)
                )
                if memo_key is not None:
                    attr_memo[memo_key] = attr_state
                attributes.append(attr_state)
                continue
            rows = [row_of(name) for name in names]
            kinds = [sources[n] for n in names]
            set_value: frozenset[str] | None = None
            set_source: str | None = None
            if all(shown[n] is not None for n in names):
                set_value = frozenset(str(self._variables[n].element) for n in names if shown[n] is True)
                set_source = next((k for k in ("default", "cheapest", "user", "implied") if k in kinds), "implied")
            for name, row in zip(names, rows, strict=True):
                fixed = shown[name]
                included = fixed is True
                t_in = row.get(True)
                values.append(ValueState(
                    str(self._variables[name].element), t_in is not None, included,
                    sources[name] if fixed is not None else None,
                    zero if included else (None if t_in is None else delta_of(t_in)), False in row,
                ))
            if any(len(per_value[n]) != 1 for n in names):
                missing.append(a.code)
            attributes.append(AttributeState(a.code, a.kind, set_value, set_source, tuple(values)))
        return attributes, missing

    def _value_row(
        self,
        name: str,
        domain: Sequence[Value],
        row: Mapping[Value, Decimal],
        value: Value | None,
        source: str | None,
        delta_of: Callable[[Decimal], Decimal],
    ) -> tuple[ValueState, ...]:
        """The value states of a single-valued attribute from its row of totals."""
        zero = Decimal("0.00")
        # Value states are immutable and repeat from click to click: shared instead of rebuilt.
        known = self._value_states
        values: list[ValueState] = []
        for v in domain:
            t = row.get(v)
            if value is not None and v == value:
                key: tuple[Any, ...] = (name, v, t is not None, True, source, zero)
            else:
                key = (name, v, t is not None, False, None, None if t is None else delta_of(t))
            vs = known.get(key)
            if vs is None:
                vs = known[key] = ValueState(*key[1:])
            values.append(vs)
        return tuple(values)

    def _source(self, name: str, settled: _Settled) -> str | None:
        if name in settled.restrict and name not in settled.defaulted:
            return "user"
        if len(settled.base[name]) == 1:
            return "implied"
        if len(settled.final[name]) == 1:
            return "default"
        return None

    def _attribute_state(
        self,
        attr: Attribute,
        decisions: tuple[AnyDecision, ...],
        settled: _Settled,
        total: Decimal,
        each: Mapping[str, frozenset[Value]] | None = None,
    ) -> AttributeState:
        names = self._attr_vars[attr.code]
        own = [d for d in decisions if d.attribute == attr.code]
        value = self._attribute_value(attr, settled.final)
        sources = [self._source(n, settled) for n in names]
        if value is None:
            source = None
        elif attr.kind is AttributeKind.SET:
            source = next((s for s in ("default", "user", "implied") if s in sources), "implied")
        else:
            source = sources[0]
        if attr.kind is AttributeKind.SET:
            values = self._set_values(attr, decisions, own, settled, total)
        else:
            values = self._single_values(attr, decisions, own, settled, total, source, each)
        return AttributeState(attr.code, attr.kind, value, source, values)

    def _delta(self, decisions: tuple[AnyDecision, ...], extra: AnyDecision, total: Decimal) -> Decimal | None:
        _check_budget()
        after = self._price_after(decisions, extra)
        return None if after is None else after - total

    def _single_values(
        self,
        attr: Attribute,
        decisions: tuple[AnyDecision, ...],
        own: list[AnyDecision],
        settled: _Settled,
        total: Decimal,
        source: str | None,
        each: Mapping[str, frozenset[Value]] | None = None,
    ) -> tuple[ValueState, ...]:
        name = attr.code
        if own:
            # The buyer may switch: what is possible once their own choice is set aside (decisions
            # on an attribute restrict its variable alone, so this is its retracted domain).
            if each is not None:
                possible = each[name]
            else:
                others = [d for d in decisions if d.attribute != name]
                domain = self.backend.propagate(self._restrict(others))
                possible = domain[name] if domain is not None else frozenset()
        else:
            possible = settled.base[name]
        fixed = next(iter(settled.final[name])) if len(settled.final[name]) == 1 else None
        out: list[ValueState] = []
        for v in self._variables[name].domain:
            selected = fixed is not None and v == fixed
            delta: Decimal | None = None
            if selected:
                delta = Decimal("0.00")
            elif v in possible:
                delta = self._delta(decisions, Decision(name, v), total)
            out.append(ValueState(v, v in possible, selected, source if selected else None, delta))
        return tuple(out)

    def _set_values(
        self,
        attr: Attribute,
        decisions: tuple[AnyDecision, ...],
        own: list[AnyDecision],
        settled: _Settled,
        total: Decimal,
    ) -> tuple[ValueState, ...]:
        out: list[ValueState] = []
        for name in self._attr_vars[attr.code]:
            element = str(self._variables[name].element)
            mine = [d for d in own if self._replaces(SetElement(attr.code, element), d)]
            if not mine:
                can = settled.base[name]
                can_in, can_out = True in can, False in can
            else:
                can_in = self._consistent(effective_decisions([*decisions, SetElement(attr.code, element, True)]))
                can_out = self._consistent(effective_decisions([*decisions, SetElement(attr.code, element, False)]))
            dom = settled.final[name]
            included = dom == frozenset({True})
            source = self._source(name, settled) if len(dom) == 1 else None
            delta: Decimal | None = None
            if included:
                delta = Decimal("0.00")
            elif can_in:
                delta = self._delta(decisions, SetElement(attr.code, element, True), total)
            out.append(ValueState(element, can_in, included, source, delta, can_out))
        return tuple(out)

    # ----------------------------------------------------------------- conflicts and explanations

    def _conflict(self, decisions: tuple[AnyDecision, ...]) -> Conflict:
        def oracle(subset: Sequence[AnyDecision]) -> bool:
            return self._consistent(subset)

        # Keep the newest decisions: the buyer's last click is what they want now.
        drop = fastdiag(list(reversed(decisions)), oracle)
        if drop is None:
            raise NoValidConfiguration(self.product.code)
        core = quickxplain(decisions, oracle) or ()
        rules = self._rules_for(self._restrict(core))
        dropped = tuple(d for d in decisions if any(d is x for x in drop))
        return Conflict(tuple(core), rules, dropped)

    def explain(
        self, decisions: Iterable[AnyDecision], attribute: str, value: object, *, included: bool = True,
        budget_ms: float | None = None,
    ) -> Explanation:
        """:meth:`_explain` under an optional time budget (see :meth:`state`)."""
        with _budget(self.product.code, budget_ms):
            return self._explain(decisions, attribute, value, included=included)

    def _explain(
        self, decisions: Iterable[AnyDecision], attribute: str, value: object, *, included: bool = True
    ) -> Explanation:
        """Why ``attribute=value`` is not possible under ``decisions``.

        The value is treated as a new decision: an existing decision on the same
        attribute (for a set: the same element, via ``included``) is set aside,
        since choosing the value would replace it. ``decisions`` in the result
        is the minimal conflict that uses the oldest decisions possible
        (QuickXplain over the decisions oldest first), which is also what
        :meth:`repair` prefers to drop.
        """
        effective = self.check(decisions)
        target = self._target(attribute, value, included)
        shown: AttributeValue = value if isinstance(value, frozenset) else _target_value(target)
        others = [d for d in effective if not self._replaces(target, d)]

        def oracle(subset: Sequence[AnyDecision]) -> bool:
            return self._consistent([*subset, target])

        core = quickxplain(others, oracle)
        if core is None:
            return Explanation(attribute, shown, True, (), ())
        rules = self._rules_for(self._restrict([*core, target]))
        return Explanation(attribute, shown, False, core, rules)

    def repair(
        self, decisions: Iterable[AnyDecision], attribute: str, value: object, *, included: bool = True,
        budget_ms: float | None = None,
    ) -> Repair:
        """:meth:`_repair` under an optional time budget (see :meth:`state`)."""
        with _budget(self.product.code, budget_ms):
            return self._repair(decisions, attribute, value, included=included)

    def _repair(
        self, decisions: Iterable[AnyDecision], attribute: str, value: object, *, included: bool = True
    ) -> Repair:
        """A minimal set of decisions to drop so that ``attribute=value`` becomes possible.

        FastDiag over the decisions newest first: the result keeps the newest
        decisions whenever it can and drops the oldest. Raises
        :class:`ValueImpossible` when the rules alone exclude the value.
        """
        effective = self.check(decisions)
        target = self._target(attribute, value, included)
        others = [d for d in effective if not self._replaces(target, d)]

        def oracle(subset: Sequence[AnyDecision]) -> bool:
            return self._consistent([*subset, target])

        drop = fastdiag(list(reversed(others)), oracle)
        if drop is None:
            raise ValueImpossible(attribute, value, self._rules_for(self._restrict([target])))
        dropped = tuple(d for d in others if any(d is x for x in drop))
        keep = tuple(d for d in others if not any(d is x for x in drop))
        return Repair(dropped, keep, effective_decisions([*keep, target]))

    def _rule_label(self, rule_id: str) -> Label:
        label = self._rule_labels.get(rule_id)
        if label is not None:
            return label
        # Structural constraints (a set's min/max count) have no catalog message: say what they require.
        code, _, suffix = rule_id.rpartition(":")
        if suffix == "count" and code in self._attr_vars:
            attr = self.product.attribute(code)
            most = attr.max_count if attr.max_count is not None else len(attr.choices)
            zh = attr.label.zh_CN or attr.label.en
            return Label(
                f"Choose {attr.min_count} to {most} of {attr.label.en}.",
                f"{zh}需选择 {attr.min_count} 至 {most} 项。",
            )
        return Label(rule_id)

    def _rules_for(self, restrict: Mapping[str, frozenset[Value]]) -> tuple[RuleRef, ...]:
        """A minimal set of rules that, with ``restrict``, admits no solution (QuickXplain over rules)."""
        fixed = tuple(sorted(restrict.items()))

        def oracle(rule_ids: Sequence[str]) -> bool:
            key = (frozenset(rule_ids), fixed)
            hit = self._rule_check_cache.get(key)
            if hit is None:
                _check_budget()
                hit = self._satisfiable(frozenset(rule_ids), restrict)
                if len(self._rule_check_cache) > 4096:
                    self._rule_check_cache.clear()
                self._rule_check_cache[key] = hit
            return hit

        core = quickxplain(self._rule_order, oracle) or ()
        return tuple(RuleRef(r, self._rule_label(r)) for r in core)

    def _satisfiable(self, rule_ids: frozenset[str], restrict: Mapping[str, frozenset[Value]]) -> bool:
        from configurator.backends.select import make_backend

        constraints = tuple(
            c for c in self.model.constraints if c.rule_id in rule_ids or c.rule_id.startswith(GUARD_PREFIX)
        )
        # Only variables some kept constraint (or the restriction) touches matter:
        # every other variable is unconstrained and always extends.
        used = {n for c in constraints for n in c.scope} | set(restrict)
        variables = tuple(v for v in self.model.variables if v.name in used)
        digest = hashlib.sha256("\n".join(sorted(rule_ids)).encode()).hexdigest()[:16]
        sub = Model(f"{self.model.key}#rules-{digest}", variables, constraints, {})
        return make_backend(sub, prefer="sat").solve(restrict) is not None

    # ----------------------------------------------------------------- completion and counting

    def count(self, decisions: Iterable[AnyDecision] = ()) -> int:
        """The exact number of valid complete configurations extending ``decisions`` (0 on a conflict)."""
        return self.backend.count(self._restrict(self.check(decisions)))

    def complete(self, decisions: Iterable[AnyDecision] = (), objective: str = "defaults") -> dict[str, AttributeValue]:
        """A full valid configuration extending ``decisions``.

        ``"defaults"``: defaults where still possible, then the first possible
        value attribute by attribute (set elements: left out first).
        ``"cheapest"``: a configuration of minimal total price (exact; see
        docs/engine.md for how). Raises :class:`ConflictError` on inconsistent decisions.
        """
        effective = self.check(decisions)
        if objective not in ("defaults", "cheapest"):
            raise UnknownObjective(objective)
        settled = self._settle(effective)
        if settled is None:
            raise ConflictError(self._conflict(effective))
        if objective == "cheapest":
            return self._assignment(self._cheapest(self._restrict(effective)))
        restrict = dict(settled.restrict)
        domains = settled.final
        for a in self.product.attributes:
            for name in self._attr_vars[a.code]:
                if len(domains[name]) > 1:
                    first = next(v for v in self._variables[name].domain if v in domains[name])
                    restrict[name] = frozenset({first})
                    narrowed = self.backend.propagate(restrict)
                    assert narrowed is not None  # a globally consistent value always extends
                    domains = narrowed
        return self._assignment(domains)

    def _cheapest(self, restrict: dict[str, frozenset[Value]]) -> dict[str, frozenset[Value]]:
        weights = self.pricing.unary_weights()
        if weights is not None:
            # Separable prices: one weighted solve on the backend is exact.
            solution = self.backend.solve(restrict, {a: w for a, w in weights.items() if w})
            assert solution is not None
            return {n: frozenset({v}) for n, v in solution.items()}
        return self._branch_and_bound(restrict)

    def _branch_and_bound(
        self, restrict: dict[str, frozenset[Value]], node_limit: int = 20_000
    ) -> dict[str, frozenset[Value]]:
        # Depth-first over the priced attributes first (product order), then the
        # rest. Global consistency means every branch reaches a solution (no dead
        # ends), so the search only spends nodes on optimality; the price model's
        # lower bound prunes. Children are visited cheapest bound first, so the
        # first leaf is already a good incumbent; once every priced attribute is
        # fixed the bound is the exact total, and siblings of that leaf are cut.
        priced = [n for a in self._priced_attrs for n in self._attr_vars[a.code]]
        order = priced + [n for a in self.product.attributes for n in self._attr_vars[a.code] if n not in self._priced_names]
        best_total: Decimal | None = None
        best: dict[str, frozenset[Value]] | None = None
        nodes = 0

        def bound_of(domains: Mapping[str, frozenset[Value]]) -> Fraction | None:
            return self.pricing.lower_bound(self._candidates(domains, priced_only=True))

        def visit(current: dict[str, frozenset[Value]]) -> None:
            nonlocal best_total, best, nodes
            nodes += 1
            if nodes > node_limit:
                raise OptimizationLimitExceeded(self.product.code, node_limit)
            domains = self.backend.propagate(current)
            assert domains is not None
            name = next((n for n in order if len(domains[n]) > 1), None)
            if name is None:
                total = self._price(domains).total
                if best_total is None or total < best_total:
                    best_total, best = total, domains
                return
            if best_total is not None:
                bound = bound_of(domains)
                if bound is not None and bound >= Fraction(best_total):
                    return
            values = [v for v in self._variables[name].domain if v in domains[name]]
            if name in self._priced_names:
                # Cheapest-looking value first (bound with just this value fixed,
                # before propagation; an unknown bound goes last, ties keep domain order).
                keyed = []
                for i, v in enumerate(values):
                    b = bound_of({**domains, name: frozenset({v})})
                    keyed.append((b is None, b if b is not None else 0, i, v))
                keyed.sort(key=lambda k: k[:3])
                values = [k[3] for k in keyed]
            for v in values:
                visit({**current, name: frozenset({v})})

        visit(dict(restrict))
        assert best is not None
        return best

    def _assignment(self, domains: Mapping[str, frozenset[Value]]) -> dict[str, AttributeValue]:
        out: dict[str, AttributeValue] = {}
        for a in self.product.attributes:
            value = self._attribute_value(a, domains)
            assert value is not None
            out[a.code] = value
        return out

    # ----------------------------------------------------------------- validation

    def validate(self, configuration: Mapping[str, object]) -> tuple[Violation, ...]:
        """Every problem with a full configuration: unknown or missing attributes,
        invalid values, and every violated rule (not just the first)."""
        problems: list[Violation] = []
        known = {a.code for a in self.product.attributes}
        for code in configuration:
            if code not in known:
                problems.append(Violation(
                    f"{code}:unknown", Label(f"Unknown attribute {code!r}.", f"未知属性 {code!r}。"), (code,)
                ))
        solver_values: dict[str, Value] = {}
        for a in self.product.attributes:
            if a.code not in configuration:
                problems.append(Violation(
                    f"{a.code}:missing",
                    Label(f"{a.label.en} is not chosen.", f"尚未选择{a.label.zh_CN or a.label.en}。"),
                    (a.code,),
                ))
                continue
            try:
                value = check_value(a, configuration[a.code])
            except ConfiguratorError as exc:
                problems.append(Violation(f"{a.code}:domain", Label(str(exc)), (a.code,)))
                continue
            if isinstance(value, frozenset):
                for name in self._attr_vars[a.code]:
                    solver_values[name] = self._variables[name].element in value
            else:
                solver_values[a.code] = value
        self._fill_auxiliaries(solver_values)
        seen: dict[str, list[Constraint]] = {}
        for c in self.model.constraints:
            if all(n in solver_values for n in c.scope) and not c.predicate(*(solver_values[n] for n in c.scope)):
                seen.setdefault(c.rule_id, []).append(c)
        for rule_id, constraints in seen.items():
            attrs: list[str] = []
            for c in constraints:
                for n in c.scope:
                    variable = self._variables[n]
                    if not variable.auxiliary and variable.attribute not in attrs:
                        attrs.append(variable.attribute)
            problems.append(Violation(rule_id, self._rule_label(rule_id), tuple(attrs)))
        return tuple(problems)

    def _fill_auxiliaries(self, solver_values: dict[str, Value]) -> None:
        """Give each auxiliary variable (a rule split by ``configurator.decompose``) the value its
        defining constraint computes from the values already known, so split rules are checked too.

        Auxiliaries come after the variables they read, and the defining constraint of one is the
        constraint whose scope ends with it; a value none of its definitions accept stays unknown.
        """
        for variable in self.model.variables:
            if not variable.auxiliary:
                continue
            definitions = [c for c in self.model.constraints if c.scope and c.scope[-1] == variable.name]
            inputs_known = [c for c in definitions if all(n in solver_values for n in c.scope[:-1])]
            if not inputs_known:
                continue
            for value in variable.domain:
                if all(c.predicate(*(solver_values[n] for n in c.scope[:-1]), value) for c in inputs_known):
                    solver_values[variable.name] = value
                    break

    # ----------------------------------------------------------------- statistics

    def stats(self) -> ModelStats:
        """Model and backend figures for ``c2m model stats``."""
        stats = getattr(self.backend, "stats", None)
        if callable(stats):
            stats = stats()
        size = getattr(stats, "mdd_nodes", None)
        if size is None:
            size = getattr(stats, "nodes", None)
        from configurator.backends.select import choice_log

        return ModelStats(
            product=self.product.code,
            variables=len(self.model.variables),
            constraints=len(self.model.constraints),
            rules=len(self._rule_order),
            backend=self.backend.name,
            compile_seconds=self.compile_seconds,
            size=size if isinstance(size, int) else None,
            count=self.backend.count({}),
            choice=choice_log(self.model.key),
        )


def _target_value(target: AnyDecision) -> AttributeValue:
    """The value a target decision stands for (a set element's code for :class:`SetElement`)."""
    return target.element if isinstance(target, SetElement) else target.value

