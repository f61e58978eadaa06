"""Cheapest completion with prices that are not per-value weights (quantifier sums over repeated
components, conditional and percentage lines): the branch and bound against independent minima."""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path

import pytest

from catalog.files import load_catalog_file, load_catalog_text
from catalog.snapshot import Product
from configurator import Configurator, Decision
from configurator.decisions import SetElement
from configurator.pricing import PriceModel, price
from configurator.rules import expression_checker
from tests.repeat.test_repeat import BACKENDS, SHELF, VALID

ROOT = Path(__file__).resolve().parents[2]

# Prices that reward some choices (negative amounts), read several bays at once and depend on
# one another through a percentage: no per-value weights exist, so the engine searches. The bundle
# discount is out of reach of a greedy descent (it needs a tall unit and two open bays).
PRICES = """    prices:
      - {id: shelves, add: "sum(bay, shelves) * 12 - if(tall, 40, 0)", label: {en: Shelves}}
      - {id: oak, add: "sum(bay, if(door == oak, -30, 10))", label: {en: Doors}}
      - {id: glass, when: "count(bay, door == glass) > 0", add: "count(bay, door == glass) * 55 - 90", label: {en: Glass}}
      - {id: bundle, add: "if(sum(bay, shelves) >= 6 and count(bay, door == none) >= 2, -150, 0)", label: {en: Bundle}}
      - id: size
        label: {en: Size}
        table:
          columns: [tall, bay_count]
          rows:
            - [false, 1, "0"]
            - [false, "2..3", "25.50"]
            - [true, "*", "-15.25"]
      - {id: tall-craft, when: tall, percent: "7.5", label: {en: Tall unit machining}}
"""


@pytest.fixture(scope="module")
def unit() -> Product:
    text = SHELF.read_text(encoding="utf-8").replace("    repeat:\n", PRICES + "    repeat:\n", 1)
    return load_catalog_text(text, expression_checker=expression_checker).product("unit")


DECISIONS = [
    [],
    [Decision("tall", True)],
    [Decision("tall", False)],
    [Decision("bay_count", 1)],
    [Decision("bay_count", 3), Decision("bay2_door", "glass")],
    [Decision("bay1_shelves", 3)],
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("decisions", DECISIONS, ids=lambda d: ",".join(f"{x.attribute}={x.value}" for x in d))
def test_cheapest_on_a_repeated_component_is_the_enumerated_minimum(
    unit: Product, backend: str, decisions: list[Decision]
) -> None:
    conf = Configurator(unit, backend=backend)
    assert conf.pricing.unary_weights() is None  # the search, not the weighted solve
    fixed = {d.attribute: d.value for d in decisions}
    matching = [u for u in VALID if all(u[k] == v for k, v in fixed.items())]
    best = min(price(unit, u).total for u in matching)  # type: ignore[arg-type]
    got = conf.complete(decisions, objective="cheapest")
    assert conf.validate(got) == ()
    assert all(got[k] == v for k, v in fixed.items())
    assert price(unit, got).total == best
    assert conf.state(list(Decision(k, v) for k, v in got.items())).price.total == best  # type: ignore[arg-type]


def pax_system() -> Product:
    catalog = load_catalog_file(ROOT / "catalog" / "demo" / "wardrobes.yaml", expression_checker=expression_checker)
    return catalog.product("pax-system")


def test_pax_system_cheapest_equals_the_minimum_of_an_enumeration_of_its_priced_attributes() -> None:
    """One section with lighting and machined plywood (every kind of line applies): every combination
    of the attributes the prices read, kept when the configurator finds it consistent, priced."""
    product = pax_system()
    conf = Configurator(product, backend="auto")
    decisions: list[Decision | SetElement] = [
        Decision("section_count", 1), Decision("height", 2200), Decision("material", "multilayer"),
        Decision("decor", "warm_grey"), SetElement("extras", "lighting"),
    ]  # fmt: skip
    got = conf.complete(decisions, objective="cheapest")
    assert conf.validate(got) == ()
    model = PriceModel.of(product)
    free = ["plinth_height", "section1_width", "section1_door", "section1_drawers", "section1_rail"]
    assert set(free) | {"height", "material", "decor", "section_count", "extras"} >= {
        a for line in model.lines for a in line.reads if not a.startswith(("section2", "section3"))
    }
    best: Decimal | None = None
    for anchor in (False, True):
        extras = frozenset({"lighting", "wall_anchor"} if anchor else {"lighting"})
        for combo in itertools.product(*(product.attribute(a).domain() for a in free)):
            chosen = [*decisions, *(Decision(a, v) for a, v in zip(free, combo, strict=True))]
            chosen.append(SetElement("extras", "wall_anchor", anchor))
            if not conf.consistent(chosen):
                continue
            assignment = {**{d.attribute: d.value for d in decisions if isinstance(d, Decision)},
                          **dict(zip(free, combo, strict=True)), "extras": extras}
            candidates = {a: (v,) for a, v in assignment.items()}
            total = model.breakdown(candidates).total  # type: ignore[arg-type]
            best = total if best is None or total < best else best
    assert best is not None
    assert price(product, got).total == best


def test_pax_system_cheapest_from_scratch_is_valid_and_not_beaten_by_any_section_count() -> None:
    product = pax_system()
    conf = Configurator(product, backend="auto")
    got = conf.complete((), objective="cheapest")
    assert conf.validate(got) == ()
    total = price(product, got).total
    for n in (1, 2, 3):
        other = conf.complete([Decision("section_count", n)], objective="cheapest")
        assert price(product, other).total >= total
