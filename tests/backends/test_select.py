"""Choosing a backend by name and falling back from the decision diagram to SAT."""

from __future__ import annotations

import importlib.util
import itertools
import logging
from pathlib import Path

import pytest

from configurator.backends.base import CompileBudgetExceeded
from configurator.backends.select import (
    BackendUnavailable,
    UnknownBackend,
    available_backends,
    choice_log,
    make_backend,
)
from configurator.model import Constraint, Model, Variable

MDD_PRESENT = importlib.util.find_spec("configurator.backends.mdd") is not None


def chain(n: int) -> Model:
    """n variables of 4 values, each pair of neighbours and of every third variable related."""
    variables = tuple(Variable(f"v{i}", (0, 1, 2, 3), f"v{i}") for i in range(n))
    pairs = [(i, i + 1) for i in range(n - 1)] + [(i, (i * 7 + 3) % n) for i in range(0, n, 3)]
    constraints = tuple(
        Constraint(f"r{i}-{j}", (f"v{i}", f"v{j}"), lambda a, b: (a + b) % 3 != 0) for i, j in pairs if i != j
    )
    return Model(f"chain-{n}", variables, constraints)


@pytest.mark.parametrize(
    ("prefer", "expected"), [("sat", "sat"), ("reference", "reference"), ("brute", "brute")]
)
def test_explicit_names_pick_that_backend(prefer: str, expected: str) -> None:
    backend = make_backend(chain(4), prefer=prefer)
    assert backend.name == expected
    assert backend.count({}) == make_backend(chain(4), prefer="brute").count({})


def test_unknown_backend_name_is_rejected_with_the_choices() -> None:
    with pytest.raises(UnknownBackend, match="'cplex'.*mdd, ddnnf, sat, reference, brute") as info:
        make_backend(chain(3), prefer="cplex")
    assert info.value.reason == "unknown_backend"


def test_available_backends_lists_the_always_present_ones_in_preference_order() -> None:
    names = available_backends()
    assert names[-3:] == ["sat", "reference", "brute"]
    assert ("mdd" in names) == MDD_PRESENT


@pytest.mark.skipif(not MDD_PRESENT, reason="configurator.backends.mdd is not importable yet")
def test_auto_prefers_the_decision_diagram() -> None:
    assert make_backend(chain(5)).name == "mdd"


@pytest.mark.skipif(not MDD_PRESENT, reason="configurator.backends.mdd is not importable yet")
def test_auto_moves_on_to_the_d_dnnf_when_the_diagram_exceeds_its_budget(
    caplog: pytest.LogCaptureFixture,
) -> None:
    model = chain(12)
    with caplog.at_level(logging.WARNING, logger="configurator.backends"):
        backend = make_backend(model, node_budget=2)
    assert backend.name == "ddnnf"
    assert any("trying the d-DNNF" in r.getMessage() and model.key in r.getMessage() for r in caplog.records)
    assert choice_log(model.key)[0].startswith("mdd: BDD of")
    assert choice_log(model.key)[-1] == "using ddnnf"
    assert backend.count({"v0": frozenset({0})}) == make_backend(model, prefer="reference").count(
        {"v0": frozenset({0})}
    )


@pytest.mark.skipif(not MDD_PRESENT, reason="configurator.backends.mdd is not importable yet")
def test_auto_falls_back_to_sat_and_logs_why_when_every_compilation_exceeds_its_budget(
    caplog: pytest.LogCaptureFixture,
) -> None:
    model = chain(13)
    with caplog.at_level(logging.WARNING, logger="configurator.backends"):
        backend = make_backend(model, node_budget=2, time_budget_s=0.0)
    assert backend.name == "sat"
    assert any(
        "falling back to SAT" in r.getMessage() and model.key in r.getMessage() for r in caplog.records
    )
    notes = choice_log(model.key)
    assert notes[1] == f"ddnnf: d4 did not compile model {model.key!r} within the time budget of 0 s"
    assert backend.count({"v0": frozenset({0})}) == make_backend(model, prefer="reference").count(
        {"v0": frozenset({0})}
    )


@pytest.mark.skipif(not MDD_PRESENT, reason="configurator.backends.mdd is not importable yet")
def test_explicit_mdd_propagates_the_budget_error() -> None:
    with pytest.raises(CompileBudgetExceeded):
        make_backend(chain(12), prefer="mdd", node_budget=2)


