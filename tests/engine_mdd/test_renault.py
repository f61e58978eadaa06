"""The Renault Megane benchmark (XCSP 2.1) through the reader and the MDD backend.

Oracle for ``propagate``: a value is offered exactly when the MDD's own count
with that value fixed is positive, and the SAT backend (an independent solver)
agrees on each offered and each removed value of a sample.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from pysat.solvers import Solver

from benchmarks.renault import RENAULT_COUNT, load_renault
from catalog.snapshot import Value
from configurator.backends.mdd import MddBackend
from configurator.model import Model

MEGANE = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "renault" / "megane.xml"

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not MEGANE.is_file(), reason=f"../shared/corpus not present: {MEGANE} is missing"),
]


@pytest.fixture(scope="module")
def model() -> Model:
    return load_renault(MEGANE)


@pytest.fixture(scope="module")
def mdd(model: Model) -> MddBackend:
    return MddBackend(model)


def test_reader_finds_every_variable_and_constraint(model: Model) -> None:
    assert len(model.variables) == 99
    assert len(model.constraints) == 113
    assert sum(len(v.domain) for v in model.variables) == 396
    assert max(len(c.scope) for c in model.constraints) == 10
    assert all(c.allowed is not None for c in model.constraints)


def test_mdd_counts_the_documented_number_of_configurations(mdd: MddBackend) -> None:
    assert mdd.count({}) == RENAULT_COUNT == 2_835_456_006_272


def _random_restriction(
    model: Model, mdd: MddBackend, rng: random.Random, k: int
) -> dict[str, frozenset[Value]]:
    """Fix ``k`` random variables to random values, each time among the values still offered."""
    restrict: dict[str, frozenset[Value]] = {}
    for v in rng.sample(model.variables, k):
        offered = mdd.propagate(restrict)
        assert offered is not None
        restrict[v.name] = frozenset({rng.choice(sorted(offered[v.name], key=repr))})
    return restrict


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_propagate_offers_exactly_the_values_with_completions(
    model: Model, mdd: MddBackend, seed: int
) -> None:
    rng = random.Random(seed)
    restrict = _random_restriction(model, mdd, rng, 4 + seed)
    offered = mdd.propagate(restrict)
    assert offered is not None
    for v in model.variables:
        candidates = restrict.get(v.name, frozenset(v.domain))
        with_value = {x for x in candidates if mdd.count({**restrict, v.name: frozenset({x})}) > 0}
        assert offered[v.name] == with_value, v.name
    assert sum(mdd.count({**restrict, "1": frozenset({x})}) for x in model.variable("1").domain) == mdd.count(
        restrict
    )


def test_conflicting_restriction_is_reported_as_none(model: Model, mdd: MddBackend) -> None:
    rng = random.Random(7)
    restrict = _random_restriction(model, mdd, rng, 6)
    offered = mdd.propagate(restrict)
    assert offered is not None
    removed = [(v.name, x) for v in model.variables for x in v.domain if x not in offered[v.name]]
    assert removed, "six decisions on Renault always rule something out"
    name, x = removed[0]
    assert mdd.propagate({**restrict, name: frozenset({x})}) is None
    assert mdd.count({**restrict, name: frozenset({x})}) == 0


def _sat_oracle(model: Model) -> tuple[Any, dict[tuple[str, Value], int]]:
    """An independent SAT encoding of the tables (one-hot values, one support literal per tuple)."""
    solver = Solver(name="cadical153")
    lits: dict[tuple[str, Value], int] = {}
    for v in model.variables:
        row = [lits.setdefault((v.name, x), len(lits) + 1) for x in v.domain]
        solver.add_clause(row)
        solver.append_formula([[-a, -b] for i, a in enumerate(row) for b in row[i + 1 :]])
    top = len(lits)
    for c in model.constraints:
        assert c.allowed is not None
        supports = []
        for t in c.allowed:
            top += 1
            supports.append(top)
            solver.append_formula([[-top, lits[(name, x)]] for name, x in zip(c.scope, t, strict=True)])
        solver.add_clause(supports)
    return solver, lits


def test_independent_sat_encoding_agrees_on_a_sample_of_values(model: Model, mdd: MddBackend) -> None:
    solver, lits = _sat_oracle(model)
    rng = random.Random(11)
    for k in (3, 8):
        restrict = _random_restriction(model, mdd, rng, k)
        offered = mdd.propagate(restrict)
        assert offered is not None
        fixed = [lits[(name, next(iter(xs)))] for name, xs in restrict.items()]
        for v in rng.sample(model.variables, 10):
            if v.name in restrict:
                continue
            x = rng.choice(v.domain)
            assert solver.solve(assumptions=[*fixed, lits[(v.name, x)]]) == (x in offered[v.name]), (
                v.name,
                x,
            )
        solution = mdd.solve(restrict)
        assert solution is not None
        assert all(c.predicate(*(solution[s] for s in c.scope)) for c in model.constraints)
        assert all(solution[name] in xs for name, xs in restrict.items())
    solver.delete()
