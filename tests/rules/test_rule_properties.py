"""Property tests: print/parse round trips and robustness on arbitrary text."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from configurator.rules import KEYWORDS, RuleSyntaxError, parse_expression, to_text
from configurator.rules.ast import (
    COMPARISONS,
    FUNCTIONS,
    Binary,
    Bool,
    Call,
    Dec,
    Expr,
    In,
    Int,
    Name,
    Range,
    Str,
    Unary,
)
from configurator.rules.parser import ARITY

SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True).filter(lambda s: s not in KEYWORDS)
values = st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\n\r"), max_size=8)
leaves: st.SearchStrategy[Expr] = st.one_of(
    names.map(Name),
    st.integers(min_value=0, max_value=10**12).map(Int),
    st.from_regex(r"[0-9]{1,4}\.[0-9]{1,3}", fullmatch=True).map(Dec),
    st.booleans().map(Bool),
    values.map(Str),
)
ranges = st.tuples(st.integers(-50, 50), st.integers(-50, 50)).map(lambda t: Range(*t))
OPERATORS = sorted(COMPARISONS | {"+", "-", "*", "/", "and", "or", "->", "<->"})


def _calls(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    def build(func: str) -> st.SearchStrategy[Expr]:
        low, high = ARITY[func]
        return st.lists(children, min_size=low, max_size=high if high is not None else low + 2).map(
            lambda args: Call(func, tuple(args))
        )

    return st.sampled_from(sorted(FUNCTIONS)).flatmap(build)


def _extend(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    return st.one_of(
        st.tuples(st.sampled_from(OPERATORS), children, children).map(lambda t: Binary(*t)),
        st.tuples(st.sampled_from(["not", "-"]), children).map(lambda t: Unary(*t)),
        st.tuples(children, st.lists(st.one_of(children, ranges), min_size=1, max_size=3), st.booleans()).map(
            lambda t: In(t[0], tuple(t[1]), t[2])
        ),
        _calls(children),
    )


# structurally arbitrary trees: the grammar, not the type checker, decides what is well-formed
trees = st.recursive(leaves, _extend, max_leaves=25)


@SETTINGS
@given(trees)
def test_printing_then_parsing_gives_the_same_tree(tree: Expr) -> None:
    text = to_text(tree)
    parsed = parse_expression(text)
    assert parsed == tree
    assert to_text(parsed) == text  # printing is stable


@SETTINGS
@given(st.text(max_size=200))
def test_arbitrary_text_only_ever_raises_rule_syntax_errors(text: str) -> None:
    try:
        parse_expression(text)
    except RuleSyntaxError as err:
        assert err.line >= 1 and err.column >= 1
        assert err.detail


TOKENS = [
    "a",
    "rack",
    "gears",
    "x_1",
    "count",
    "has",
    "min",
    "if",
    "foo",
    "1",
    "42",
    "0.5",
    "3000.00",
    '"XL"',
    "'m'",
    "true",
    "false",
    "and",
    "or",
    "not",
    "in",
    "->",
    "<->",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "(",
    ")",
    "{",
    "}",
    ",",
    "..",
    "#",
    "=",
    "!",
    '"',
    "\n",
    "700c",
]


@SETTINGS
@given(st.lists(st.sampled_from(TOKENS), max_size=40), st.sampled_from([" ", "", "  "]))
def test_token_soups_only_ever_raise_rule_syntax_errors(tokens: list[str], sep: str) -> None:
    text = sep.join(tokens)
    try:
        expr = parse_expression(text)
    except RuleSyntaxError as err:
        assert 1 <= err.line <= text.count("\n") + 1
        assert 1 <= err.column <= len(text) + 1
        return
    # whatever parses prints back to an equivalent text
    assert parse_expression(to_text(expr)) == expr


@SETTINGS
@given(st.text(alphabet=string.printable, max_size=300))
def test_printable_text_never_escapes_as_another_error(text: str) -> None:
    try:
        parse_expression(text)
    except RuleSyntaxError:
        pass
