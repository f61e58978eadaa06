"""lookup(table, key...): a declared lookup table read at computed keys, exactly, in rules, prices and BOMs."""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path

import pytest

from bom.explode import explode
from catalog.files import CatalogInvalid, load_catalog_file, load_catalog_text
from catalog.snapshot import Catalog
from configurator import Decision, load_product
from configurator.checks import check_product
from configurator.derived import plain_product
from configurator.lookups import lookup_findings
from configurator.pricing import PriceRuleError, price
from configurator.rules import EvaluationError, evaluate, expression_checker
from configurator.rules.lookup import LookupMissing

SHELVES = Path(__file__).with_name("shelves.yaml")
TEXT = SHELVES.read_text(encoding="utf-8")
BOARD = {
    (60, "oak"): "30.00", (80, "oak"): "38.50", (100, "oak"): "47.00", (120, "oak"): "55.50",
    (60, "white"): "22.00", (80, "white"): "28.00", (100, "white"): "34.00", (120, "white"): "40.00",
    (60, "steel"): "45.00", (80, "steel"): "60.00", (100, "steel"): "75.00",
}  # fmt: skip
MAX_LOAD = {"oak": 30, "white": 20, "steel": 40}
BRACKETS = {60: 2, 80: 2, 100: 3, 120: 3}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog_file(SHELVES, expression_checker=expression_checker)


def valid_shelves() -> list[dict[str, object]]:
    """Every valid configuration, from the tables themselves (not from the expanded rules)."""
    out = []
    for width, material, load, spare in itertools.product((60, 80, 100, 120), MAX_LOAD, (10, 20, 30, 40), (False, True)):
        if load <= MAX_LOAD[material] and not (material == "steel" and width > 100):
            out.append({"width": width, "material": material, "load": load, "spare": spare})
    return out


VALID = valid_shelves()


@pytest.mark.parametrize("backend", ["reference", "sat", "brute"])
def test_a_rule_reading_a_lookup_is_exact(catalog: Catalog, backend: str) -> None:
    conf = load_product(catalog, "shelf", catalog_key=f"lookup-{backend}", backend=backend)
    assert conf.count([]) == len(VALID)
    state = conf.state([Decision("material", "white")])
    assert state.attribute("load").possible == (10, 20)
    explanation = conf.explain([Decision("material", "white")], "load", 30)
    assert not explanation.possible and "load-limit" in [r.rule_id for r in explanation.rules]


def test_prices_read_the_table_at_computed_keys_exactly(catalog: Catalog) -> None:
    shelf = plain_product(catalog.product("shelf"))
    for config in VALID:
        width, material = config["width"], config["material"]
        expected = Decimal("50.00") + Decimal(BOARD[(width, material)])  # type: ignore[index]
        if config["spare"]:
            expected += Decimal(BOARD[(max(int(width) - 20, 60), material)])  # type: ignore[call-overload]
        breakdown = price(shelf, config)
        assert breakdown.total == expected, config
        assert all(isinstance(line.amount, Decimal) for line in breakdown.lines)


def test_bom_quantities_read_the_table(catalog: Catalog) -> None:
    for config in VALID:
        bom = explode(catalog, "shelf", config)
        brackets = sum(item.quantity_per for item in bom.items if item.item == "BRACKET")
        assert brackets == BRACKETS[config["width"]] + (1 if config["load"] > 20 else 0)  # type: ignore[index, operator]


def test_a_missing_key_at_run_time_is_a_specific_error(catalog: Catalog) -> None:
    shelf = plain_product(catalog.product("shelf"))
    # steel is not made 120 cm wide (a rule says so): priced anyway, the board price names the table and key
    with pytest.raises(PriceRuleError, match=r"the lookup table board_price has no row for \(120, steel\)"):
        price(shelf, {"width": 120, "material": "steel", "load": 10, "spare": False})
    board = next(p for p in shelf.prices if p.id == "board")
    from configurator.rules import check_expression, parse_expression

    assert board.add is not None
    expr = check_expression(parse_expression(board.add), shelf.attributes, kind="formula")
    with pytest.raises(LookupMissing) as info:
        evaluate(expr, {"width": 120, "material": "steel"})
    assert isinstance(info.value, EvaluationError)


