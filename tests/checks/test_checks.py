"""Catalog checks: model checks (configurator.checks) and whole-space BOM checks (bom.checks)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from functools import cache

import pytest

from bom.checks import check_catalog, requirement_findings, violation_text
from catalog.demo import demo_catalog_paths
from catalog.files import CatalogInvalid, dump_catalog, load_catalog_text
from catalog.snapshot import (
    Attribute,
    AttributeKind,
    BomLine,
    BomRequirement,
    Catalog,
    Choice,
    Label,
    Part,
    Product,
    ProductTest,
    Rule,
)
from configurator.checks import Severity, check_product, find_configuration
from configurator.rules import expression_checker

BACKENDS = ["sat", "auto"]


def _enum(code: str, *values: str) -> Attribute:
    return Attribute(
        code, AttributeKind.ENUM, Label(code), choices=tuple(Choice(v, Label(v)) for v in values)
    )


FRAME = _enum("frame", "alu", "steel", "carbon")
RACK = Attribute("rack", AttributeKind.BOOL, Label("rack"))
GEARS = Attribute("gears", AttributeKind.INT, Label("gears"), minimum=1, maximum=6)
EXTRAS = Attribute(
    "extras",
    AttributeKind.SET,
    Label("extras"),
    choices=(Choice("bell", Label("b")), Choice("lock", Label("l"))),
)


def bike(*rules: Rule, tests: tuple[ProductTest, ...] = (), **kwargs: object) -> Product:
    return Product(
        "bike",
        Label("Bike"),
        Decimal("100"),
        (FRAME, RACK, GEARS, EXTRAS),
        rules=rules,
        tests=tests,
        **kwargs,
    )  # type: ignore[arg-type]


def rule(rule_id: str, text: str) -> Rule:
    return Rule(rule_id, Label(rule_id), text=text)


def checks_of(report: object, check: str) -> list[str]:
    return [f.subject for f in report.findings if f.check == check]  # type: ignore[attr-defined]


@pytest.mark.parametrize("backend", BACKENDS)
def test_void_product_is_an_error_naming_the_conflicting_rules(backend: str) -> None:
    report = check_product(
        bike(
            rule("carbon", "frame == carbon"),
            rule("no-carbon", "frame != carbon"),
            rule("other", "gears > 1"),
        ),
        backend=backend,
    )
    (void,) = [f for f in report.findings if f.check == "void_product"]
    assert void.severity is Severity.ERROR
    assert set(void.rules) == {"carbon", "no-carbon"}
    assert report.count == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_dead_and_forced_values_are_reported(backend: str) -> None:
    report = check_product(
        bike(
            rule("no-carbon", "frame != carbon"), rule("bell", "has(extras, bell)"), rule("low", "gears <= 4")
        ),
        backend=backend,
    )
    dead = {f.subject: f.message for f in report.findings if f.check == "dead_value"}
    assert dead.keys() == {"frame=carbon", "gears"}
    assert "5..6" in dead["gears"]
    assert checks_of(report, "forced_value") == ["extras+bell"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_product_without_problems_has_no_warnings(backend: str) -> None:
    report = check_product(bike(rule("carbon-no-rack", "frame == carbon -> not rack")), backend=backend)
    assert report.count == 3 * 2 * 6 * 4 - 6 * 4
    assert [f for f in report.findings if f.severity is not Severity.INFO] == []


def test_redundant_rule_is_found_and_an_independent_one_is_not() -> None:
    report = check_product(
        bike(
            rule("steel-no-rack", "frame == steel -> not rack"),
            rule("rack-alu", "rack -> frame == alu"),  # implies steel-no-rack (and carbon-no-rack)
            rule("few-gears-on-steel", "frame == steel -> gears <= 3"),
        )
    )
    assert checks_of(report, "redundant_rule") == ["steel-no-rack"]


def test_redundancy_is_count_equality() -> None:
    # The definition: removing a redundant rule does not change the number of configurations.
    rules = (
        rule("a", "frame == steel -> not rack"),
        rule("b", "rack -> frame == alu"),
        rule("c", "gears > 2"),
    )
    report = check_product(bike(*rules))
    redundant = set(checks_of(report, "redundant_rule"))
    full = report.count
    for r in rules:
        without = check_product(bike(*(x for x in rules if x is not r))).count
        assert (without == full) == (r.id in redundant), r.id


def test_redundant_table_rule() -> None:
    table = Rule("tbl", Label("tbl"), columns=("frame", "rack"), rows=(("carbon", True),), allow=False)
    report = check_product(bike(rule("no-carbon", "frame != carbon"), table))
    assert checks_of(report, "redundant_rule") == ["tbl"]


def test_golden_tests_pass_and_fail() -> None:
    tests = (
        ProductTest("steel-rack-ok", (("frame", "steel"), ("rack", True)), "accept"),
        ProductTest(
            "carbon-rack-rejected", (("frame", "carbon"), ("rack", True)), "reject", "carbon-no-rack"
        ),
        ProductTest("carbon-rack-wrong-reason", (("frame", "carbon"), ("rack", True)), "reject", "few-gears"),
        ProductTest("carbon-ok-fails", (("frame", "carbon"), ("rack", True)), "accept"),
        ProductTest("alu-rejected-fails", (("frame", "alu"),), "reject"),
        ProductTest("set-values", (("extras", ("bell", "lock")), ("gears", 2)), "accept"),
    )
    report = check_product(
        bike(
            rule("carbon-no-rack", "frame == carbon -> not rack"),
            rule("few-gears", "gears <= 5"),
            tests=tests,
        )
    )
    verdicts = {f.subject: f.severity for f in report.findings if f.check == "golden_test"}
    assert verdicts == {
        "steel-rack-ok": Severity.INFO,
        "carbon-rack-rejected": Severity.INFO,
        "carbon-rack-wrong-reason": Severity.ERROR,
        "carbon-ok-fails": Severity.ERROR,
        "alu-rejected-fails": Severity.ERROR,
        "set-values": Severity.INFO,
    }
    wrong = next(f for f in report.findings if f.subject == "carbon-rack-wrong-reason")
    assert "instead of the expected rule few-gears" in wrong.message
    assert wrong.rules == ("carbon-no-rack",)


def test_count_change_against_previous_version() -> None:
    before = bike()
    after = bike(rule("carbon-no-rack", "frame == carbon -> not rack"))
    report = check_product(after, previous=before)
    (change,) = [f for f in report.findings if f.check == "count_change"]
    assert report.previous_count == 144 and report.count == 120
    assert change.message == "configurations: 144 -> 120 (-24, -16.7%)"


def test_catalog_report_lists_products_added_and_removed() -> None:
    old = Catalog("c", Label("C"), "CNY", (), (), (bike(), dataclasses.replace(bike(), code="old")))
    new = Catalog("c", Label("C"), "CNY", (), (), (bike(), dataclasses.replace(bike(), code="new")))
    report = check_catalog(new, previous=old, backend="sat")
    assert sorted(f.message for f in report.findings) == ["product new is new", "product old is removed"]
    assert report.publishable


# ---------------------------------------------------------------- BOM requirements


PARTS = tuple(
    Part(code, Label(code)) for code in ("FRAME-ALU", "FRAME-STEEL", "FRAME-CARBON", "RACK", "BELL")
)
BOM = (
    BomLine(10, "FRAME-ALU", when="frame == alu"),
    BomLine(20, "FRAME-STEEL", when="frame == steel"),
    BomLine(30, "FRAME-CARBON", when="frame == carbon and not rack"),  # carbon with a rack gets no frame
    BomLine(40, "RACK", when="rack"),
    BomLine(50, "BELL", qty="gears - 2", when="has(extras, bell)"),
)
ONE_FRAME = BomRequirement("one-frame", Label("One frame"), items=("FRAME-*",), exactly=1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_requirement_counter_example_is_a_valid_configuration_breaking_it(backend: str) -> None:
    product = bike(bom=BOM, requires=(ONE_FRAME,))
    (finding,) = requirement_findings(product, backend=backend)
    assert finding.severity is Severity.ERROR
    example = dict(finding.configuration)
    assert example["frame"] == "carbon" and example["rack"] is True
    assert "selects 0 lines (none)" in finding.message


@pytest.mark.parametrize("backend", BACKENDS)
def test_requirement_that_holds_has_no_counter_example(backend: str) -> None:
    product = bike(rule("carbon-no-rack", "frame == carbon -> not rack"), bom=BOM, requires=(ONE_FRAME,))
    (finding,) = requirement_findings(product, backend=backend)
    assert finding.severity is Severity.INFO
    assert "holds for every valid configuration" in finding.message


@pytest.mark.parametrize(
    ("requirement", "broken"),
    [
        (BomRequirement("r", Label("r"), positions=(40, 50), at_most=1), True),  # rack and bell together
        (BomRequirement("r", Label("r"), positions=(40, 50), at_most=2), False),
        (BomRequirement("r", Label("r"), items=("FRAME-A*", "FRAME-S*"), at_least=1), True),  # carbon
        (BomRequirement("r", Label("r"), items=("FRAME-*",), at_least=0, at_most=1), False),
        (BomRequirement("r", Label("r"), items=("NOTHING-*",), exactly=0), False),
    ],
)
def test_requirement_bounds(requirement: BomRequirement, broken: bool) -> None:
    (finding,) = requirement_findings(bike(bom=BOM, requires=(requirement,)), backend="sat")
    assert (finding.severity is Severity.ERROR) == broken


def test_violation_text_counts_selected_lines() -> None:
    assert violation_text([], 1, 1) == "0 != 1"
    assert violation_text([BomLine(1, "A"), BomLine(2, "B", when="x")], 0, 1) == "1 + if((x), 1, 0) > 1"


def test_find_configuration_proves_by_absence() -> None:
    product = bike(rule("r", "gears <= 3"))
    assert find_configuration(product, extra_rules=[rule("x", "gears > 3")], backend="sat") is None
    example = find_configuration(product, extra_rules=[rule("x", "gears == 3 and rack")], backend="sat")
    assert example is not None and dict(example)["gears"] == 3


def test_negative_quantity_is_found_on_the_whole_space() -> None:
    catalog = Catalog("c", Label("C"), "CNY", PARTS, (), (bike(bom=BOM),))
    report = check_catalog(catalog, backend="sat")
    (bad,) = [f for f in report.all_findings() if f.check == "bom_quantity"]
    assert bad.subject == "bike:50" and bad.severity is Severity.ERROR
    example = dict(bad.configuration)
    assert example["gears"] < 2 and "bell" in example["extras"]
    assert not report.publishable


def test_quantity_that_rules_keep_positive_passes() -> None:
    product = bike(rule("bell-gears", "has(extras, bell) -> gears >= 2"), bom=BOM)
    report = check_catalog(Catalog("c", Label("C"), "CNY", PARTS, (), (product,)), backend="sat")
    assert [f for f in report.all_findings() if f.check == "bom_quantity"] == []


def test_unknown_bom_item_is_an_error() -> None:
    product = bike(bom=(BomLine(10, "FRAME-ALU"), BomLine(20, "GHOST")))
    report = check_catalog(Catalog("c", Label("C"), "CNY", PARTS, (), (product,)), backend="sat")
    (item,) = [f for f in report.all_findings() if f.check == "bom_item"]
    assert "GHOST" in item.message and not report.publishable


# ---------------------------------------------------------------- demo catalogs


@cache
def demo(name: str) -> Catalog:
    (path,) = [p for p in demo_catalog_paths() if p.name == name]
    return load_catalog_text(
        path.read_text(encoding="utf-8"), filename=str(path), expression_checker=expression_checker
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", ["city-bikes.yaml", "wardrobes.yaml"])
def test_demo_catalogs_pass_every_check(name: str) -> None:
    catalog = demo(name)
    report = check_catalog(catalog, previous=catalog)
    assert report.errors == ()
    requirements = [f for f in report.all_findings() if f.check == "bom_requirement"]
    assert len(requirements) == sum(len(p.requires) for p in catalog.products) >= 5
    assert all(f.severity is Severity.INFO for f in requirements)
    assert all(f.message.endswith("(+0, +0.0%)") for f in report.all_findings() if f.check == "count_change")


@pytest.mark.parametrize("name", ["city-bikes.yaml", "wardrobes.yaml"])
def test_demo_requirements_have_no_counter_example(name: str) -> None:
    for product in demo(name).products:
        assert product.requires
        assert [f.message for f in requirement_findings(product) if f.severity is not Severity.INFO] == []


def test_weakened_demo_requirement_gets_a_counter_example() -> None:
    product = demo("city-bikes.yaml").product("city-ebike")
    chain_only = BomRequirement("chain-only", Label("chain"), items=("CHAIN-*",), exactly=1)
    (finding,) = requirement_findings(dataclasses.replace(product, requires=(chain_only,)))
    assert finding.severity is Severity.ERROR
    assert dict(finding.configuration)["belt_drive"] is True


# ---------------------------------------------------------------- the file format


REQUIRES_FILE = """\
format: c2m-catalog/1
code: shop
name: Shop
currency: CNY
parts:
  - {code: FRAME-A, name: A}
  - {code: FRAME-B, name: B}
