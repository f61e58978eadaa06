"""A repeated component's set attributes, derived attributes and table rules, unrolled per instance."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from bom.explode import explode
from catalog.files import CatalogInvalid, load_catalog_file, load_catalog_text
from catalog.snapshot import Catalog
from configurator import Decision, load_product
from configurator.derived import derived_values, plain_product
from configurator.pricing import price
from configurator.rules import expression_checker

CABINET = Path(__file__).with_name("cabinet.yaml")
TEXT = CABINET.read_text(encoding="utf-8")
EXTRAS = ("light", "lock", "soft")
FRONT = {(10, "oak"): "20.00", (10, "white"): "15.50", (20, "oak"): "30.00", (20, "white"): "24.50"}
FRONT |= {(30, "oak"): "40.00", (30, "white"): "33.50"}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog_file(CABINET, expression_checker=expression_checker)


def subsets() -> list[frozenset[str]]:
    return [frozenset(c) for k in range(3) for c in itertools.combinations(EXTRAS, k)]


def valid_cabinets() -> Iterator[dict[str, object]]:
    """Every valid configuration, from the catalog author's meaning (not from the unrolled entries)."""
    for finish in ("oak", "white"):
        for drawers in (0, 1, 2):
            for used in itertools.product(itertools.product((10, 20, 30), subsets()), repeat=drawers):
                if sum("lock" in extras for _, extras in used) > 1:
                    continue
                if any("light" in extras and height < 20 for height, extras in used):
                    continue
                if any((height, finish) == (30, "white") for height, _ in used):  # tall-white
                    continue
                if any(height == 10 and finish != "white" for height, _ in used):  # height-finish
                    continue
                out: dict[str, object] = {"finish": finish, "drawer_count": drawers}
                unused = [(10, frozenset({"soft"}))] * (2 - drawers)
                for i, (height, extras) in enumerate([*used, *unused], start=1):
                    out[f"drawer{i}_height"] = height
                    out[f"drawer{i}_extras"] = extras
                yield out


VALID = list(valid_cabinets())


def test_instances_get_set_and_derived_attributes_and_table_rules(catalog: Catalog) -> None:
    cabinet = catalog.product("cabinet")
    assert [a.code for a in cabinet.attributes] == [
        "finish", "drawer_count", "drawer1_height", "drawer1_extras", "drawer2_height", "drawer2_extras",
    ]  # fmt: skip
    assert [a.code for a in cabinet.derived] == [
        "drawer1_runner", "drawer1_front_price", "drawer2_runner", "drawer2_front_price",
    ]  # fmt: skip
    derived = {a.code: a.derived for a in cabinet.derived}
    assert derived["drawer2_runner"] is not None
    assert derived["drawer2_runner"].formula == 'if(has(drawer2_extras, soft), "soft", "basic")'
    assert derived["drawer2_front_price"] is not None
    assert derived["drawer2_front_price"].columns == ("drawer2_height", "finish")
    rules = {r.id: r for r in cabinet.rules}
    assert rules["tall-white-1"].columns == ("drawer_count", "drawer1_height", "finish")
    assert rules["tall-white-1"].rows == (("1..2", 30, "white"),)
    assert rules["height-finish-2"].rows == (("2..2", "20..30", "*"), ("2..2", 10, "white"), ("0..1", "*", "*"))
    assert rules["drawer-2-unused"].text == (
        'drawer_count < 2 -> (drawer2_height == 10) and '
        '(not has(drawer2_extras, "light") and not has(drawer2_extras, "lock") and has(drawer2_extras, "soft"))'
    )


@pytest.mark.parametrize("backend", ["reference", "sat", "brute"])
def test_counts_are_exact_against_the_enumeration(catalog: Catalog, backend: str) -> None:
    conf = load_product(catalog, "cabinet", catalog_key=f"cabinet-{backend}", backend=backend)
    assert conf.count([]) == len(VALID)
    for drawers in (0, 1, 2):
        expected = sum(1 for c in VALID if c["drawer_count"] == drawers)
        assert conf.count([Decision("drawer_count", drawers)]) == expected
    assert conf.count([Decision("finish", "white")]) == sum(1 for c in VALID if c["finish"] == "white")


def test_an_unused_instance_table_rule_does_not_bind(catalog: Catalog) -> None:
    # an unused drawer keeps height 10, which height-finish allows only with white: with no drawer, oak is fine
    conf = load_product(catalog, "cabinet", catalog_key="cabinet-sat", backend="sat")
    assert conf.count([Decision("finish", "oak"), Decision("drawer_count", 0)]) == 1
    state = conf.state([Decision("finish", "oak"), Decision("drawer_count", 1)])
    assert state.attribute("drawer1_height").possible == (20, 30)
    assert state.attribute("drawer2_height").possible == (10,)  # unused: its canonical value
    explanation = conf.explain([Decision("finish", "oak"), Decision("drawer_count", 1)], "drawer1_height", 10)
    assert not explanation.possible
    assert "height-finish-1" in {r.rule_id for r in explanation.rules}


