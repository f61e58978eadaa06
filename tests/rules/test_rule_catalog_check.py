"""Whole-product and whole-catalog checks, and the loader's expression callback."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.snapshot import (
    Attribute,
    AttributeKind,
    BomLine,
    Catalog,
    Label,
    Module,
    Operation,
    PriceRule,
    PriceTable,
    Product,
    Rule,
    SourceLoc,
)
from configurator.rules import check_catalog, check_module, check_product, expression_checker

from .bike_attributes import BIKE_ATTRIBUTES, choices

FINISH = Attribute("finish", AttributeKind.ENUM, Label("Finish"), choices=choices("matte", "gloss"))
DEPTH = Attribute("depth", AttributeKind.INT, Label("Depth"), minimum=200, maximum=600, step=100)
SHELF = Module(
    "SHELF",
    Label("Shelf"),
    components=(BomLine(10, "BOARD", qty="depth / 100", when="finish == matte"),),
    operations=(Operation(10, Label("Cut"), "SAW", run_min="depth / 50"),),
    attributes=(FINISH, DEPTH),
    rules=(Rule("deep-gloss", Label("m"), text="depth > 400 -> finish == glossy"),),
)
WHEEL = Module("WHEEL", Label("Wheel"))


def _product(**over: object) -> Product:
    fields: dict[str, object] = {
        "code": "city-bike",
        "name": Label("City bike"),
        "base_price": Decimal("1999.00"),
        "attributes": BIKE_ATTRIBUTES,
    }
    fields.update(over)
    return Product(**fields)  # type: ignore[arg-type]


GOOD = _product(
    rules=(
        Rule("carbon-no-rack", Label("m"), text="frame_material == carbon -> not rack"),
        Rule(
            "t", Label("m"), columns=("frame_material", "gears"), rows=(("carbon", (11, 12)), ("steel", "*"))
        ),
    ),
    prices=(
        PriceRule("carbon", Label("Carbon"), when="frame_material == carbon", add="3000.00"),
        PriceRule("gears", Label("Gears"), add="gears * 40"),
        PriceRule("express", Label("Express"), when="express", percent="10"),
        PriceRule(
            "size",
            Label("Size"),
            table=PriceTable(("frame_material", "frame_size"), ((("carbon", "XL"), Decimal("500")),)),
        ),
    ),
    bom=(
        BomLine(10, "FRAME", qty="1", when="frame_material == aluminium and frame_size == M", op=10),
        BomLine(20, "SHELF", qty="width / 400", params=(("depth", "gears * 100"), ("finish", "matte"))),
    ),
    routing=(
        Operation(10, Label("Weld"), "WELD", setup_min="15", run_min="30", when="frame_material != carbon"),
    ),
)


def test_a_clean_product_has_no_problems() -> None:
    assert check_product(GOOD, modules=(SHELF, WHEEL)) == []


def test_every_problem_of_a_product_is_returned_with_its_place() -> None:
    loc = SourceLoc("bikes.yaml", 40, 7)
    product = _product(
        rules=(
            Rule(
                "r1", Label("m"), text="frame_material == titanium", text_loc=SourceLoc("bikes.yaml", 12, 15)
            ),
            Rule("r2", Label("m"), text="rack and", loc=loc),
            Rule("t", Label("m"), columns=("gears",), rows=((13,),), loc=loc),
        ),
        prices=(
            PriceRule("p", Label("P"), when="gears", add="rack", loc=loc),
            PriceRule("q", Label("Q"), table=PriceTable(("frame_size",), ((("XXL",), Decimal("1")),))),
        ),
        bom=(
            BomLine(10, "FRAME", qty="1.5 +", when="rak"),
            BomLine(20, "SHELF", params=(("depht", "1"), ("finish", "shiny"))),
            BomLine(30, "WHEEL", params=(("x", "1"),)),
        ),
        routing=(Operation(10, Label("Weld"), "WELD", setup_min="rack", run_min="gears *", when="1"),),
    )
    found = [e.describe() for e in check_product(product, modules=(SHELF, WHEEL))]
    assert found == [
        "bikes.yaml:12:33: rule r1: line 1, column 19: 'titanium' is not a value of frame_material "
        "(values: aluminium, steel, carbon); it is not an attribute either",
        "bikes.yaml:40:7: rule r2: line 1, column 9: expected a value, a name or '(' after 'and' but found end of text",
        "bikes.yaml:40:7: rule t: row 1, column gears: 13 is not a value of gears (1..12 step 1)",
        "bikes.yaml:40:7: price p (when): line 1, column 1: a condition needs true or false, but gears is a number; "
        "compare it, e.g. gears > 0",
        "bikes.yaml:40:7: price p (add): line 1, column 1: a formula needs numbers, but rack is true or false; "
        "use if(rack, 1, 0) to count it as a number",
        "price q (table): row 1, column frame_size: 'XXL' is not a value of frame_size (values: S, M, L, XL); "
        "did you mean 'XL'?",
        "bom line 10 (FRAME) when: line 1, column 1: unknown name 'rak': it is not an attribute of this product; "
        "did you mean 'rack'?",
        "bom line 10 (FRAME) qty: line 1, column 6: expected a value, a name or '(' after '+' but found end of text",
        "bom line 20 (SHELF), param depht: 'depht' is not an attribute of module SHELF (attributes: finish, depth); "
        "did you mean 'depth'?",
        "bom line 20 (SHELF), param finish: line 1, column 1: 'shiny' is not a value of finish (values: matte, gloss); "
        "it is not an attribute either",
        "bom line 30 (WHEEL) (params): params are given but WHEEL is not a configurable module",
        "operation 10 when: line 1, column 1: a condition needs true or false, but 1 is a number; compare it, e.g. 1 > 0",
        "operation 10 setup_min: line 1, column 1: a formula needs numbers, but rack is true or false; "
        "use if(rack, 1, 0) to count it as a number",
        "operation 10 run_min: line 1, column 8: expected a value, a name or '(' after '*' but found end of text",
    ]


def test_errors_carry_rule_ids_reasons_and_positions() -> None:
    product = _product(rules=(Rule("r1", Label("m"), text="gears and\n rak"),))
    errs = check_product(product)
    assert [(e.reason, e.rule_id, e.line, e.column) for e in errs] == [
        ("rule_type", "r1", 1, 1),
        ("unknown_reference", "r1", 2, 2),
    ]


def test_module_checks_use_the_module_attributes() -> None:
    found = [e.describe() for e in check_module(SHELF)]
    assert found == [
        "module SHELF: rule deep-gloss: line 1, column 26: 'glossy' is not a value of finish (values: matte, gloss); "
        "did you mean 'gloss'?"
    ]


def test_check_catalog_lists_readable_lines() -> None:
    catalog = Catalog("c", Label("C"), "CNY", parts=(), modules=(SHELF, WHEEL), products=(GOOD,))
    assert check_catalog(catalog) == [
        "module SHELF: rule deep-gloss: line 1, column 26: 'glossy' is not a value of finish "
        "(values: matte, gloss); did you mean 'gloss'?"
    ]


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("frame_material == carbon -> not rack", "rule", []),
        ("gears * 40", "formula", []),
        ("3000.00", "add", []),
        ("express", "when", []),
        ("10", "percent", []),
        ("frame_size", "param", []),
        ("gears >", "rule", [(1, 8, "expected a value, a name or '(' after '>' but found end of text")]),
        (
            "rack and\n  frame_material == titanium",
            "condition",
            [
                (
                    2,
                    21,
                    "'titanium' is not a value of frame_material (values: aluminium, steel, carbon); "
                    "it is not an attribute either",
                )
            ],
        ),
        (
            "rack",
            "formula",
            [
                (
                    1,
                    1,
                    "a formula needs numbers, but rack is true or false; use if(rack, 1, 0) "
                    "to count it as a number",
                )
            ],
        ),
    ],
)
def test_expression_checker_returns_positions_relative_to_the_text(
    text: str, kind: str, expected: list[tuple[int, int, str]]
) -> None:
    assert expression_checker(text, kind, BIKE_ATTRIBUTES) == expected


def test_expression_checker_rejects_unknown_kinds() -> None:
    with pytest.raises(ValueError, match="unknown expression kind"):
        expression_checker("1", "price", BIKE_ATTRIBUTES)
