"""Repeated components: unrolled at load, exact counts, quantifiers, one set of BOM lines per instance."""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from bom.explode import explode
from catalog.files import CatalogInvalid, load_catalog_file, load_catalog_text
from catalog.snapshot import Catalog
from configurator import Configurator, Decision, load_product
from configurator.rules import expression_checker

# the backends tests/backends/test_products.py compares
BACKENDS = [
    "reference",
    "sat",
    pytest.param(
        "mdd",
        marks=pytest.mark.skipif(
            importlib.util.find_spec("configurator.backends.mdd") is None, reason="the mdd backend is not importable"
        ),
    ),
    pytest.param(
        "ddnnf",
        marks=pytest.mark.skipif(
            importlib.util.find_spec("py_d4") is None, reason="the d4 compiler (PyPI d4solver) is not installed"
        ),
    ),
]

SHELF = Path(__file__).with_name("shelf.yaml")
DOORS = ("none", "glass", "oak")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog_file(SHELF, expression_checker=expression_checker)


def valid_units() -> Iterator[dict[str, object]]:
    """Every valid configuration, enumerated from the catalog author's meaning (not from the unrolled rules)."""
    for tall in (False, True):
        for bays in (1, 2, 3):
            for interiors in itertools.product(itertools.product((1, 2, 3), DOORS), repeat=bays):
                if sum(door == "glass" for _, door in interiors) > 1:
                    continue
                if not tall and sum(shelves for shelves, _ in interiors) > 4:
                    continue
                if any(door == "glass" and shelves > 2 for shelves, door in interiors):
                    continue
                unused = [(2, "none")] * (3 - bays)
                out: dict[str, object] = {"tall": tall, "bay_count": bays}
                for i, (shelves, door) in enumerate([*interiors, *unused], start=1):
                    out[f"bay{i}_shelves"] = shelves
                    out[f"bay{i}_door"] = door
                yield out


VALID = list(valid_units())


def test_the_component_is_unrolled_into_ordinary_attributes_groups_and_rules(catalog: Catalog) -> None:
    unit = catalog.product("unit")
    assert [a.code for a in unit.attributes] == [
        "tall", "bay_count", "bay1_shelves", "bay1_door", "bay2_shelves", "bay2_door", "bay3_shelves", "bay3_door",
    ]  # fmt: skip
    count = unit.attribute("bay_count")
    assert (count.minimum, count.maximum, count.default) == (1, 3, 2)
    assert [(g.code, g.label.en, g.label.get("zh-CN")) for g in unit.groups] == [
        ("bay-1", "Bay 1", "第 1 格"), ("bay-2", "Bay 2", "第 2 格"), ("bay-3", "Bay 3", "第 3 格"),
    ]  # fmt: skip
    assert unit.attribute("bay2_door").group == "bay-2"
    rules = {r.id: r for r in unit.rules}
    assert rules["glass-shelves-1"].text == "bay1_door == glass -> bay1_shelves <= 2"
    assert rules["glass-shelves-2"].text == "bay_count >= 2 -> (bay2_door == glass -> bay2_shelves <= 2)"
    assert rules["glass-shelves-2"].message.en == "Bay 2: A glass door fits at most 2 shelves."
    assert rules["bay-3-unused"].text == 'bay_count < 3 -> (bay3_shelves == 2) and (bay3_door == "none")'
    assert "bay-1-unused" not in rules  # bay 1 is always in use


@pytest.mark.parametrize("backend", BACKENDS)
def test_counts_are_exact_against_the_enumeration(catalog: Catalog, backend: str) -> None:
    conf = load_product(catalog, "unit", catalog_key=f"repeat-{backend}", backend=backend)
    assert conf.count([]) == len(VALID)
    for bays in (1, 2, 3):
        expected = sum(1 for c in VALID if c["bay_count"] == bays)
        assert conf.count([Decision("bay_count", bays)]) == expected
    assert conf.count([Decision("tall", False), Decision("bay_count", 3)]) == sum(
        1 for c in VALID if not c["tall"] and c["bay_count"] == 3
    )


def test_brute_force_solutions_are_the_enumeration(catalog: Catalog) -> None:
    conf = load_product(catalog, "unit", catalog_key="repeat-brute", backend="brute")
    assert conf.count([]) == len(VALID)


@pytest.fixture(scope="module")
def conf(catalog: Catalog) -> Configurator:
    return load_product(catalog, "unit", catalog_key="repeat-sat", backend="sat")


