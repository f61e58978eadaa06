"""The stored LALR tables: current for the grammar, and the same parser as one built from the grammar."""

from __future__ import annotations

import lark
import pytest

from configurator.rules import parser
from configurator.rules.errors import RuleSyntaxError

TEXTS = [
    "frame == carbon -> not rack",
    "gears in {1..3, 8, -2..-1} and not (a or b) <-> c",
    "count(extras) >= 2 or has(extras, 'light')",
    "if(rack, 40, 0) + gears * 1.5 / 2 - -1",
    'size not in {"S", "M"}',
    "max(a, b, 3) < min(c)",
]
BAD = ["gears ==", "a < b < c", "1..3", "f(", "x # y", "'open", "(a", "a b", "3x", ""]


def test_the_stored_tables_match_the_grammar() -> None:
    from configurator.rules import _grammar_tables as tables

    assert tables.GRAMMAR_SHA256 == parser._GRAMMAR_SHA256, (
        "grammar.lark changed: regenerate the tables with "
        "python -c 'from configurator.rules.parser import write_tables; write_tables()'"
    )
    # lark numbers LALR states in hash order, so regenerated tables differ in text from run to run;
    # the tests below compare the behaviour of the loaded parser with a freshly built one instead.
    assert "GRAMMAR_SHA256" in parser.tables_source()


def test_the_parser_in_use_was_loaded_from_the_stored_tables() -> None:
    from configurator.rules import _grammar_tables as tables

    if tables.LARK_VERSION != lark.__version__:
        pytest.skip(f"tables stored with lark {tables.LARK_VERSION}, installed {lark.__version__}")
    assert parser._LARK.source_path == "<deserialized>"


@pytest.mark.parametrize("text", TEXTS)
def test_loaded_and_built_parsers_give_the_same_tree(text: str) -> None:
    built = parser._build_parser(parser._Build())
    assert parser._LARK.parse(text) == built.parse(text)


@pytest.mark.parametrize("text", BAD)
def test_errors_are_the_same_with_either_parser(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(RuleSyntaxError) as loaded:
        parser.parse_expression(text)
    monkeypatch.setattr(parser, "_LARK", parser._build_parser(parser._Build()))
    monkeypatch.setattr(parser, "_plain_parser", lambda: parser._build_parser(None))
    with pytest.raises(RuleSyntaxError) as built:
        parser.parse_expression(text)
    assert str(loaded.value) == str(built.value)
    assert (loaded.value.line, loaded.value.column) == (built.value.line, built.value.column)