products:
  - code: p
    name: P
    base_price: "1"
    attributes:
      - {code: big, name: Big, type: bool}
    bom:
      - {pos: 10, item: FRAME-A, when: big}
      - {pos: 20, item: FRAME-B, when: not big}
    requires:
      - {id: one-frame, items: ["FRAME-*"], exactly: 1, message: {en: One frame, zh-CN: 一个车架}}
      - {id: pos, positions: [10, 20], at_least: 1, at_most: 1, message: One}
"""


def test_requires_round_trips_through_the_file_format() -> None:
    catalog = load_catalog_text(REQUIRES_FILE)
    (one, pos) = catalog.products[0].requires
    assert (one.items, one.exactly, one.message.zh_CN) == (("FRAME-*",), 1, "一个车架")
    assert (pos.positions, pos.bounds()) == ((10, 20), (1, 1))
    assert one.loc is not None and one.loc.line == 18
    assert load_catalog_text(dump_catalog(catalog)) == catalog
    assert load_catalog_text(dump_catalog(catalog, "json")) == catalog


def test_catalog_without_requires_dumps_without_the_key() -> None:
    text = REQUIRES_FILE.split("    requires:")[0]
    assert "requires" not in dump_catalog(load_catalog_text(text))


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            '{id: r, items: ["GHOST-*"], exactly: 1, message: m}',
            "'GHOST-*' matches no item of the product's bom",
        ),
        ("{id: r, positions: [30], exactly: 1, message: m}", "the bom has no position 30; positions: 10, 20"),
        ("{id: r, exactly: 1, message: m}", "names BOM lines with 'items'"),
        ("{id: r, items: [FRAME-A], exactly: 1, at_most: 2, message: m}", "not both"),
        ("{id: r, items: [FRAME-A], message: m}", "needs 'exactly', 'at_least' or 'at_most'"),
        (
            "{id: r, items: [FRAME-A], at_least: 3, at_most: 2, message: m}",
            "at_least 3 is greater than at_most 2",
        ),
        ("{id: r, items: [frame-a], exactly: 1, message: m}", "not a valid item code pattern"),
        ("{id: r, items: [FRAME-A], exactly: -1, message: m}", "must be at least 0"),
        ("{id: r, items: [FRAME-A], exactly: 1, mesage: m}", "unknown key 'mesage'"),
    ],
)
def test_bad_requirement_is_reported_at_its_line(entry: str, message: str) -> None:
    text = REQUIRES_FILE.split("    requires:")[0] + f"    requires:\n      - {entry}\n"
    with pytest.raises(CatalogInvalid) as caught:
        load_catalog_text(text, filename="shop.yaml")
    (problem,) = [p for p in caught.value.problems if message in p.message]
    assert problem.line == 18 and problem.field.startswith("products[0].requires[0]")