def test_count_over_instances_in_use(conf: Configurator) -> None:
    state = conf.state([Decision("bay_count", 3), Decision("bay1_door", "glass")])
    assert "glass" not in state.attribute("bay2_door").possible
    explanation = conf.explain([Decision("bay_count", 3), Decision("bay1_door", "glass")], "bay3_door", "glass")
    assert not explanation.possible
    assert "glass-limit" in [r.rule_id for r in explanation.rules]


def test_sum_over_instances_in_use(conf: Configurator) -> None:
    state = conf.state([Decision("tall", False), Decision("bay_count", 2), Decision("bay1_shelves", 3)])
    assert state.attribute("bay2_shelves").possible == (1,)
    # an unused bay's shelves (fixed at 2) are not summed
    state = conf.state([Decision("tall", False), Decision("bay_count", 1), Decision("bay1_shelves", 3)])
    assert state.attribute("bay2_shelves").possible == (2,)


def test_an_unused_instance_is_fixed(conf: Configurator) -> None:
    state = conf.state([Decision("bay_count", 1)])
    assert state.attribute("bay3_door").possible == ("none",)
    assert state.attribute("bay3_shelves").possible == (2,)


def test_bom_lines_per_instance(catalog: Catalog) -> None:
    config = {
        "tall": True, "bay_count": 2,
        "bay1_shelves": 3, "bay1_door": "oak", "bay2_shelves": 1, "bay2_door": "glass",
        "bay3_shelves": 2, "bay3_door": "none",
    }  # fmt: skip
    bom = explode(catalog, "unit", config)
    lines = [(item.position, item.item, item.quantity_per) for item in bom.items]
    assert sorted(lines) == sorted(
        [("0010", "SIDE", 3), ("1001", "SHELF", 3), ("2001", "DOOR-OAK", 1), ("1002", "SHELF", 1), ("2002", "DOOR-GLASS", 1)]
    )


def test_every_valid_configuration_explodes(catalog: Catalog) -> None:
    for config in VALID:
        bom = explode(catalog, "unit", config)
        shelves = sum(item.quantity_per for item in bom.items if item.item == "SHELF")
        assert shelves == sum(config[f"bay{i}_shelves"] for i in range(1, int(config["bay_count"]) + 1))  # type: ignore[misc]


BASE = SHELF.read_text(encoding="utf-8")


def problems(text: str) -> list[str]:
    with pytest.raises(CatalogInvalid) as info:
        load_catalog_text(text, filename="unit.yaml", expression_checker=expression_checker)
    return [str(p) for p in info.value.problems]


def position_of(needle: str, text: str = BASE) -> tuple[int, int]:
    offset = text.index(needle)
    return text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)


def test_min_above_max_is_reported_at_the_repeat_entry() -> None:
    line, column = position_of("min: 1\n        max: 3")
    found = problems(BASE.replace("min: 1\n        max: 3", "min: 4\n        max: 3"))
    assert found == [f"unit.yaml:{line}:{column + 5}: products[0].repeat[0].min: min 4 is greater than max 3"]


def test_an_unknown_name_in_an_instance_rule_is_reported_at_that_rule() -> None:
    text = BASE.replace("door == glass -> shelves <= 2", "door == glass -> shelfs <= 2")
    found = problems(text)
    line, _ = position_of("door == glass -> shelfs", text)
    assert found and all(f"unit.yaml:{line}:" in p for p in found), found
    assert all("shelfs" in p for p in found)


def test_an_instance_attribute_used_against_its_type_is_reported_at_the_authored_rule() -> None:
    # shelves becomes a set: the instance rule comparing it as a number is wrong, for every instance
    text = BASE.replace("type: int, min: 1, max: 3, default: 2}", "type: set, values: [a, b]}")
    found = problems(text)
    line, _ = position_of("door == glass -> shelves <= 2", text)
    at_rule = [p for p in found if p.startswith(f"unit.yaml:{line}:")]
    assert len(at_rule) == 3 and all("'<=' needs numbers" in p for p in at_rule), found


def test_a_quantifier_over_an_attribute_is_an_error() -> None:
    found = problems(BASE.replace("count(bay, door == glass)", "count(tall, door == glass)"))
    assert any("must be a repeated component's code, not tall (repeated components: bay)" in p for p in found)


def test_the_unrolled_catalog_round_trips(catalog: Catalog) -> None:
    from catalog.files.dump import document_from_catalog
    from catalog.files.load import catalog_from_document

    again = catalog_from_document(document_from_catalog(catalog), expression_checker=expression_checker)
    assert again.product("unit") == catalog.product("unit")

