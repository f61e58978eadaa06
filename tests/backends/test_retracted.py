"""Retracted domains: per variable, the values consistent with every *other* variable's restriction.

The d-DNNF computes them for all variables in one pass (circuit derivatives), the decision diagram from
its forward and backward passes; both must equal one propagation per variable with that variable's own
restriction removed, on random models, the demo catalogs and corpus feature models.
"""

from __future__ import annotations

import hashlib
import importlib.util
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.snapshot import Value
from configurator.backends.brute import BruteBackend
from configurator.backends.select import make_backend
from configurator.model import Model, Restriction
from tests.backends.strategies import models, restrictions

needs_d4 = pytest.mark.skipif(
    importlib.util.find_spec("py_d4") is None, reason="the d4 compiler (PyPI d4solver) is not installed"
)
ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / ".." / "shared" / "corpus"
FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def brute_retracted(backend: object, model: Model, restrict: Restriction) -> dict[str, frozenset[Value]] | None:
    """One propagation per variable with that variable's own restriction removed."""
    names = {v.name for v in model.variables}
    if any(not (set(kept) & set(v.domain)) for v in model.variables if (kept := restrict.get(v.name)) is not None):
        return None
    out: dict[str, frozenset[Value]] = {}
    for name in names:
        found = backend.propagate({n: r for n, r in restrict.items() if n != name})  # type: ignore[attr-defined]
        out[name] = frozenset() if found is None else found[name]
    return out


def check(backend: object, model: Model, restrict: Restriction, truth: object) -> None:
    domains, each = backend.propagate_each(restrict)  # type: ignore[attr-defined]
    assert domains == truth.propagate(restrict)  # type: ignore[attr-defined]
    assert each == brute_retracted(truth, model, restrict)


@needs_d4
@FAST
@given(data=st.data())
def test_ddnnf_retracted_domains_match_one_propagation_per_variable(data: st.DataObject) -> None:
    model = data.draw(models())
    restrict = data.draw(restrictions(model))
    check(make_backend(model, prefer="ddnnf"), model, restrict, BruteBackend(model))


@FAST
@given(data=st.data())
def test_mdd_retracted_domains_match_one_propagation_per_variable(data: st.DataObject) -> None:
    model = data.draw(models())
    restrict = data.draw(restrictions(model))
    check(make_backend(model, prefer="mdd"), model, restrict, BruteBackend(model))


def brute_costs_each(
    model: Model, restrict: Restriction, w: dict[str, dict[Value, int]]
) -> tuple[dict[str, dict[Value, int]] | None, dict[str, dict[Value, int]] | None]:
    """Per variable and value, the least weight of a solution taking it: under ``restrict``, and
    under ``restrict`` with that variable's own entry removed (by enumeration)."""
    if any(not (set(kept) & set(v.domain)) for v in model.variables if (kept := restrict.get(v.name)) is not None):
        return None, None
    brute = BruteBackend(model)

    def least(r: Restriction, name: str | None = None) -> dict[str, dict[Value, int]]:
        out: dict[str, dict[Value, int]] = {v.name: {} for v in model.variables}
        for s in brute.solutions(r):
            cost = sum(w.get(n, {}).get(x, 0) for n, x in s.items())
            for n, x in s.items():
                if (name is None or n == name) and (x not in out[n] or cost < out[n][x]):
                    out[n][x] = cost
        return out

    full = least(restrict)
    lifted = {v.name: least({n: r for n, r in restrict.items() if n != v.name}, v.name)[v.name]
              for v in model.variables}
    feasible = any(brute.solutions(restrict))
    return (full if feasible else None), lifted


@st.composite
def int_weights(draw: st.DrawFn, model: Model) -> dict[str, dict[Value, int]]:
    out: dict[str, dict[Value, int]] = {}
    for var in model.variables:
        if draw(st.booleans()):
            chosen = draw(st.lists(st.sampled_from(var.domain), max_size=len(var.domain), unique=True))
            out[var.name] = {value: draw(st.integers(0, 40)) for value in chosen}
    return out


@needs_d4
@FAST
@given(data=st.data())
def test_ddnnf_retracted_costs_match_enumeration(data: st.DataObject) -> None:
    model = data.draw(models())
    restrict = data.draw(restrictions(model))
    w = data.draw(int_weights(model))
    got = make_backend(model, prefer="ddnnf").value_costs_each(restrict, w)  # type: ignore[attr-defined]
    assert got == brute_costs_each(model, restrict, w)


