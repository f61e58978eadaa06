"""Every backend agrees with brute-force enumeration on random small models."""

from __future__ import annotations

import importlib.util

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from configurator.backends.base import Backend, satisfiable
from configurator.backends.brute import BruteBackend
from configurator.backends.select import make_backend
from configurator.model import Model

from .strategies import models, restrictions, weights

MDD_PRESENT = importlib.util.find_spec("configurator.backends.mdd") is not None
D4_PRESENT = importlib.util.find_spec("py_d4") is not None

BACKENDS = [
    "reference",
    "sat",
    pytest.param(
        "mdd",
        marks=pytest.mark.skipif(not MDD_PRESENT, reason="configurator.backends.mdd is not importable yet"),
    ),
    pytest.param(
        "ddnnf",
        marks=pytest.mark.skipif(not D4_PRESENT, reason="the d4 compiler (PyPI d4solver) is not installed"),
    ),
]

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def backend(name: str, model: Model) -> Backend:
    return make_backend(model, prefer=name)


@pytest.mark.parametrize("name", BACKENDS)
@FAST
@given(data=st.data())
def test_propagate_matches_brute_force(name: str, data: st.DataObject) -> None:
    model = data.draw(models())
    restrict = data.draw(restrictions(model))
    assert backend(name, model).propagate(restrict) == BruteBackend(model).propagate(restrict)


@pytest.mark.parametrize("name", BACKENDS)
@FAST
@given(data=st.data())
def test_satisfiable_matches_brute_force(name: str, data: st.DataObject) -> None:
    """The yes/no question (the SAT backend's own one-call query; ``propagate`` elsewhere) agrees with
    brute force, the same SAT solver answering many restrictions in a row."""
    model = data.draw(models())
    solver = backend(name, model)
    for _ in range(3):
        restrict = data.draw(restrictions(model))
        assert satisfiable(solver, restrict) == (BruteBackend(model).propagate(restrict) is not None)


def test_satisfiable_names_an_unknown_variable() -> None:
    from configurator.backends.base import UnknownVariable
    from configurator.model import Variable

    model = Model("k", (Variable("a", (1, 2), "a"),), ())
    with pytest.raises(UnknownVariable):
        satisfiable(make_backend(model, prefer="sat"), {"b": frozenset({1})})


@pytest.mark.parametrize("name", BACKENDS)
@FAST
@given(data=st.data())
def test_count_matches_brute_force(name: str, data: st.DataObject) -> None:
    model = data.draw(models())
    restrict = data.draw(restrictions(model))
    assert backend(name, model).count(restrict) == BruteBackend(model).count(restrict)


@pytest.mark.parametrize("name", BACKENDS)
@FAST
@given(data=st.data())
def test_weighted_solve_returns_the_same_solution_as_brute_force(name: str, data: st.DataObject) -> None:
    model = data.draw(models())
    restrict = data.draw(restrictions(model))
    w = data.draw(weights(model))
    assert backend(name, model).solve(restrict, w) == BruteBackend(model).solve(restrict, w)


@pytest.mark.parametrize("name", BACKENDS)
@FAST
@given(data=st.data())
def test_unweighted_solve_returns_the_lexicographically_first_solution(
    name: str, data: st.DataObject
) -> None:
    model = data.draw(models())
    restrict = data.draw(restrictions(model))
    expected = next(BruteBackend(model).solutions(restrict), None)
    assert backend(name, model).solve(restrict) == expected


@pytest.mark.parametrize("name", BACKENDS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_large_domains_agree_with_brute_force(name: str, data: st.DataObject) -> None:
    # Domains above six values take the SAT backend's counter-based at-most-one.
    model = data.draw(models(min_vars=2, max_vars=3, max_domain=9))
    restrict = data.draw(restrictions(model))
    w = data.draw(weights(model))
    brute = BruteBackend(model)
    other = backend(name, model)
    assert other.propagate(restrict) == brute.propagate(restrict)
    assert other.count(restrict) == brute.count(restrict)
    assert other.solve(restrict, w) == brute.solve(restrict, w)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_brute_force_solutions_satisfy_every_constraint_and_the_restriction(data: st.DataObject) -> None:
    model = data.draw(models())
    restrict = data.draw(restrictions(model))
    for solution in BruteBackend(model).solutions(restrict):
        assert list(solution) == [v.name for v in model.variables]
        for name, allowed in restrict.items():
            assert solution[name] in allowed
        for c in model.constraints:
            assert c.predicate(*(solution[n] for n in c.scope))


@pytest.mark.parametrize("name", [p for p in BACKENDS if getattr(p, "values", (p,))[0] in ("mdd", "ddnnf")])
@FAST
@given(data=st.data())
def test_value_costs_are_the_least_weight_of_a_solution_taking_each_value(name: str, data: st.DataObject) -> None:
    model = data.draw(models())
    restrict = data.draw(restrictions(model))
    w = data.draw(weights(model))
    # Integer weights, shifted to be non-negative.
    int_w = {n: {x: int(c * 2) + 100 for x, c in row.items()} for n, row in w.items()}
    solutions = list(BruteBackend(model).solutions(restrict))
    got = backend(name, model).value_costs(restrict, int_w)  # type: ignore[attr-defined]
    if not solutions:
        assert got is None
        return
    expected: dict[str, dict[object, int]] = {v.name: {} for v in model.variables}
    for s in solutions:
        cost = sum(int_w.get(n, {}).get(x, 0) for n, x in s.items())
        for n, x in s.items():
            if x not in expected[n] or cost < expected[n][x]:
                expected[n][x] = cost
    assert got == expected
