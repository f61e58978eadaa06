"""The catalog-format examples of repeated components and lookup tables, checked with the rule checker."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from catalog.files import CatalogInvalid, content_hash, dump_catalog, load_catalog_text
from configurator.rules import expression_checker

DOC = Path(__file__).resolve().parents[2] / "docs" / "catalog-format.md"
TEXT = DOC.read_text(encoding="utf-8")
FULL = [m.group(1) for m in re.finditer(r"<!-- example: full -->\n```yaml\n(.*?)```", TEXT, re.DOTALL)]


@pytest.mark.parametrize("body", FULL, ids=[f"example-{i}" for i in range(len(FULL))])
def test_full_examples_check_and_export_as_written(body: str) -> None:
    catalog = load_catalog_text(body, filename="example.yaml", expression_checker=expression_checker)
    text = dump_catalog(catalog)
    again = load_catalog_text(text, expression_checker=expression_checker)
    assert again == catalog and content_hash(again) == content_hash(catalog)
    assert ("repeat:" in body) == ("repeat:" in text)


def cabinet() -> str:
    return next(body for body in FULL if "code: cabinets" in body)


def test_the_unrolled_table_rule_is_the_one_the_text_shows() -> None:
    product = load_catalog_text(cabinet(), expression_checker=expression_checker).product("cabinet")
    rule = next(r for r in product.rules if r.id == "height-finish-2")
    assert rule.columns == ("drawer_count", "drawer2_height", "finish")
    assert rule.rows == (("2..2", "20..30", "*"), ("2..2", 10, "white"), ("0..1", "*", "*"))
    assert "Drawer 2's table rule becomes `table: [drawer_count, drawer2_height, finish]`" in TEXT


def test_the_problem_the_text_shows_is_the_one_reported() -> None:
    body = cabinet().replace("table: [height, finish]\n            allow:", "table: [finish]\n            allow:")
    body = body.replace('- ["20..30", "*"]\n              - [10, white]', "- [white]")
    with pytest.raises(CatalogInvalid) as info:
        load_catalog_text(body, filename="cabinet.yaml", expression_checker=expression_checker)
    [problem] = [str(p) for p in info.value.problems]
    shown = " ".join(TEXT.split("is reported at its place in the `repeat:` entry, e.g.\n")[1].split("`")[1].split())
    assert problem == shown


def test_the_rule_language_quotes_the_constant_key_error() -> None:
    from configurator.rules import check_all, parse_expression
    from tests.rules.test_rule_docs import DOC_ATTRIBUTES

    rules_doc = (DOC.parent / "rule-language.md").read_text(encoding="utf-8")
    quoted = rules_doc.split("it is a\nload error at the lookup (`")[1].split("`)")[0]
    [error] = check_all(parse_expression("lookup(shelf_price, 250, matte)"), DOC_ATTRIBUTES, kind="param")
    assert error.detail == quoted
