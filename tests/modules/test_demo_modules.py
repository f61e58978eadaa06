"""The demo catalogs: every configuration the configurator accepts explodes (their products pass
parameters to configurable modules with rules of their own).

The spaces are too large to list, so each product is checked on configurations the engine
itself leads a buyer to: random walks that pick, attribute after attribute in a random order,
a random value propagation still offers, then "finish for me". Every one must explode.
"""

from __future__ import annotations

import random
from functools import cache
from pathlib import Path

import pytest

from bom.explode import explode
from catalog.demo import demo_catalog_paths
from catalog.files import load_catalog_file
from catalog.snapshot import AttributeKind, Catalog
from configurator import Configurator, Decision, load_product
from configurator.decisions import restriction_of
from configurator.modules import module_uses
from configurator.rules import expression_checker

WALKS = 150

PRODUCTS = [
    (path, product.code)
    for path in demo_catalog_paths()
    for product in load_catalog_file(path, expression_checker=expression_checker).products
]


@cache
def catalog(path: Path) -> Catalog:
    return load_catalog_file(path, expression_checker=expression_checker)


@cache
def configurator(path: Path, code: str) -> Configurator:
    return load_product(catalog(path), code, catalog_key=f"test-demo-modules-{path.name}")


def test_the_demo_products_use_configurable_modules_with_rules() -> None:
    uses = [use for path, code in PRODUCTS for use in module_uses(catalog(path).product(code))]
    assert any(use.module.rules for use in uses)
    assert any(len(use.steps) >= 2 for use in uses)  # a configurable module inside another


@pytest.mark.parametrize(("path", "code"), PRODUCTS, ids=[f"{p.name}:{c}" for p, c in PRODUCTS])
def test_every_configuration_a_buyer_can_reach_explodes(path: Path, code: str) -> None:
    conf: Configurator = configurator(path, code)
    product = catalog(path).product(code)
    rng = random.Random(f"{path.name}:{code}")
    for _ in range(WALKS):
        decisions: list[Decision] = []
        attributes = [a for a in product.attributes if a.kind is not AttributeKind.SET]
        rng.shuffle(attributes)
        for a in attributes[: rng.randint(1, len(attributes))]:
            domains = conf.backend.propagate(restriction_of(conf.model, decisions))
            assert domains is not None  # no dead end
            decisions.append(Decision(a.code, rng.choice(sorted(domains[a.code], key=str))))
        completed = conf.complete(decisions)
        assert not conf.validate(completed)
        explode(catalog(path), code, completed)  # raises if the order would be refused


def test_the_bike_refuses_an_xl_mixte_by_the_frameset_rule_alone() -> None:
    path = next(p for p in demo_catalog_paths() if p.name == "city-bikes.yaml")
    bike = catalog(path).product("city-ebike")
    assert "mixte-up-to-l" not in {r.id for r in bike.rules}
    conf = configurator(path, "city-ebike")
    explanation = conf.explain([Decision("frame_style", "mixte")], "frame_size", "size_xl")
    assert [r.rule_id for r in explanation.rules] == ["FRAMESET/mixte-up-to-l"]
    assert explanation.rules[0].message.get("zh-CN").startswith("双斜梁车架最大做到 L 码")
