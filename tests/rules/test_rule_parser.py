"""Parser: golden expressions, precedence, positions, syntax errors and limits."""

from __future__ import annotations

import time

import pytest

from configurator.rules import RuleSyntaxError, RuleTooComplex, parse_expression
from configurator.rules.ast import Binary, Bool, Call, Dec, In, Int, Name, Range, Str, Unary
from configurator.rules.parser import Limits


def n(x: str) -> Name:
    return Name(x)


VALID = [
    ("rack", n("rack")),
    ("not rack", Unary("not", n("rack"))),
    ("frame_material == carbon", Binary("==", n("frame_material"), n("carbon"))),
    ('frame_size != "XL"', Binary("!=", n("frame_size"), Str("XL"))),
    ("frame_size != 'XL'", Binary("!=", n("frame_size"), Str("XL"))),
    (r'x == "a\"b"', Binary("==", n("x"), Str('a"b'))),
    (r"x == 'it\'s'", Binary("==", n("x"), Str("it's"))),
    (r'x == "back\\slash"', Binary("==", n("x"), Str("back\\slash"))),
    ("gears >= 9", Binary(">=", n("gears"), Int(9))),
    ("gears <= 9", Binary("<=", n("gears"), Int(9))),
    ("gears < 9", Binary("<", n("gears"), Int(9))),
    ("gears > 9", Binary(">", n("gears"), Int(9))),
    ("width * 0.35", Binary("*", n("width"), Dec("0.35"))),
    ("3000.00", Dec("3000.00")),
    ("width / 500 + 1", Binary("+", Binary("/", n("width"), Int(500)), Int(1))),
    ("a - b - c", Binary("-", Binary("-", n("a"), n("b")), n("c"))),
    ("true or false", Binary("or", Bool(True), Bool(False))),
    ("a <-> b", Binary("<->", n("a"), n("b"))),
    ("a<->b", Binary("<->", n("a"), n("b"))),
    ("a<-1", Binary("<", n("a"), Unary("-", Int(1)))),
    ("a->b", Binary("->", n("a"), n("b"))),
    ("gears in {1..3, 8}", In(n("gears"), (Range(1, 3), Int(8)))),
    ("gears in { 1 .. 3 }", In(n("gears"), (Range(1, 3),))),
    ("t in {-5..-1}", In(n("t"), (Range(-5, -1),))),
    ("frame_size not in {S, 'M'}", In(n("frame_size"), (n("S"), Str("M")), negated=True)),
    ("count(accessories) <= 2", Binary("<=", Call("count", (n("accessories"),)), Int(2))),
    ("has(accessories, lights)", Call("has", (n("accessories"), n("lights")))),
    ("min(a, b, 3)", Call("min", (n("a"), n("b"), Int(3)))),
    ("max(a)", Call("max", (n("a"),))),
    ("abs(-x)", Call("abs", (Unary("-", n("x")),))),
    (
        "ceil(w / 3) + floor(w / 3) + round(w / 3)",
        Binary(
            "+",
            Binary(
                "+",
                Call("ceil", (Binary("/", n("w"), Int(3)),)),
                Call("floor", (Binary("/", n("w"), Int(3)),)),
            ),
            Call("round", (Binary("/", n("w"), Int(3)),)),
        ),
    ),
    ("if(rack, 1, 0)", Call("if", (n("rack"), Int(1), Int(0)))),
    ("count", n("count")),
    ("android or order", Binary("or", n("android"), n("order"))),
    ("_x1", n("_x1")),
    ("  rack\n  and\n  express  ", Binary("and", n("rack"), n("express"))),
    ("((rack))", n("rack")),
]


@pytest.mark.parametrize(("text", "expected"), VALID, ids=[t for t, _ in VALID])
def test_valid_expressions_parse_to_the_expected_tree(text: str, expected: object) -> None:
    assert parse_expression(text) == expected


PRECEDENCE = [
    ("a -> b -> c", "a -> (b -> c)"),
    ("not a and b", "(not a) and b"),
    ("-x * y", "(-x) * y"),
    ("a or b and c", "a or (b and c)"),
    ("a and b or c", "(a and b) or c"),
    ("a -> b or c", "a -> (b or c)"),
    ("a <-> b -> c", "a <-> (b -> c)"),
    ("a <-> b <-> c", "(a <-> b) <-> c"),
    ("not a == b", "not (a == b)"),
    ("not x in {1}", "not (x in {1})"),
    ("a + b * c", "a + (b * c)"),
    ("a * b + c", "(a * b) + c"),
    ("a / b / c", "(a / b) / c"),
    ("a + b == c * d", "(a + b) == (c * d)"),
    ("--x", "-(-x)"),
    ("not not a", "not (not a)"),
    ("a == b and c != d -> e", "((a == b) and (c != d)) -> e"),
    ("- x + y", "(-x) + y"),
]