@needs_d4
@FAST
@given(data=st.data())
def test_ddnnf_costs_beyond_64_bits_stay_exact(data: st.DataObject) -> None:
    model = data.draw(models())
    restrict = data.draw(restrictions(model))
    w = data.draw(int_weights(model))
    big = {n: {x: c << 70 for x, c in row.items()} for n, row in w.items()}
    first, lifted = make_backend(model, prefer="ddnnf").value_costs_each(restrict, big)  # type: ignore[attr-defined]
    assert (first, lifted) == brute_costs_each(model, restrict, big)
    solution = make_backend(model, prefer="ddnnf").min_solution(restrict, big)  # type: ignore[attr-defined]
    if first is None:
        assert solution is None
    else:
        least = min(c for row in first.values() for c in row.values())
        assert sum(big.get(n, {}).get(x, 0) for n, x in solution.items()) == least


def _random_restrictions(model: Model, seed: int, n: int) -> list[dict[str, frozenset[Value]]]:
    """Click-like restrictions: a few variables fixed to a value of their propagated domain, some to a
    value that conflicts, some narrowed to two values."""
    rnd = random.Random(seed)
    out: list[dict[str, frozenset[Value]]] = [{}]
    variables = [v for v in model.variables if len(v.domain) > 1]
    for _ in range(n):
        r: dict[str, frozenset[Value]] = {}
        for v in rnd.sample(variables, min(len(variables), rnd.randint(1, 6))):
            k = rnd.randint(1, min(2, len(v.domain)))
            r[v.name] = frozenset(rnd.sample(list(v.domain), k))
        out.append(r)
    return out


def _demo_model(name: str) -> Model:
    from catalog.files import load_catalog_file
    from configurator.build import build_model
    from configurator.rules import expression_checker

    product = load_catalog_file(ROOT / "catalog" / "demo" / name, expression_checker=expression_checker).products[0]
    return build_model(product, key="retracted-test:" + hashlib.sha256(repr(product).encode()).hexdigest()[:24])


@needs_d4
@pytest.mark.parametrize("catalog", ["city-bikes.yaml", "wardrobes.yaml"])
def test_demo_catalogs_retracted_domains_agree_across_backends_and_with_propagation(catalog: str) -> None:
    model = _demo_model(catalog)
    ddnnf = make_backend(model, prefer="ddnnf")
    mdd = make_backend(model, prefer="mdd")
    for restrict in _random_restrictions(model, 7, 25):
        truth = brute_retracted(mdd, model, restrict)
        domains, each = ddnnf.propagate_each(restrict)  # type: ignore[attr-defined]
        assert domains == mdd.propagate(restrict)
        assert each == truth
        assert mdd.propagate_each(restrict) == (domains, each)  # type: ignore[attr-defined]
        w = {v.name: {x: (k * 37 + len(v.name)) % 11 for k, x in enumerate(v.domain)} for v in model.variables}
        assert ddnnf.value_costs_each(restrict, w) == mdd.value_costs_each(restrict, w)  # type: ignore[attr-defined]


@needs_d4
def test_a_corpus_feature_model_retracted_domains_match_propagation() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"../shared/corpus not present: {CORPUS} (the feature-model corpus lives outside the repository)")
    from catalog.featuremodels import convert_feature_model
    from configurator.build import build_model

    product = convert_feature_model(CORPUS / "featureide" / "E-Shop.xml").catalog.products[0]
    model = build_model(product, key="retracted-test:" + hashlib.sha256(repr(product).encode()).hexdigest()[:24])
    ddnnf = make_backend(model, prefer="ddnnf")
    for restrict in _random_restrictions(model, 11, 8):
        domains, each = ddnnf.propagate_each(restrict)  # type: ignore[attr-defined]
        assert domains == ddnnf.propagate(restrict)
        assert each == brute_retracted(ddnnf, model, restrict)


@needs_d4
@FAST
@given(data=st.data())
def test_ddnnf_min_solution_on_arrays_is_the_least_weight_solution_of_the_exact_pass(data: st.DataObject) -> None:
    model = data.draw(models())
    restrict = data.draw(restrictions(model))
    w = data.draw(int_weights(model))
    backend = make_backend(model, prefer="ddnnf")
    got = backend.min_solution(restrict, w)  # type: ignore[attr-defined]
    solutions = list(BruteBackend(model).solutions(restrict))
    if not solutions:
        assert got is None
        return
    assert got in solutions

    def weight(s: dict[str, Value]) -> int:
        return sum(w.get(n, {}).get(x, 0) for n, x in s.items())

    assert weight(got) == min(weight(s) for s in solutions)
    # The same solution as the exact Python-int pass (ties: the first arc met, both ways).
    d = backend._d  # type: ignore[attr-defined]
    ok = d._ok(restrict)
    lit_cost = [0] * (2 * (d.cnf.nvars + 1))
    for var, lits in zip(model.variables, d.cnf.value_lits, strict=True):
        for x, lit in zip(var.domain, lits, strict=True):
            lit_cost[2 * abs(lit) + (lit > 0)] = int(w.get(var.name, {}).get(x, 0))
    assert got == d._cheapest(ok, lit_cost)
