"""A desk whose frame and cable tray are configurable modules: the configurator offers exactly
what the order accepts (module bounds, steps and rules are part of the product's model)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from bom.errors import BomError
from bom.explode import explode
from catalog.files import load_catalog_file
from catalog.snapshot import Catalog
from configurator import Configurator, Decision, load_product
from configurator.rules import expression_checker

DESK = Path(__file__).with_name("desk.yaml")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog_file(DESK, expression_checker=expression_checker)


@pytest.fixture(scope="module", params=["mdd", "ddnnf", "sat"])
def conf(request: pytest.FixtureRequest, catalog: Catalog) -> Configurator:
    return load_product(catalog, "desk", catalog_key=f"test-desk-{request.param}", backend=request.param)


def explodes(catalog: Catalog, configuration: dict[str, object]) -> bool:
    try:
        explode(catalog, "desk", configuration)
    except BomError:
        return False
    return True


def every_configuration(catalog: Catalog) -> list[dict[str, object]]:
    product = catalog.product("desk")
    domains = [a.domain() for a in product.attributes]
    codes = [a.code for a in product.attributes]
    return [dict(zip(codes, values, strict=True)) for values in itertools.product(*domains)]


def test_a_wide_desk_with_one_motor_is_not_offered(conf: Configurator) -> None:
    state = conf.state([Decision("width", 1800)])
    assert state.attribute("motors").possible == (2,)
    assert state.attribute("motors").value == 2


def test_the_conflict_names_the_module_rule_with_its_message(conf: Configurator) -> None:
    explanation = conf.explain([Decision("width", 1800)], "motors", 1)
    assert not explanation.possible
    assert [r.rule_id for r in explanation.rules] == ["FRAME/frame-elec"]
    message = explanation.rules[0].message
    assert message.en == "Frames of 1600 mm or more need two motors."
    assert message.get("zh-CN") == "1600 mm 及以上的桌架需要两个电机。"


def test_module_bounds_limit_the_product_and_say_why(conf: Configurator) -> None:
    assert 2100 not in conf.state([]).attribute("width").possible
    explanation = conf.explain([], "width", 2100)
    assert [r.rule_id for r in explanation.rules] == ["FRAME.span"]
    assert (
        explanation.rules[0].message.en
        == "Lifting frame: Span must be an integer 600..2000 in steps of 100 mm."
    )
    assert explanation.rules[0].message.get("zh-CN").startswith("升降桌架：跨度须为")


def test_a_parameter_formula_is_bounded_only_while_its_line_is_selected(conf: Configurator) -> None:
    # The tray gets width - 100 (at most 1800): a 2000 mm desk cannot have one, and may without.
    assert conf.state([Decision("width", 2000)]).attribute("cable_tray").possible == (False,)
    assert conf.state([Decision("cable_tray", False)]).attribute("width").possible[-1] == 2000
    explanation = conf.explain([Decision("width", 2000)], "cable_tray", True)
    assert [r.rule_id for r in explanation.rules] == ["TRAY.length"]


def test_finish_for_me_gives_an_order_that_explodes(conf: Configurator, catalog: Catalog) -> None:
    completed = conf.complete([Decision("width", 1800)])
    assert completed["motors"] == 2
    assert explodes(catalog, completed)


def test_valid_is_exactly_what_explodes(conf: Configurator, catalog: Catalog) -> None:
    everything = every_configuration(catalog)
    valid = [c for c in everything if not conf.validate(c)]
    exploding = [c for c in everything if explodes(catalog, c)]
    assert valid == exploding
    assert conf.count([]) == len(valid) == 66


def test_module_attributes_are_not_choices(conf: Configurator, catalog: Catalog) -> None:
    product = catalog.product("desk")
    state = conf.state([])
    assert [a.code for a in state.attributes] == [a.code for a in product.attributes]
    assert {v.attribute for v in conf.model.variables if not v.auxiliary} == {
        a.code for a in product.attributes
    }


def test_the_documented_desk_is_this_desk_and_behaves_as_documented() -> None:
    import re

    from catalog.files import load_catalog_text

    doc = (Path(__file__).resolve().parents[2] / "docs" / "catalog-format.md").read_text(encoding="utf-8")
    bodies = re.findall(r"<!-- example: full -->\n```yaml\n(.*?)```", doc, re.DOTALL)
    documented = [b for b in bodies if "code: desks" in b]
    assert len(documented) == 1
    desk = load_catalog_text(
        documented[0], filename="catalog-format.md", expression_checker=expression_checker
    )
    assert desk == load_catalog_file(DESK, expression_checker=expression_checker)
    conf = load_product(desk, "desk", catalog_key="test-desk-doc", backend="mdd")
    assert 2100 not in conf.state([]).attribute("width").possible
    assert conf.state([Decision("width", 1800)]).attribute("motors").possible == (2,)
    assert conf.state([Decision("width", 2000)]).attribute("cable_tray").possible == (False,)
    assert conf.state([Decision("cable_tray", False)]).attribute("width").possible[-1] == 2000


def test_the_state_document_lists_module_checks_under_the_attributes_they_read(catalog: Catalog) -> None:
    from usecases.configurations import state_document

    conf = load_product(catalog, "desk", catalog_key="test-desk-document", backend="mdd")
    product = catalog.product("desk")
    document = state_document(conf.state([]), product, "zh-CN", configurator=conf)
    assert [a["code"] for a in document["attributes"]] == [a.code for a in product.attributes]
    rules = {a["code"]: {r["rule_id"]: r["message"] for r in a["rules"]} for a in document["attributes"]}
    assert rules["motors"]["FRAME/frame-elec"] == "1600 mm 及以上的桌架需要两个电机。"
    assert set(rules["width"]) == {"FRAME.span", "FRAME/frame-elec", "TRAY.length"}
    assert set(rules["cable_tray"]) == {"TRAY.length"}


def test_a_derived_attribute_passed_to_a_module_is_checked_through_its_definition() -> None:
    from catalog.files import load_catalog_text

    text = DESK.read_text(encoding="utf-8")
    text = text.replace(
        "      - {code: cable_tray,",
        "      - {code: lift, name: {en: Lift motors, zh-CN: 升降电机}, type: int, min: 1, max: 2,"
        ' derived: "if(width >= 1700, 2, motors)"}\n      - {code: cable_tray,',
    )
    text = text.replace("params: {span: width, motors: motors}", "params: {span: width, motors: lift}")
    desk = load_catalog_text(text, filename="desk-derived.yaml", expression_checker=expression_checker)
    conf = load_product(desk, "desk", catalog_key="test-desk-derived", backend="mdd")
    assert conf.state([Decision("width", 1600)]).attribute("motors").possible == (2,)
    assert conf.state([Decision("width", 1700)]).attribute("motors").possible == (1, 2)
    everything = every_configuration(desk)
    assert [c for c in everything if not conf.validate(c)] == [c for c in everything if explodes(desk, c)]
