from __future__ import annotations

from decimal import Decimal

import pytest

from bom import (
    BomCycle,
    BomFormulaError,
    IncompleteConfiguration,
    InvalidConfiguration,
    InvalidQuantity,
    ItemKind,
    UnknownItem,
    UnknownOperation,
    UnknownProduct,
    explode,
)
from bom_package.bom_testcatalog import BASE_CONFIG, make_catalog
from catalog.snapshot import BomLine, Label, Module, Part


def _paths(bom):
    return [(i.path, i.item) for i in bom.items]


def test_selects_lines_by_condition_and_nests_module_components(catalog, config):
    bom = explode(catalog, "cargo-bike", config)
    assert _paths(bom) == [
        ("0011", "FRAME-STEEL"),
        ("0020", "WHEEL"),
        ("0020/0010", "RIM"),
        ("0020/0020", "SPOKE"),
        ("0030", "CHAIN"),
        ("0040", "RACK"),
        ("0050", "BELL"),
        ("0051", "LIGHT"),
        ("0060", "SHELF"),
        ("0060/0010", "BOARD"),
        ("0060/0020", "PAINT"),
        ("0060/0030", "BOLT"),
        ("0070", "BOLT"),
    ]
    wheel = bom.item_at("0020")
    assert (wheel.level, wheel.kind, wheel.position) == (1, ItemKind.MODULE, "0020")
    assert [c.item for c in bom.children("0020")] == ["RIM", "SPOKE"]
    assert bom.item_at("0060/0020").level == 2


def test_deselected_lines_are_absent(catalog, config):
    config.update(frame_material="aluminium", rack=False, accessories=frozenset(), shelves=0, gears=1)
    bom = explode(catalog, "cargo-bike", config)
    assert [i.item for i in bom.items if i.level == 1] == ["FRAME-ALU", "WHEEL", "BOLT"]


def test_quantities_multiply_down_the_tree_and_by_order_quantity(catalog, config):
    bom = explode(catalog, "cargo-bike", config, quantity=3)
    spoke = bom.item_at("0020/0020")
    assert spoke.quantity_per == Decimal(32)
    assert spoke.total_quantity == Decimal(32 * 2 * 3)
    assert spoke.total_with_scrap == Decimal("202")  # 192 + 5 % = 201.6, rounded up to whole pieces
    bolt = bom.item_at("0070")
    assert bolt.quantity_per == Decimal(20)  # gears * 2 + 4
    assert bolt.total_with_scrap == Decimal(66)  # 60 + 10 %


def test_module_children_follow_the_module_quantity_including_scrap(catalog, config):
    cat = make_catalog(bom=(BomLine(10, "WHEEL", "2", scrap_pct=Decimal("50")),))
    bom = explode(cat, "cargo-bike", config)
    assert bom.item_at("0010").total_with_scrap == Decimal(3)
    assert bom.item_at("0010/0010").total_quantity == Decimal(3)


def test_configurable_module_receives_params_and_evaluates_its_formulas_in_its_context(catalog, config):
    bom = explode(catalog, "cargo-bike", config)
    shelf = bom.item_at("0060")
    assert shelf.configuration == (("depth", 300), ("finish", "painted"))
    assert shelf.quantity_per == Decimal(2)
    board = bom.item_at("0060/0010")
    assert board.quantity_per == Decimal("0.3")
    assert board.total_quantity == Decimal("0.6")
    assert board.provenance.inputs == (("depth", 300),)
    paint = bom.item_at("0060/0020")
    assert paint.provenance.condition == "finish == painted"
    assert paint.total_quantity == Decimal("0.3")


def test_raw_shelves_get_no_paint(catalog, config):
    config["finish"] = "raw"
    bom = explode(catalog, "cargo-bike", config)
    assert [c.item for c in bom.children("0060")] == ["BOARD", "BOLT"]


