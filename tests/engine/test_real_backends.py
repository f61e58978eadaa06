"""The engine over models compiled by build_model, on every available backend,
checked against the hand-built model on the exhaustive backend."""

from __future__ import annotations

from decimal import Decimal

import pytest

from configurator import Configurator, Decision, SetElement
from configurator.backends.select import available_backends

from .conftest import bike_model, bike_product
from .fake_backend import ExhaustiveBackend
from .test_engine import PRICES

SCENARIOS: list[list[Decision | SetElement]] = [
    [],
    [Decision("frame", "carbon")],
    [SetElement("acc", "lights"), Decision("gears", 9)],
    [Decision("rack", True), Decision("gears", 3), Decision("frame", "carbon")],  # conflict
    [Decision("acc", frozenset({"bell", "lock"}))],
]


@pytest.fixture(scope="module")
def reference() -> Configurator:
    return Configurator(bike_product(PRICES), solver=ExhaustiveBackend(bike_model()))


@pytest.fixture(scope="module", params=available_backends())
def real(request: pytest.FixtureRequest) -> Configurator:
    return Configurator(bike_product(PRICES), backend=request.param, catalog_key="tests-engine")


@pytest.mark.parametrize("decisions", SCENARIOS)
def test_state_agrees_with_the_exhaustive_model(
    real: Configurator, reference: Configurator, decisions: list[Decision | SetElement]
) -> None:
    assert real.state(decisions) == reference.state(decisions)


def test_explain_and_repair_agree_with_the_exhaustive_model(real: Configurator, reference: Configurator) -> None:
    decisions: list[Decision | SetElement] = [Decision("gears", 9), SetElement("acc", "lights")]
    assert real.explain(decisions, "rack", True) == reference.explain(decisions, "rack", True)
    assert real.repair(decisions, "rack", True) == reference.repair(decisions, "rack", True)
    assert real.explain([], "gears", 12) == reference.explain([], "gears", 12)


@pytest.mark.parametrize("objective", ["defaults", "cheapest"])
def test_complete_agrees_with_the_exhaustive_model(real: Configurator, reference: Configurator, objective: str) -> None:
    for decisions in SCENARIOS[:3]:
        assert real.complete(decisions, objective) == reference.complete(decisions, objective)


def test_count_label_and_stats(real: Configurator, reference: Configurator) -> None:
    assert real.count([]) == reference.count([]) == real.stats().count
    stats = real.stats()
    assert stats.variables == 6 and stats.rules == 5
    assert (stats.size is not None) == (real.backend.name in ("mdd", "ddnnf"))
    why = real.explain([SetElement("acc", "bell"), SetElement("acc", "lights")], "acc", "lock")
    count_rule = next(r for r in why.rules if r.rule_id == "acc:count")
    assert count_rule.message.en == "Choose 0 to 2 of Accessories."


def test_price_of_a_full_configuration(real: Configurator) -> None:
    state = real.state([Decision("frame", "steel"), Decision("rack", True), Decision("gears", 8),
                        Decision("acc", frozenset())])
    assert state.complete
    assert state.price.total == Decimal("1000.00") + 80 + 30 + Decimal("111.00")
