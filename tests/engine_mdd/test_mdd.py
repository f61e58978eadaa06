"""The MDD backend against a tiny exhaustive enumeration written here."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.snapshot import Value
from configurator.backends.base import CompileBudgetExceeded, UnknownVariable
from configurator.backends.mdd import MddBackend, clear_cache, compile_diagram
from configurator.model import Constraint, Model, Restriction, Variable

Weights = Mapping[str, Mapping[Value, Fraction]]


def solutions(model: Model, restrict: Restriction) -> list[dict[str, Value]]:
    """Every full solution, in the lexicographic order of domain positions (model order)."""
    doms = [
        tuple(x for x in v.domain if v.name not in restrict or x in restrict[v.name]) for v in model.variables
    ]
    out = []
    for values in itertools.product(*doms):
        env = {v.name: x for v, x in zip(model.variables, values, strict=True)}
        if all(c.predicate(*(env[s] for s in c.scope)) for c in model.constraints):
            out.append(env)
    return out


def expected_propagate(model: Model, restrict: Restriction) -> dict[str, frozenset[Value]] | None:
    sols = solutions(model, restrict)
    if not sols:
        return None
    return {v.name: frozenset(s[v.name] for s in sols) for v in model.variables}


def expected_solve(model: Model, restrict: Restriction, weights: Weights | None) -> dict[str, Value] | None:
    def cost(s: dict[str, Value]) -> Fraction:
        return sum((Fraction((weights or {}).get(n, {}).get(x, 0)) for n, x in s.items()), Fraction(0))

    best: dict[str, Value] | None = None
    for s in solutions(model, restrict):  # already in tie-break order: keep the first minimum
        if best is None or cost(s) < cost(best):
            best = s
    return best


def _model(key: str, doms: dict[str, tuple[Value, ...]], *cons: Constraint) -> Model:
    return Model(key=key, variables=tuple(Variable(n, d, n) for n, d in doms.items()), constraints=cons)


def small_model() -> Model:
    return _model(
        "mdd-small",
        {"size": ("S", "M", "L", "XL", "XXL"), "rack": (False, True), "gears": (1, 3, 8, 11, 12)},
        Constraint("rack-size", ("size", "rack"), lambda s, r: not r or s in ("L", "XL")),
        Constraint("gears", ("gears", "size"), lambda g, s: g <= 8 or s != "S"),
        Constraint("tab", ("rack", "gears"), lambda r, g: (r, g) in _TAB, allowed=_TAB),
    )


_TAB: frozenset[tuple[Value, ...]] = frozenset({(False, 1), (False, 3), (True, 11), (False, 11), (True, 12)})


def test_counts_propagates_and_solves_a_small_model_like_enumeration() -> None:
    m = small_model()
    be = MddBackend(m)
    for restrict in (
        {},
        {"rack": frozenset({True})},
        {"size": frozenset({"S", "XXL"})},
        {"gears": frozenset({8})},
    ):
        assert be.count(restrict) == len(solutions(m, restrict))
        assert be.propagate(restrict) == expected_propagate(m, restrict)
        assert be.solve(restrict) == expected_solve(m, restrict, None)


def test_unsatisfiable_restriction_gives_none_and_zero() -> None:
    be = MddBackend(small_model())
    r = {"rack": frozenset({True}), "size": frozenset({"S"})}
    assert be.propagate(r) is None
    assert be.count(r) == 0
    assert be.solve(r) is None
    assert be.propagate({"size": frozenset()}) is None
    assert be.propagate({"size": frozenset({"no-such-size"})}) is None


def test_unsatisfiable_model_compiles_to_an_empty_diagram() -> None:
    m = _model("mdd-unsat", {"a": (1, 2)}, Constraint("never", ("a",), lambda a: False))
    be = MddBackend(m)
    assert (be.propagate({}), be.count({}), be.solve({})) == (None, 0, None)


def test_model_without_constraints_counts_the_product_and_offers_everything() -> None:
    m = _model("mdd-free", {"a": (1, 2, 3), "b": ("x",), "c": (True, False)})
    be = MddBackend(m)
    assert be.count({}) == 6
    assert be.propagate({}) == {
        "a": frozenset({1, 2, 3}),
        "b": frozenset({"x"}),
        "c": frozenset({True, False}),
    }
    assert be.solve({}) == {"a": 1, "b": "x", "c": True}  # domain order, not value order


def test_solve_minimises_weights_and_breaks_ties_towards_earlier_values() -> None:
    m = small_model()
    be = MddBackend(m)
    w = {"size": {"S": Fraction(5), "M": Fraction(5)}, "rack": {True: Fraction(-1, 3)}}
    assert be.solve({}, w) == expected_solve(m, {}, w)
    tie = {"size": {v: Fraction(1) for v in ("S", "M", "L", "XL", "XXL")}}
    assert be.solve({}, tie) == expected_solve(m, {}, tie)


def test_unknown_variable_is_a_clear_error() -> None:
    be = MddBackend(small_model())
    with pytest.raises(UnknownVariable, match="colour"):
        be.propagate({"colour": frozenset({"red"})})
    with pytest.raises(UnknownVariable):
        be.solve({}, {"colour": {"red": Fraction(1)}})


def test_stats_describe_the_compiled_diagram() -> None:
    be = MddBackend(small_model())
    s = be.stats
    assert sorted(s.order) == ["gears", "rack", "size"]
    assert s.mdd_nodes >= 4 and s.mdd_edges >= 3 and s.bdd_nodes >= 1 and s.compile_seconds >= 0


def test_compiled_diagrams_are_cached_by_model_key() -> None:
    clear_cache()
    m = small_model()
    assert compile_diagram(m) is compile_diagram(m)
    clear_cache()
    assert MddBackend(m).count({}) == len(solutions(m, {}))


def _chain(key: str, n: int) -> Model:
    doms = {f"x{i}": tuple(range(7)) for i in range(n)}
    cons = [Constraint(f"c{i}", (f"x{i}", f"x{i + 1}"), lambda a, b: (a + b) % 3 != 0) for i in range(n - 1)]
    return _model(key, doms, *cons)


def test_node_budget_is_enforced() -> None:
    with pytest.raises(CompileBudgetExceeded, match="node budget"):
        MddBackend(_chain("mdd-budget-nodes", 12), node_budget=20)


def test_time_budget_is_enforced() -> None:
    with pytest.raises(CompileBudgetExceeded, match="time budget"):
        MddBackend(_chain("mdd-budget-time", 12), time_budget_s=0.0)


def test_oversized_predicate_constraint_is_refused() -> None:
    doms = {f"x{i}": tuple(range(30)) for i in range(5)}
    m = _model("mdd-wide", doms, Constraint("wide", tuple(doms), lambda *xs: sum(xs) > 3))
    with pytest.raises(CompileBudgetExceeded, match="combinations"):
        MddBackend(m)


# -- random models -----------------------------------------------------------------------------

_VALUES: tuple[tuple[Value, ...], ...] = (
    ("a", "b", "c"),
    (True, False),
    (0, 1, 2, 3, 4),
    ("p",),
    (5, 9),
    (1, 2, 3, 4, 5, 6, 7),
)


@st.composite
def random_models(draw: st.DrawFn) -> Model:
    n = draw(st.integers(1, 5))
    doms = {f"v{i}": draw(st.sampled_from(_VALUES)) for i in range(n)}
    names = list(doms)
    cons = []
    tables = []
    for j in range(draw(st.integers(0, 4))):
        scope = tuple(draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True)))
        product = list(itertools.product(*(doms[s] for s in scope)))
        allowed = frozenset(draw(st.lists(st.sampled_from(product), max_size=len(product))))
        as_table = draw(st.booleans())
        tables.append((scope, sorted(map(repr, allowed)), as_table))
        cons.append(
            Constraint(
                f"r{j}", scope, lambda *xs, _a=allowed: xs in _a, allowed=allowed if as_table else None
            )
        )
    # The diagram cache is keyed by Model.key: the key must pin the whole model down.
    key = "mdd-random:" + repr((doms, tables))
    return Model(
        key=key, variables=tuple(Variable(k, d, k) for k, d in doms.items()), constraints=tuple(cons)
    )


@st.composite
def model_and_query(draw: st.DrawFn) -> tuple[Model, Restriction, Weights]:
    m = draw(random_models())
    restrict: dict[str, frozenset[Value]] = {}
    weights: dict[str, dict[Value, Fraction]] = {}
    for v in m.variables:
        if draw(st.booleans()):
            restrict[v.name] = frozenset(draw(st.lists(st.sampled_from(v.domain), max_size=len(v.domain))))
        if draw(st.booleans()):
            weights[v.name] = {
                x: Fraction(draw(st.integers(-3, 3)), draw(st.integers(1, 2))) for x in v.domain
            }
    return m, restrict, weights


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model_and_query())
def test_random_models_agree_with_enumeration(case: tuple[Model, Restriction, Weights]) -> None:
    m, restrict, weights = case
    be = MddBackend(m)
    assert be.count(restrict) == len(solutions(m, restrict))
    assert be.propagate(restrict) == expected_propagate(m, restrict)
    got = be.solve(restrict, weights)
    assert got == expected_solve(m, restrict, weights)