def expected_total(config: dict[str, object]) -> Decimal:
    total = Decimal("400.00")
    for i in range(1, int(config["drawer_count"]) + 1):  # type: ignore[call-overload]
        total += Decimal(FRONT[(config[f"drawer{i}_height"], config["finish"])])  # type: ignore[index]
    return total


def test_prices_sum_the_instances_lookup_tables(catalog: Catalog) -> None:
    cabinet = catalog.product("cabinet")
    for config in VALID:
        assert price(plain_product(cabinet), config).total == expected_total(config), config


def test_derived_values_and_bom_per_instance(catalog: Catalog) -> None:
    cabinet = catalog.product("cabinet")
    for config in VALID:
        values = derived_values(cabinet, config)
        bom = explode(catalog, "cabinet", config)
        runners = sorted(item.item for item in bom.items if item.item.startswith("RUNNER-"))
        expected = []
        for i in range(1, 3):
            extras = config[f"drawer{i}_extras"]
            assert isinstance(extras, frozenset)
            assert values[f"drawer{i}_runner"] == ("soft" if "soft" in extras else "basic")
            assert values[f"drawer{i}_front_price"] == Decimal(FRONT[(config[f"drawer{i}_height"], config["finish"])])  # type: ignore[index]
            if i <= int(config["drawer_count"]):  # type: ignore[call-overload]
                expected.append("RUNNER-SOFT" if "soft" in extras else "RUNNER-BASIC")
        assert runners == sorted(expected)
        lights = sum(item.quantity_per for item in bom.items if item.item == "LIGHT")
        used = range(1, int(config["drawer_count"]) + 1)  # type: ignore[call-overload]
        assert lights == sum("light" in config[f"drawer{i}_extras"] for i in used)  # type: ignore[operator]


def problems(text: str) -> list[str]:
    with pytest.raises(CatalogInvalid) as info:
        load_catalog_text(text, filename="cabinet.yaml", expression_checker=expression_checker)
    return [str(p) for p in info.value.problems]


def position_of(needle: str, text: str) -> tuple[int, int]:
    offset = text.index(needle)
    return text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)


def test_a_table_naming_no_instance_attribute_is_refused_at_its_columns() -> None:
    text = TEXT.replace("table: [height, finish]\n            forbid:", "table: [finish]\n            forbid:")
    text = text.replace("- [30, white]\n", "- [white]\n")
    line, column = position_of("[finish]\n            forbid:", text)
    assert problems(text) == [
        f"cabinet.yaml:{line}:{column}: products[0].repeat[0].rules[0].table: a repeated component's table must "
        "name at least one of its attributes (extras, front_price, height, runner); "
        "a product table belongs in the product's rules"
    ]


def test_a_table_naming_the_count_is_refused() -> None:
    text = TEXT.replace("table: [height, finish]\n            forbid:", "table: [height, drawer_count]\n            forbid:")
    line, column = position_of("[height, drawer_count]", text)
    found = problems(text)
    assert found and found[0].startswith(f"cabinet.yaml:{line}:{column}: products[0].repeat[0].rules[0].table:")
    assert "cannot name drawer_count" in found[0]


def test_a_bad_instance_derived_formula_is_reported_at_the_formula() -> None:
    text = TEXT.replace('if(has(extras, soft), "soft", "basic")', 'if(has(extra, soft), "soft", "basic")')
    line, _ = position_of('if(has(extra, soft)', text)
    found = problems(text)
    assert found and all(p.startswith(f"cabinet.yaml:{line}:") and "extra" in p for p in found), found


def test_a_bad_instance_table_cell_is_reported_in_the_repeat_entry() -> None:
    text = TEXT.replace("- [30, white]\n", "- [35, white]\n")
    line, _ = position_of("[35, white]", text)
    found = problems(text)
    assert found and all(p.startswith(f"cabinet.yaml:{line}:") for p in found), found


def test_an_instance_text_reads_its_own_lookup_table_at_other_keys() -> None:
    # each drawer with a white front dearer than 20.00 at its height (20 or 30 cm) gets a lock
    line = '          - {pos: 50, item: LOCK, qty: "if(lookup(front_price, height, white) > 20, 1, 0)"}\n'
    text = TEXT.replace("          - {pos: 10, item: DRAWER}\n", "          - {pos: 10, item: DRAWER}\n" + line)
    catalog = load_catalog_text(text, filename="cabinet.yaml", expression_checker=expression_checker)
    bom = {b.pos: b for b in catalog.product("cabinet").bom}
    assert bom[5002].qty == "if(lookup(drawer2_front_price, drawer2_height, white) > 20, 1, 0)"
    for config in VALID:
        locks = sum(item.quantity_per for item in explode(catalog, "cabinet", config).items if item.item == "LOCK")
        used = range(1, int(config["drawer_count"]) + 1)  # type: ignore[call-overload]
        expected = sum("lock" in config[f"drawer{i}_extras"] for i in used)  # type: ignore[operator]
        expected += sum(config[f"drawer{i}_height"] >= 20 for i in used)  # type: ignore[operator]
        assert locks == expected, config