@pytest.mark.parametrize(("text", "explicit"), PRECEDENCE)
def test_precedence_and_associativity(text: str, explicit: str) -> None:
    assert parse_expression(text) == parse_expression(explicit)


def test_positions_are_those_of_the_first_token() -> None:
    e = parse_expression("rack and\n  (gears > 3 or not express)")
    assert isinstance(e, Binary)
    assert (e.line, e.column) == (1, 1)
    right = e.right
    assert isinstance(right, Binary)
    assert (right.line, right.column) == (2, 3)  # the "(" of the group
    assert isinstance(right.left, Binary)
    assert (right.left.line, right.left.column) == (2, 4)
    neg = right.right
    assert isinstance(neg, Unary)
    assert (neg.line, neg.column) == (2, 17)
    assert (neg.operand.line, neg.operand.column) == (2, 21)


def test_positions_of_items_ranges_and_calls() -> None:
    e = parse_expression("has(s, v) and g in {1, -3..4}")
    assert isinstance(e, Binary)
    call, member = e.left, e.right
    assert isinstance(call, Call) and (call.line, call.column) == (1, 1)
    assert (call.args[1].line, call.args[1].column) == (1, 8)
    assert isinstance(member, In) and (member.line, member.column) == (1, 15)
    rng = member.items[1]
    assert isinstance(rng, Range) and (rng.line, rng.column) == (1, 24)


INVALID = [
    # text, line, column, expected (subset that must be listed), words in the message
    (
        "gears ==",
        1,
        9,
        {"a name", "a number", "'('"},
        "expected a value, a name or '(' after '==' but found end of text",
    ),
    ("frame_material == carbon and", 1, 29, {"a name", "'not'"}, "after 'and' but found end of text"),
    ("a < b < c", 1, 7, {"'and'", "end of text"}, "comparisons cannot be chained"),
    ("a == b == c", 1, 8, {"'or'"}, "found '=='"),
    ("(rack", 1, 6, {"')'"}, "expected ')' or an operator after the name 'rack' but found end of text"),
    ("rack)", 1, 5, {"end of text"}, "found ')'"),
    ("rack and and express", 1, 10, {"a name"}, "after 'and' but found 'and'"),
    ("rack # comment", 1, 6, {"'and'"}, "comments are not allowed"),
    ("wheel == 700c", 1, 13, {"end of text"}, 'must be quoted: "700c"'),
    ("gears == 1..3", 1, 11, {"end of text"}, "only allowed inside in {...}"),
    ("x in {}", 1, 7, {"a name", "a number"}, "after '{' but found '}'"),
    ("x in {1, }", 1, 10, {"a name"}, "after ',' but found '}'"),
    ("x in 1", 1, 6, {"'{'"}, "found the number 1"),
    ("min(a,)", 1, 7, {"a name"}, "found ')'"),
    ("a = b", 1, 3, {"a comparison"}, "comparisons are written =="),
    ('x == "open', 1, 6, {"a quoted value"}, "must end on the same line"),
    ("rack and\n  express ==\n", 3, 1, {"a name"}, "after '==' but found end of text"),
    ("rack and\n  == 3", 2, 3, {"a name"}, "after 'and' but found '=='"),
    ("", 1, 1, {"a name"}, "the expression is empty"),
    ("   \n ", 1, 1, {"a name"}, "the expression is empty"),
    ("rack express", 1, 6, {"'and'"}, "found the name 'express'"),
    ("1.", 1, 2, {"end of text"}, "the character '.'"),
    ("gears in {1..x}", 1, 14, {"a number"}, "after '..' but found the name 'x'"),
    ("x && y", 1, 3, {"'and'"}, "the character '&'"),
]


@pytest.mark.parametrize(
    ("text", "line", "column", "expected", "words"), INVALID, ids=[t[0] or "empty" for t in INVALID]
)
def test_invalid_expressions_report_position_and_expected(
    text: str, line: int, column: int, expected: set[str], words: str
) -> None:
    with pytest.raises(RuleSyntaxError) as info:
        parse_expression(text, rule_id="r1")
    err = info.value
    assert (err.line, err.column) == (line, column)
    assert expected <= set(err.expected)
    assert words in err.detail
    assert err.rule_id == "r1"
    assert err.reason == "rule_syntax"
    assert str(err).startswith(f"line {line}, column {column}: ")


