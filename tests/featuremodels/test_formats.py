"""Feature-model readers: mapping of small models, and malformed files reported at exact positions."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from catalog.featuremodels import dump_uvl, load_feature_model, parse_feature_model, sanitize, to_catalog
from catalog.files import CatalogInvalid
from configurator import load_product
from configurator.rules import parse_expression
from web.commands import catalog as catalog_commands
from web.commands import db as db_commands


def _problems(data: str, name: str) -> list[str]:
    with pytest.raises(CatalogInvalid) as info:
        to_catalog(parse_feature_model(data.encode(), name))
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "bad.uvl",
            "features\n\tA\n\t\toptional\n\t\t\tB {x 1,\n\t\t\tC\n",
            "bad.uvl:6:1: UVL syntax error: extraneous input '\\n' expecting {'}', ','}",
        ),
        ("ref.uvl", "features\n\tA\n\t\toptional\n\t\t\tB\nconstraints\n\tB => Q\n", "ref.uvl:6:7: constraint names an unknown feature 'Q'"),
        ("bad.xml", "<featureModel><struct><and name='A'>\n</struct></featureModel>", None),
        (
            "noname.xml",
            "<featureModel>\n  <struct>\n    <and name='A'>\n      <feature mandatory='true'/>\n    </and>\n  </struct>\n</featureModel>",
            "noname.xml:4:7: <feature> has no name attribute",
        ),
        (
            "var.xml",
            "<featureModel><struct><feature name='A'/></struct>\n<constraints>\n  <rule><imp><var>A</var>\n"
            "    <var>Zed</var></imp></rule>\n</constraints></featureModel>",
            "var.xml:4:5: constraint names an unknown feature 'Zed'",
        ),
        (
            "bad.sxfm",
            "<feature_model name='m'>\n<feature_tree>\n:r R (r)\n\t:x weird\n</feature_tree>\n</feature_model>\n",
            "bad.sxfm:4:2: expected a feature line (':r', ':m', ':o', ':g' or ':'), found ':x weird'",
        ),
        (
            "clause.sxfm",
            "<feature_model name='m'>\n<feature_tree>\n:r R (r)\n\t:o A (a)\n</feature_tree>\n<constraints>\n"
            "c1: ~a or zz\n</constraints>\n</feature_model>\n",
            "clause.sxfm:7:11: constraint names an unknown feature 'zz'",
        ),
        (
            "group.sxfm",
            "<feature_model name='m'>\n<feature_tree>\n:r R (r)\n\t:g (g) [2,1]\n\t\t: A (a)\n</feature_tree>\n</feature_model>\n",
            "group.sxfm:4:2: group cardinality [2,1]: the upper bound is below the lower bound",
        ),
    ],
)
def test_malformed_files_are_reported_with_file_line_and_column(name: str, text: str, expected: str | None) -> None:
    problems = _problems(text, name)
    if expected is None:
        assert problems and problems[0].startswith(f"{name}:2:") and "XML syntax error" in problems[0]
    else:
        assert expected in problems


def test_xml_entities_are_not_expanded() -> None:
    text = (
        '<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        "<featureModel><struct><feature name='A'/></struct><constraints><rule><var>&x;</var></rule>"
        "</constraints></featureModel>"
    )
    problems = _problems(text, "xxe.xml")
    assert any("names no feature" in p or "unknown feature" in p for p in problems)


def test_sanitized_codes_are_unique_identifiers_and_labels_keep_names() -> None:
    text = 'features\n\t"My Root"\n\t\toptional\n\t\t\t"a-b"\n\t\t\t"a b"\n\t\t\t"or"\n\t\t\t"1st"\n'
    product = to_catalog(parse_feature_model(text.encode(), "n.uvl")).catalog.products[0]
    assert [(a.code, a.label.en) for a in product.attributes] == [
        ("My_Root", "My Root"), ("a_b", "a-b"), ("a_b_2", "a b"), ("or_", "or"), ("f_1st", "1st"),
    ]
    for rule in product.rules:
        assert rule.text is not None
        parse_expression(rule.text, rule_id=rule.id)
    assert sanitize("if") == "if_"


def test_group_cardinality_and_big_groups_keep_the_count_over_feature_selections() -> None:
    members = "\n".join(f"\t\t\t\t\tC{i}" for i in range(40))
    alternatives = "\n".join(f"\t\t\t\t\tA{i}" for i in range(40))
    text = (
        "features\n\tR\n\t\toptional\n\t\t\tY\n\t\t\t\t[2..3]\n" + members
        + "\n\t\t\tX\n\t\t\t\talternative\n" + alternatives + "\n"
    )
    catalog = to_catalog(parse_feature_model(text.encode(), "big.uvl")).catalog
    conf = load_product(catalog, catalog.products[0].code, backend="mdd")
    # Y off or 2..3 of 40; X off or exactly one of 40.
    assert conf.count([]) == (1 + 40 * 39 // 2 + 40 * 39 * 38 // 6) * (1 + 40)
    assert any(v.auxiliary for v in conf.model.variables)


def test_typed_attributes_are_kept_as_metadata_and_written_back() -> None:
    text = "features\n\tP\n\t\toptional\n\t\t\tC {Price 1.50, Organic true}\n\t\t\tInteger Size\n"
    catalog = to_catalog(parse_feature_model(text.encode(), "p.uvl")).catalog
    attr = catalog.products[0].attribute("C")
    assert attr.description is not None and "{Price 1.50, Organic true}" in attr.description.en
    out = dump_uvl(catalog)
    assert "C {Price 1.50, Organic true}" in out and "Integer Size" in out


def test_cli_imports_a_feature_model_and_exports_uvl(database_url: str, tmp_path: Path) -> None:
    main = click.Group("c2m", commands=[*db_commands.COMMANDS, *catalog_commands.COMMANDS])
    model = tmp_path / "lamp.uvl"
    model.write_text("features\n\tLamp\n\t\talternative\n\t\t\tWarm\n\t\t\tCold\n", encoding="utf-8")

    def run(*args: object) -> str:
        result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    run("db", "upgrade", "--url", database_url)
    assert run("catalog", "import", model, "--url", database_url).startswith("imported lamp version 1 (draft), 1 products")
    out = tmp_path / "out.uvl"
    run("catalog", "export", "lamp", "--version", "1", "-o", out, "--url", database_url)
    again = load_feature_model(out)
    assert load_product(again, again.products[0].code, backend="brute").count([]) == 2


def test_product_and_catalog_codes_are_valid_for_any_model_name(tmp_path: Path) -> None:
    """Names such as FeatureIDE's generated 'n_100000__f_100001' give codes the catalog format accepts."""
    from catalog.featuremodels.convert import product_code
    from catalog.files.dump import dump_catalog
    from catalog.files.load import load_catalog_text

    for name in ("n_100000__f_100001", "__", "Ä b_c", "E-Shop", "x" * 80 + "_y"):
        code = product_code(name)
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", code), (name, code)
    text = (
        '<featureModel><struct><and name="n_100000__f_100001"><feature name="A_b"/></and></struct></featureModel>'
    )
    path = tmp_path / "Weird_Name__1.xml"
    path.write_text(text)
    catalog = load_feature_model(path)
    assert catalog.code == "weird-name-1"
    assert catalog.products[0].code == "n-100000-f-100001"
    # The exported catalog file validates (codes included).
    again = load_catalog_text(dump_catalog(catalog), filename="roundtrip.yaml")
    assert again.products[0].code == "n-100000-f-100001"