@pytest.mark.skipif(MDD_PRESENT, reason="the decision-diagram backend is present")
def test_auto_uses_sat_and_logs_when_the_decision_diagram_is_missing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="configurator.backends"):
        backend = make_backend(chain(4))
    assert backend.name == "sat"
    assert any("unavailable" in r.getMessage() for r in caplog.records)
    with pytest.raises(BackendUnavailable):
        make_backend(chain(4), prefer="mdd")


def test_chain_model_has_solutions() -> None:
    # Guards the fixture itself: a fallback test on an unsatisfiable model would prove little.
    model = chain(6)
    count = make_backend(model, prefer="sat").count({})
    brute = sum(
        1
        for combo in itertools.product(range(4), repeat=6)
        if all(c.predicate(*(combo[int(n[1:])] for n in c.scope)) for c in model.constraints)
    )
    assert count == brute > 0


def clique(n: int) -> Model:
    """n booleans, every pair related ("not both"): treewidth n - 1."""
    variables = tuple(Variable(f"b{i}", (False, True), f"b{i}") for i in range(n))
    constraints = tuple(
        Constraint(f"r{i}-{j}", (f"b{i}", f"b{j}"), lambda a, b: not (a and b))
        for i, j in itertools.combinations(range(n), 2)
    )
    return Model(f"clique-{n}", variables, constraints)


def test_width_estimate_bounds_the_treewidth_and_stops_early() -> None:
    from configurator.backends.select import width_estimate

    assert width_estimate(clique(8)) == 7
    assert width_estimate(chain(30)) <= 4
    assert width_estimate(clique(40), stop_above=24) > 24


@pytest.mark.skipif("ddnnf" not in available_backends(), reason="needs the d4 compiler (PyPI d4solver)")
def test_auto_goes_straight_to_the_d_dnnf_for_a_wide_model_and_says_why() -> None:
    from configurator.backends.select import AUTO_MDD_MAX_WIDTH

    model = clique(AUTO_MDD_MAX_WIDTH + 3)
    backend = make_backend(model, prefer="auto")
    assert backend.name == "ddnnf"
    assert backend.count({}) == AUTO_MDD_MAX_WIDTH + 4  # none, or exactly one of them
    notes = choice_log(model.key)
    assert "treewidth estimate" in notes[0] and notes[-1] == "using ddnnf"


def test_every_budget_error_is_one_type_with_its_reason() -> None:
    from configurator.backends.base import SearchLimitExceeded
    from configurator.engine import ModelNotCompiled
    from configurator.errors import BudgetExceeded, ClickBudgetExceeded

    errors = [
        CompileBudgetExceeded("mdd", "over the node budget"),
        SearchLimitExceeded("sat", "rule r spans too many combinations"),
        ModelNotCompiled("p", "ddnnf", "d4 did not compile within 1 s"),
        ClickBudgetExceeded("p", 5),
    ]
    assert all(isinstance(e, BudgetExceeded) for e in errors)
    assert [e.reason for e in errors] == ["compile_budget", "search_limit", "compile_budget", "click_budget"]


def test_sat_counts_the_unrolled_wardrobe_within_a_small_search() -> None:
    """pax-system repeats its sections: constraints already satisfied by every remaining combination must not
    join the sections into one component, or the count explores their product."""
    pytest.importorskip("configurator.backends.mdd")
    from catalog.files import load_catalog_file
    from configurator.backends.sat import SatBackend
    from configurator.build import build_model
    from configurator.rules import expression_checker

    demo = Path(__file__).resolve().parents[2] / "catalog" / "demo" / "wardrobes.yaml"
    catalog = load_catalog_file(demo, expression_checker=expression_checker)
    product = next(p for p in catalog.products if p.code == "pax-system")
    model = build_model(product, key="test-select:pax-system")
    expected = make_backend(model, prefer="mdd").count({})
    assert SatBackend(model, count_node_limit=20_000).count({}) == expected
    first = model.variables[0]
    restrict = {first.name: frozenset(first.domain[:1])}
    assert SatBackend(model, count_node_limit=20_000).count(restrict) == make_backend(model, prefer="mdd").count(restrict)
