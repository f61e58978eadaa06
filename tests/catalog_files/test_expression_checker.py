"""The validator hands every rule-language text to the expression checker and
maps the checker's positions back into the file."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from catalog.files import CatalogInvalid, load_catalog_text
from catalog.snapshot import Attribute

HEAD = "format: c2m-catalog/1\ncode: shop\nname: Shop\ncurrency: CNY\n"


class FlagBogus:
    """A checker that reports every occurrence of the word ``bogus``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, tuple[str, ...]]] = []

    def __call__(self, text: str, kind: str, attributes: Sequence[Attribute]) -> list[tuple[int, int, str]]:
        self.calls.append((text, kind, tuple(a.code for a in attributes)))
        found = []
        for number, line in enumerate(text.split("\n"), start=1):
            column = line.find("bogus")
            if column >= 0:
                found.append((number, column + 1, f"unknown name 'bogus' ({kind})"))
        return found


def _problems(text: str, checker: FlagBogus, filename: str = "shop.yaml") -> list[tuple[int, int, str]]:
    with pytest.raises(CatalogInvalid) as caught:
        load_catalog_text(text, filename=filename, expression_checker=checker)
    return [(p.line, p.column, p.message) for p in caught.value.problems]


PRODUCT = (
    HEAD
    + """parts: [{code: SEAT, name: Seat}]
modules:
  - code: BASKET
    name: Basket
    attributes: [{code: depth, name: Depth, type: int, min: 1, max: 3}]
    rules: [{id: m1, rule: depth > bogus, message: M}]
    components: [{item: SEAT, qty: "depth * bogus"}]
products:
  - code: chair
    name: Chair
    base_price: 1
    attributes: [{code: arms, name: Arms, type: bool}, {code: legs, name: Legs, type: int, min: 3, max: 4}]
    rules:
      - {id: plain, rule: arms -> bogus, message: M}
      - {id: quoted, rule: "arms -> \\"x\\" == bogus", message: M}
      - id: block
        rule: |
          arms ->
            legs == bogus
        message: M
      - id: folded
        rule: >-
          arms
          -> bogus
        message: M
    prices: [{when: bogus, add: "legs * bogus", label: P}]
    bom: [{pos: 10, item: BASKET, qty: bogus, params: {depth: bogus + 1}}]
    routing: [{op: 10, name: Cut, work_center: SAW, setup_min: bogus, run_min: 2}]
"""
)


def test_checker_positions_map_into_the_file_for_every_quoting_style() -> None:
    problems = _problems(PRODUCT, FlagBogus())
    at = {(line, column) for line, column, _ in problems}
    assert (10, 36) in at  # module rule, plain flow scalar
    assert (11, 45) in at  # module qty, double-quoted
    assert (18, 35) in at  # plain
    assert (19, 46) in at  # double-quoted with escaped quotes
    assert (23, 21) in at  # literal block, second line
    assert (28, 14) in at  # folded block, second line
    assert (30, 21) in at and (30, 41) in at  # price when / add
    assert (31, 40) in at and (31, 63) in at  # bom qty / params
    assert (32, 64) in at  # routing setup_min
    assert len(problems) == 11
    assert all("unknown name 'bogus'" in message for _, _, message in problems)


def test_checker_gets_the_kind_and_the_attributes_in_scope() -> None:
    checker = FlagBogus()
    _problems(PRODUCT, checker)
    calls = {(text, kind): scope for text, kind, scope in checker.calls}
    assert calls[("depth > bogus", "rule")] == ("depth",)  # a module's own attributes
    assert calls[("depth * bogus", "formula")] == ("depth",)
    assert calls[("arms -> bogus", "rule")] == ("arms", "legs")
    assert calls[("bogus", "condition")] == ("arms", "legs")
    assert calls[("bogus + 1", "param")] == ("arms", "legs")  # params speak of the parent's attributes
    assert calls[("2", "formula")] == ("arms", "legs")  # numbers are formulas too


def test_checker_positions_in_json_strings() -> None:
    text = (
        '{"format": "c2m-catalog/1", "code": "shop", "name": "Shop", "currency": "CNY",\n'
        ' "products": [{"code": "p", "name": "P", "base_price": "1",\n'
        '   "attributes": [{"code": "a", "name": "A", "type": "bool"}],\n'
        '   "rules": [{"id": "r", "rule": "a -> \\"q\\" == bogus", "message": "M"}]}]}\n'
    )
    assert [(line, column) for line, column, _ in _problems(text, FlagBogus(), "shop.json")] == [(4, 49)]


def test_checker_is_not_called_when_attributes_are_broken() -> None:
    checker = FlagBogus()
    text = HEAD + (
        "products: [{code: p, name: P, base_price: 1,\n"
        "  attributes: [{code: a, name: A, type: colour}], rules: [{id: r, rule: a -> bogus, message: M}]}]\n"
    )
    problems = _problems(text, checker)
    assert checker.calls == [] and len(problems) == 1 and "not one of enum" in problems[0][2]


def test_valid_texts_pass_the_checker() -> None:
    checker = FlagBogus()
    catalog = load_catalog_text(PRODUCT.replace("bogus", "legs"), expression_checker=checker)
    assert catalog.products[0].rules[2].text == "arms ->\n  legs == legs\n"
    assert len(checker.calls) == 12


def test_the_configurator_checker_plugs_in_and_positions_land_on_the_error() -> None:
    catalog_check = pytest.importorskip("configurator.rules.catalog_check")
    text = HEAD + (
        "products:\n"
        "  - code: p\n"
        "    name: P\n"
        "    base_price: 1\n"
        "    attributes: [{code: frame, name: F, type: enum, values: [alu, steel]}, {code: rack, name: R, type: bool}]\n"
        "    rules:\n"
        "      - id: r\n"
        "        rule: |\n"
        "          frame == alu ->\n"
        "            not rakc\n"
        "        message: M\n"
        '    prices: [{when: "frame == steel and (rack", add: 5, label: X}]\n'
    )
    with pytest.raises(CatalogInvalid) as caught:
        load_catalog_text(text, expression_checker=catalog_check.expression_checker)
    positions = [(p.line, p.column, p.field) for p in caught.value.problems]
    assert positions == [(14, 17, "products[0].rules[0].rule"), (16, 46, "products[0].prices[0].when")]


def test_documented_and_test_catalogs_pass_the_configurator_checker() -> None:
    catalog_check = pytest.importorskip("configurator.rules.catalog_check")
    from pathlib import Path

    from catalog.files import load_catalog_file

    full = Path(__file__).resolve().parent / "full_catalog.yaml"
    assert load_catalog_file(full, expression_checker=catalog_check.expression_checker).products