def test_the_catalog_checks_find_no_reachable_missing_key(catalog: Catalog) -> None:
    assert lookup_findings(catalog.product("shelf"), backend="sat") == []


def test_a_reachable_missing_key_is_a_check_error_with_an_example() -> None:
    # without the steel-width rule, a valid steel shelf 120 cm wide reaches the missing board price
    text = TEXT.replace("rule: material == steel -> width <= 100", "rule: material == steel -> width <= 120")
    catalog = load_catalog_text(text, filename="shelves.yaml", expression_checker=expression_checker)
    findings = lookup_findings(catalog.product("shelf"), backend="sat")
    owners = {f.subject for f in findings}
    # the spare board's key max(width - 20, 60) never exceeds 100: its lookup may miss, but no configuration does
    assert owners == {"price board add"}, [f.message for f in findings]
    board = next(f for f in findings if f.subject == "price board add")
    example = dict(board.configuration)
    assert (example["width"], example["material"]) == (120, "steel")
    assert board.message.startswith("price board add: the lookup table board_price has no row for (120, steel), for ")
    assert board.msgid == "lookup_no_row" and board.loc is not None and board.loc.file == "shelves.yaml"
    report = check_product(catalog.product("shelf"), backend="sat")
    assert {f.subject for f in report.findings if f.check == "lookup"} == owners


def test_a_rule_silently_forbidding_a_missing_key_is_found() -> None:
    # the max_load table forgets steel: the load rule would forbid steel altogether
    text = TEXT.replace("            - [steel, 40]\n", "")
    catalog = load_catalog_text(text, filename="shelves.yaml", expression_checker=expression_checker)
    findings = lookup_findings(catalog.product("shelf"), backend="sat")
    rule = [f for f in findings if f.subject == "rule load-limit"]
    assert rule and dict(rule[0].configuration)["material"] == "steel"
    assert "the lookup table max_load has no row for (steel)" in rule[0].message


def problems(text: str) -> list[str]:
    with pytest.raises(CatalogInvalid) as info:
        load_catalog_text(text, filename="shelves.yaml", expression_checker=expression_checker)
    return [str(p) for p in info.value.problems]


def position_of(needle: str, text: str) -> tuple[int, int]:
    offset = text.index(needle)
    return text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("lookup(board_price, 110, material)", "the lookup table board_price has no row for width = 110"),
        ("lookup(board_price, width)", "lookup(board_price, ...) takes 2 keys, one per column of the table "
         "(width, material), got 1"),
        ("lookup(width, material)", "lookup() reads a lookup table: its first argument must be a derived "
         "attribute defined by a table (board_price, brackets, max_load), not width"),
        ("lookup(board_price, material, width)", "lookup(board_price): the key for the column width must be a "
         "number, but material is a choice of material"),
        ("lookup(board_price, width, walnut)", "'walnut' is not a value of material"),
    ],
)
def test_a_wrong_lookup_is_a_load_error_at_its_place(written: str, message: str) -> None:
    text = TEXT.replace("add: lookup(board_price, width, material)", f"add: {written}")
    line, column = position_of(written, text)
    found = problems(text)
    assert found and all(p.startswith(f"shelves.yaml:{line}:") for p in found), found
    assert any(message in p for p in found), found


def test_a_constant_key_is_looked_up_when_the_catalog_is_read(catalog: Catalog) -> None:
    text = TEXT.replace("add: lookup(board_price, width, material)", "add: lookup(board_price, 100, oak)")
    shelf = plain_product(load_catalog_text(text, expression_checker=expression_checker).product("shelf"))
    assert next(p for p in shelf.prices if p.id == "board").add == "47.00"
