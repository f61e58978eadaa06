"""The click's values a buyer could switch to, from retracted domains (one query for every decided
attribute), against the same click with one propagation per decided attribute, and against the
definition: the value is possible when the decisions with this attribute's own decision replaced by it
have a solution."""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from catalog.snapshot import AttributeKind, Product, Value
from configurator import Configurator, Decision, SetElement
from configurator.backends.select import available_backends, make_backend
from configurator.build import build_model

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / ".." / "shared" / "corpus"
COMPILED = [b for b in available_backends() if b in ("mdd", "ddnnf")]


class PerAttribute:
    """A compiled backend without ``propagate_each`` / ``value_costs_each``: the click then asks one
    propagation (or one pass) per decided attribute, as it did before retracted domains."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.name = backend.name
        self.model = backend.model

    def propagate(self, restrict: Mapping[str, frozenset[Value]]) -> Any:
        return self.backend.propagate(restrict)

    def count(self, restrict: Mapping[str, frozenset[Value]]) -> int:
        return int(self.backend.count(restrict))

    def solve(self, restrict: Mapping[str, frozenset[Value]], weights: Any = None) -> Any:
        return self.backend.solve(restrict, weights)

    def value_costs(self, restrict: Mapping[str, frozenset[Value]], weights: Any) -> Any:
        return self.backend.value_costs(restrict, weights)

    def min_solution(self, restrict: Mapping[str, frozenset[Value]], weights: Any) -> Any:
        return self.backend.min_solution(restrict, weights)


def _e_shop() -> Product:
    if not CORPUS.is_dir():
        pytest.skip(f"../shared/corpus not present: {CORPUS} (the feature-model corpus lives outside the repository)")
    from catalog.featuremodels import convert_feature_model

    return convert_feature_model(CORPUS / "featureide" / "E-Shop.xml").catalog.products[0]


def _demo(name: str) -> Product:
    from catalog.files import load_catalog_file
    from configurator.rules import expression_checker

    return load_catalog_file(ROOT / "catalog" / "demo" / name, expression_checker=expression_checker).products[0]


def _click(state: Any, rng: random.Random) -> Decision | SetElement | None:
    open_attrs = [a for a in state.attributes if any(v.possible and not v.selected for v in a.values)]
    if not open_attrs:
        return None
    a = rng.choice(open_attrs)
    v = rng.choice([v for v in a.values if v.possible and not v.selected])
    return SetElement(a.code, str(v.value), True) if a.kind is AttributeKind.SET else Decision(a.code, v.value)


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("source", ["e-shop", "city-bikes.yaml", "wardrobes.yaml"])
def test_the_click_by_retracted_domains_equals_the_click_per_decided_attribute(source: str, backend: str) -> None:
    product = _e_shop() if source == "e-shop" else _demo(source)
    model = build_model(product, key=f"test-retracted-click:{source}")
    compiled = make_backend(model, prefer=backend)
    fast = Configurator(product, solver=compiled)
    slow = Configurator(product, solver=PerAttribute(compiled))  # type: ignore[arg-type]
    rng = random.Random(5)
    for _ in range(3):
        decisions: list[Decision | SetElement] = []
        for _ in range(5):
            state = fast.state(decisions)
            assert state == slow.state(decisions)
            for attr in state.attributes:
                if attr.kind is AttributeKind.SET or not any(d.attribute == attr.code for d in state.decisions):
                    continue
                others = [d for d in state.decisions if d.attribute != attr.code]
                for v in attr.values:
                    assert v.possible == fast.consistent([*others, Decision(attr.code, v.value)])
            step = _click(state, rng)
            if step is None:
                break
            decisions.append(step)


def test_a_price_the_passes_cannot_write_still_shows_the_switches_of_the_exhaustive_model() -> None:
    """More conditional percentages than the passes take: the click prices value by value and reads
    decided attributes' alternatives from one ``propagate_each``; it shows what the exhaustive model does."""
    from catalog.snapshot import Label, PriceRule

    from .conftest import bike_model, bike_product
    from .fake_backend import ExhaustiveBackend
    from .test_engine import PRICES

    extra = tuple(
        PriceRule(f"p{k}", Label(f"P{k}"), when=when, percent=str(k + 1))
        for k, when in enumerate(["rack", "frame == carbon", "gears == 9", "has(acc, lights)", "not rack"])
    )
    product = bike_product(PRICES + extra)
    reference = Configurator(product, solver=ExhaustiveBackend(bike_model()))
    assert reference._click() is None  # the per-value path
    scenarios: list[list[Decision | SetElement]] = [
        [Decision("frame", "carbon")],
        [Decision("gears", 9), Decision("rack", True)],
        [SetElement("acc", "lights"), Decision("frame", "steel"), Decision("gears", 3)],
    ]
    for backend in COMPILED:
        real = Configurator(product, backend=backend, catalog_key="test-retracted-click-percent")
        for decisions in scenarios:
            assert real.state(decisions) == reference.state(decisions)
