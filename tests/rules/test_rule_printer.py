"""Printer: minimal parentheses and exact round trips."""

from __future__ import annotations

import pytest

from configurator.rules import parse_expression, quote, to_text
from configurator.rules.ast import Binary, Int, Name, Str, Unary


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        ("(a and b) or (c and not (d))", "a and b or c and not d"),
        ("a -> (b -> c)", "a -> b -> c"),
        ("(a -> b) -> c", "(a -> b) -> c"),
        ("(a <-> b) <-> c", "a <-> b <-> c"),
        ("a <-> (b <-> c)", "a <-> (b <-> c)"),
        ("a - (b - c)", "a - (b - c)"),
        ("a - (b + c)", "a - (b + c)"),
        ("(a * b) / c", "a * b / c"),
        ("a / (b * c)", "a / (b * c)"),
        ("-(x * y)", "-(x * y)"),
        ("(-x) * y", "-x * y"),
        ("-(-x)", "--x"),
        ("not (a and b)", "not (a and b)"),
        ("not (a == b)", "not a == b"),
        ("(a == b) == c", "(a == b) == c"),
        ("(a < b) != (c < d)", "(a < b) != (c < d)"),
        ("(x + 1) in {1..3, (a + b)}", "x + 1 in {1..3, a + b}"),
        ("(a == b) in {true}", "(a == b) in {true}"),
        ("x not in {'it\\'s'}", 'x not in {"it\'s"}'),
        ("(a or b) and c", "(a or b) and c"),
        ("if(a, (b), c) + min(1, 2.5)", "if(a, b, c) + min(1, 2.5)"),
        ("gears   in{-3..-1}", "gears in {-3..-1}"),
        ("  frame_material=='carbon'->not(rack)", 'frame_material == "carbon" -> not rack'),
    ],
)
def test_printer_emits_minimal_parentheses(text: str, printed: str) -> None:
    expr = parse_expression(text)
    assert to_text(expr) == printed
    assert parse_expression(printed) == expr


def test_printer_keeps_structure_of_hand_built_trees() -> None:
    tree = Binary("*", Unary("-", Name("x")), Binary("+", Name("y"), Int(1)))
    assert to_text(tree) == "-x * (y + 1)"
    assert parse_expression(to_text(tree)) == tree


def test_printer_handles_trees_deeper_than_the_recursion_limit() -> None:
    tree: Binary | Name = Name("a")
    for _ in range(5000):
        tree = Binary("and", tree, Name("b"))
    text = to_text(tree)
    assert text.count(" and ") == 5000 and "(" not in text


@pytest.mark.parametrize(
    ("value", "quoted"),
    [("XL", '"XL"'), ('say "hi"', "'say \"hi\"'"), ("a\\b", '"a\\\\b"'), ('it\'s "x"', '"it\'s \\"x\\""')],
)
def test_quoted_values_parse_back(value: str, quoted: str) -> None:
    assert quote(value) == quoted
    assert parse_expression(quoted) == Str(value)


def test_values_with_line_breaks_cannot_be_printed() -> None:
    with pytest.raises(ValueError, match="line break"):
        to_text(Str("a\nb"))