def test_module_rule_violation_names_the_rule_and_the_module_occurrence(catalog, config):
    config.update(shelf_depth=400, finish="painted")
    with pytest.raises(InvalidConfiguration) as info:
        explode(catalog, "cargo-bike", config)
    assert info.value.rule_ids == ("painted-max-depth",)
    assert "0060 SHELF" in info.value.where


def test_product_rule_violation_lists_the_violated_rule(catalog, config):
    config.update(frame_material="steel", gears=11)
    with pytest.raises(InvalidConfiguration) as info:
        explode(catalog, "cargo-bike", config)
    assert info.value.reason == "invalid_configuration"
    assert "steel-gears" in info.value.rule_ids


def test_incomplete_configuration_names_every_missing_attribute(catalog):
    with pytest.raises(IncompleteConfiguration) as info:
        explode(catalog, "cargo-bike", {"frame_material": "steel", "gears": 3})
    assert info.value.missing == ("rack", "accessories", "shelves", "shelf_depth", "finish")
    assert "rack" in str(info.value)


@pytest.mark.parametrize(
    ("change", "culprit"),
    [
        ({"gears": 13}, "gears"),
        ({"frame_material": "carbon"}, "frame_material"),
        ({"rack": "yes"}, "rack"),
        ({"accessories": frozenset({"horn"})}, "accessories"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_values_outside_their_domain_are_rejected(catalog, config, change, culprit):
    config.update(change)
    with pytest.raises(InvalidConfiguration) as info:
        explode(catalog, "cargo-bike", config)
    assert culprit in info.value.rule_ids


def test_set_values_may_be_given_as_lists(catalog, config):
    config["accessories"] = ["lights"]
    bom = explode(catalog, "cargo-bike", config)
    assert "BELL" not in [i.item for i in bom.items]
    assert bom.configuration[3] == ("accessories", ("lights",))


@pytest.mark.parametrize(
    ("qty", "problem"),
    [
        ("gears - 10", "negative"),
        ("gears / (shelves - 2)", "division by zero"),
    ],
)
def test_bad_quantity_formula_names_product_line_item_and_formula(config, qty, problem):
    cat = make_catalog(bom=(BomLine(10, "FRAME-ALU", "1"), BomLine(20, "BOLT", qty)))
    with pytest.raises(BomFormulaError) as info:
        explode(cat, "cargo-bike", config)
    err = info.value
    assert (err.owner, err.pos, err.item, err.formula) == ("cargo-bike", 20, "BOLT", qty)
    assert problem in str(err)


def test_non_numeric_quantity_is_a_formula_error(config):
    cat = make_catalog(bom=(BomLine(10, "BOLT", "rack"),))
    with pytest.raises(BomFormulaError) as info:
        explode(cat, "cargo-bike", config)
    assert info.value.formula == "rack"


def test_zero_quantity_drops_the_line(config):
    cat = make_catalog(bom=(BomLine(10, "BOLT", "if(rack, 0, 2)"),))
    assert explode(cat, "cargo-bike", config).items == ()


def test_non_terminating_quantity_is_rounded_but_totals_stay_exact(config):
    cat = make_catalog(bom=(BomLine(10, "PAINT", "1 / 3"),))
    bom = explode(cat, "cargo-bike", config, quantity=3)
    line = bom.items[0]
    assert line.quantity_per == Decimal("0.333333")
    assert line.total_quantity == Decimal(1)


def test_unknown_item_is_reported_with_its_line(config):
    cat = make_catalog(bom=(BomLine(10, "BOLT", "1"), BomLine(20, "NOPE", "1")))
    with pytest.raises(UnknownItem) as info:
        explode(cat, "cargo-bike", config)
    assert (info.value.owner, info.value.pos, info.value.item) == ("cargo-bike", 20, "NOPE")


def test_op_link_to_a_missing_operation_is_an_error(config):
    cat = make_catalog(bom=(BomLine(10, "BOLT", "1", op=99),))
    with pytest.raises(UnknownOperation):
        explode(cat, "cargo-bike", config)


def test_module_cycle_is_detected(config):
    loop_a = Module("LOOP-A", Label("A"), components=(BomLine(10, "LOOP-B"),))
    loop_b = Module("LOOP-B", Label("B"), components=(BomLine(10, "LOOP-A"),))
    cat = make_catalog(bom=(BomLine(10, "LOOP-A"),), modules=(loop_a, loop_b))
    with pytest.raises(BomCycle) as info:
        explode(cat, "cargo-bike", config)
    assert info.value.chain == ("cargo-bike", "LOOP-A", "LOOP-B", "LOOP-A")


def test_unknown_product_and_bad_order_quantity(catalog, config):
    with pytest.raises(UnknownProduct):
        explode(catalog, "unicycle", config)
    with pytest.raises(InvalidQuantity):
        explode(catalog, "cargo-bike", config, quantity=0)


def test_flat_parts_sum_every_occurrence_with_scrap(catalog, config):
    bom = explode(catalog, "cargo-bike", config)
    bolts = next(p for p in bom.parts if p.item == "BOLT")
    # 2 shelves x 4 bolts + (8 * 2 + 4) bolts with 10 % scrap
    assert bolts.total_quantity == Decimal(28)
    assert bolts.total_with_scrap == Decimal(30)
    assert bolts.paths == ("0060/0030", "0070")
    assert [p.item for p in bom.parts] == sorted(p.item for p in bom.parts)


def test_costs_roll_up_from_parts_to_modules_to_the_order(catalog, config):
    bom = explode(catalog, "cargo-bike", config)
    wheel = bom.item_at("0020")
    rim, spoke = bom.children("0020")
    assert rim.cost == Decimal(80)  # 2 rims x 40
    assert spoke.cost == Decimal("34")  # 64 spokes + 5 % = 67.2, so 68 whole spokes x 0.50
    assert wheel.cost == rim.cost + spoke.cost
    assert bom.total_cost == sum((p.cost for p in bom.parts), Decimal(0))
    assert bom.total_cost == sum((i.cost for i in bom.items if i.level == 1), Decimal(0))
    # Two bikes share the scrap allowance: 134.4 spokes are 135 whole ones, not 2 x 68.
    assert explode(catalog, "cargo-bike", config, quantity=2).total_cost == 2 * bom.total_cost - Decimal("0.50")


def test_pieces_are_rounded_up_after_scrap_and_continuous_units_keep_decimals():
    from catalog.snapshot import Catalog, Product

    catalog = Catalog(
        "units", Label("Units"), "CNY",
        parts=(Part("CELL", Label("21700 cell"), cost=Decimal("1")),
               Part("CABLE", Label("Cable"), uom="m", cost=Decimal("2")),
               Part("DOOR", Label("Door"), uom="set")),
        modules=(Module("PACK", Label("Pack"), components=(BomLine(10, "CELL", "30", scrap_pct=Decimal("1")),)),),
        products=(Product("p", Label("P"), Decimal(0), (), bom=(
            BomLine(10, "PACK", "1"),
            BomLine(20, "CABLE", "1.85", scrap_pct=Decimal("3")),
            BomLine(30, "DOOR", "2.4"),
            BomLine(40, "CELL", "4"),
        )),),
    )
    bom = explode(catalog, "p", {})
    cells = bom.item_at("0010/0010")
    assert (cells.total_quantity, cells.total_with_scrap) == (Decimal(30), Decimal(31))  # 30.3 -> 31 cells
    cable = bom.item_at("0020")
    assert cable.total_with_scrap == Decimal("1.9055")  # metres keep their decimals
    door = bom.item_at("0030")
    assert (door.total_quantity, door.total_with_scrap) == (Decimal(3), Decimal(3))  # 2.4 sets -> 3
    flat = {p.item: p for p in bom.parts}
    assert flat["CELL"].total_with_scrap == Decimal(35)  # the sum of the whole-piece lines: 31 + 4
    assert flat["CELL"].cost == Decimal(35)


def test_provenance_records_condition_and_the_values_read(catalog, config):
    bom = explode(catalog, "cargo-bike", config)
    bell = bom.item_at("0050")
    assert bell.provenance.condition == "has(accessories, bell)"
    assert bell.provenance.inputs == (("accessories", ("bell", "lights")),)
    shelf = bom.item_at("0060")
    assert shelf.provenance.inputs == (("finish", "painted"), ("shelf_depth", 300), ("shelves", 2))


def test_unknown_module_parameter_is_a_formula_error(config):
    cat = make_catalog(bom=(BomLine(10, "SHELF", "1", params=(("width", "shelf_depth"),)),))
    with pytest.raises(BomFormulaError) as info:
        explode(cat, "cargo-bike", config)
    assert "width" in str(info.value)


def test_module_attributes_not_passed_take_their_defaults(config):
    cat = make_catalog(bom=(BomLine(10, "SHELF", "1"),))
    bom = explode(cat, "cargo-bike", config)
    assert bom.items[0].configuration == (("depth", 300), ("finish", "raw"))


def test_explosion_is_deterministic(catalog):
    a = explode(catalog, "cargo-bike", BASE_CONFIG)
    b = explode(make_catalog(), "cargo-bike", dict(reversed(list(BASE_CONFIG.items()))))
    assert a == b


def test_extra_part_lookup_uses_the_catalog_given(config):
    cat = make_catalog(extra_parts=(Part("HORN", Label("Horn")),), bom=(BomLine(10, "HORN", "1"),))
    assert explode(cat, "cargo-bike", config).parts[0].item == "HORN"


def test_an_equal_catalog_loaded_again_reuses_the_parsed_formulas():
    from bom.formulas import compiled

    assert compiled(make_catalog()) is compiled(make_catalog())


def test_repeated_explosions_with_different_values_do_not_mix_memoized_lines(catalog, config):
    first = explode(catalog, "cargo-bike", config)
    config["gears"] = 3
    second = explode(catalog, "cargo-bike", config)
    assert first.item_at("0070").quantity_per == 20
    assert second.item_at("0070").quantity_per == 10
    config["gears"] = 8
    assert explode(catalog, "cargo-bike", config) == first


def test_deep_scrap_chains_stay_exact(config):
    from fractions import Fraction

    depth = 12
    modules = tuple(
        Module(
            f"LVL{k}",
            Label(f"Level {k}"),
            components=(
                BomLine(10, f"LVL{k + 1}" if k + 1 < depth else "PAINT", "7 / 4", scrap_pct=Decimal("2.5")),
            ),
        )
        for k in range(depth)
    )
    cat = make_catalog(bom=(BomLine(10, "LVL0", "3", scrap_pct=Decimal("2.5")),), modules=modules)
    bom = explode(cat, "cargo-bike", config)
    exact = Fraction(3) * Fraction(41, 40) * (Fraction(7, 4) * Fraction(41, 40)) ** depth
    paint = bom.items[-1]
    assert paint.item == "PAINT"
    assert Fraction(paint.total_with_scrap) == exact
    assert Fraction(bom.parts[0].cost) == exact * 35


def test_module_attribute_without_default_or_parameter_is_incomplete(config):
    from catalog.snapshot import Attribute, AttributeKind

    box = Module(
        "BOX",
        Label("Box"),
        components=(BomLine(10, "BOLT", "n"),),
        attributes=(Attribute("n", AttributeKind.INT, Label("n"), minimum=1, maximum=4),),
    )
    cat = make_catalog(bom=(BomLine(10, "BOX", "1"),), modules=(box,))
    with pytest.raises(IncompleteConfiguration) as info:
        explode(cat, "cargo-bike", config)
    assert info.value.missing == ("n",)
    assert info.value.where == "cargo-bike / 0010 BOX"
    cat = make_catalog(bom=(BomLine(10, "BOX", "1", params=(("n", "min(gears, 4)"),)),), modules=(box,))
    assert explode(cat, "cargo-bike", config).item_at("0010/0010").quantity_per == 4