def test_expected_set_after_comparison_is_exact() -> None:
    with pytest.raises(RuleSyntaxError) as info:
        parse_expression("gears ==")
    assert info.value.expected == ("a name", "a number", "a quoted value", "'true'", "'false'", "'('", "'-'")
    assert (
        info.value.message
        == "line 1, column 9: expected a value, a name or '(' after '==' but found end of text"
    )


def test_attribute_names_are_not_offered_a_call() -> None:
    with pytest.raises(RuleSyntaxError) as info:
        parse_expression("rack express")
    assert "'('" not in info.value.expected


@pytest.mark.parametrize(
    ("text", "column", "words"),
    [
        ("foo(1)", 1, "unknown function 'foo'"),
        ("rack and has(accessories)", 10, "has() takes 2 arguments, got 1"),
        ("count(a, b, c)", 1, "count() takes 1 to 2 arguments, got 3"),
        ("if(a, b)", 1, "if() takes 3 arguments, got 2"),
        ("min()", 1, "min() takes at least 1 argument, got 0"),
        ("abs()", 1, "abs() takes 1 argument, got 0"),
    ],
)
def test_unknown_functions_and_wrong_arity_are_syntax_errors(text: str, column: int, words: str) -> None:
    with pytest.raises(RuleSyntaxError) as info:
        parse_expression(text, rule_id="r9")
    assert info.value.column == column
    assert words in info.value.detail
    assert info.value.rule_id == "r9"


@pytest.mark.parametrize("keyword", ["and", "or", "not", "in", "true", "false"])
def test_keywords_are_not_names(keyword: str) -> None:
    if keyword in ("true", "false"):
        assert parse_expression(keyword) == Bool(keyword == "true")
        with pytest.raises(RuleSyntaxError):
            parse_expression(f"{keyword} = 1")
    else:
        with pytest.raises(RuleSyntaxError):
            parse_expression(f"x == {keyword}")


# --- limits ---------------------------------------------------------------------


def _rejected_quickly(text: str, limits: Limits | None = None) -> RuleTooComplex:
    start = time.perf_counter()
    with pytest.raises(RuleTooComplex) as info:
        if limits is None:
            parse_expression(text, rule_id="big")
        else:
            parse_expression(text, rule_id="big", limits=limits)
    assert time.perf_counter() - start < 2.0
    assert info.value.reason == "rule_too_complex"
    assert info.value.rule_id == "big"
    return info.value


def test_a_100000_character_text_is_rejected_before_parsing() -> None:
    err = _rejected_quickly("a or " * 20_000)
    assert "100000 characters" in err.detail


def test_10000_nested_parentheses_are_rejected() -> None:
    _rejected_quickly("(" * 10_000 + "a" + ")" * 10_000)


def test_deep_brackets_are_caught_by_the_prescan_even_with_a_large_length_limit() -> None:
    err = _rejected_quickly("(" * 10_000 + "a" + ")" * 10_000, Limits(max_length=1_000_000))
    assert "nested more than 64" in err.detail
    assert err.column == 65


def test_brackets_inside_quoted_values_do_not_count_as_nesting() -> None:
    assert parse_expression('x == "' + "(" * 100 + '"') == Binary("==", n("x"), Str("(" * 100))


@pytest.mark.parametrize(
    "text",
    [
        "not " * 900 + "a",
        "-" * 3000 + "x",
        "a -> " * 700 + "b",
        " or ".join(["a"] * 700),
        "1+" * 1500 + "1",
    ],
    ids=["not-chain", "minus-chain", "implication-chain", "or-chain", "sum-chain"],
)
def test_deep_operator_chains_are_rejected_without_recursion_errors(text: str) -> None:
    err = _rejected_quickly(text)
    assert "deep" in err.detail


def test_even_unlimited_deep_input_never_hits_the_recursion_limit() -> None:
    unlimited = Limits(max_length=10**7, max_depth=10**7, max_nodes=10**8)
    # the parser builds the tree while reducing: no Python recursion over the input
    expr = parse_expression("not " * 5000 + "a", limits=unlimited)
    assert isinstance(expr, Unary)


def test_node_count_limit() -> None:
    text = "x in {" + ", ".join(str(i) for i in range(600)) + "}"
    assert isinstance(parse_expression(text), In)
    err = _rejected_quickly(text, Limits(max_nodes=100))
    assert "602 parts" in err.detail  # In + operand + 600 items


def test_depth_limit_is_configurable() -> None:
    text = " + ".join(["a"] * 10)
    assert parse_expression(text, limits=Limits(max_depth=10))
    _rejected_quickly(text, Limits(max_depth=9))
