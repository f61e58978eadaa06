"""Rule texts parsed once per form (``configurator.build``) give the parser's own trees and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.files import load_catalog_file
from configurator.build import _parsed
from configurator.rules import RuleError, expression_checker, parse_expression

ROOT = Path(__file__).resolve().parents[2]

TEXTS = [
    "a -> b",
    "n_1 and not (x_2 or \"q x\" == y)",
    "if(a, 1, 0) + if(b, 1, 0) <= 1",
    "size in {1..3, \"XL\"} and min(a, b) > 2",
    "c == 'a b' or c == \"it\\\"s\"",
    "count(acc) >= 2 -> has(acc, bell)",
    "_0 -> _1 and _1 -> a",
    "a not in {x, y} <-> true",
    "width * 0.35 + 2 > height / 3",
]

BAD = ["a ->", "a b", "12abc > 1", "min(a", "\"open", "if(a, 1)", "a == == b", "x in {1..}"]


@pytest.mark.parametrize("text", TEXTS)
def test_a_form_gives_the_tree_of_the_text(text: str) -> None:
    assert _parsed(text, "r") == parse_expression(text, rule_id="r")


@pytest.mark.parametrize("text", BAD)
def test_a_bad_text_fails_with_the_parsers_own_error(text: str) -> None:
    with pytest.raises(RuleError) as expected:
        parse_expression(text, rule_id="r")
    with pytest.raises(RuleError) as got:
        _parsed(text, "r")
    assert str(got.value) == str(expected.value)


def test_every_rule_of_the_demo_catalogs_parses_to_the_same_tree() -> None:
    texts = []
    for path in sorted((ROOT / "catalog" / "demo").glob("*.yaml")):
        catalog = load_catalog_file(path, expression_checker=expression_checker)
        texts.extend(r.text for p in catalog.products for r in p.rules if r.text is not None)
    assert texts
    for text in texts:
        assert _parsed(text, "r") == parse_expression(text, rule_id="r"), text
