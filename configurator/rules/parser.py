"""Parse rule-language text into the typed AST of ``configurator.rules.ast``.

The grammar (``grammar.lark``) is LALR(1); the parser is loaded once at import
from the tables lark serialized into ``_grammar_tables.py`` (regenerate them with
:func:`write_tables` after editing the grammar; until then the parser is built
from the grammar, only slower to start). AST nodes are built *during* parsing (an embedded transformer), so no step
recurses over the input: hostile, deeply nested text cannot raise
``RecursionError``. Limits (length, bracket depth, tree depth, node count) are
checked before and right after parsing.

>>> parse_expression("frame_material == carbon -> not rack")
Binary(op='->', left=Binary(op='==', left=Name(id='frame_material'), right=Name(id='carbon')), right=Unary(op='not', operand=Name(id='rack')))
>>> parse_expression("gears in {1..3, 8}")
In(operand=Name(id='gears'), items=(Range(low=1, high=3), Int(value=8)), negated=False)
"""

from __future__ import annotations

import hashlib
import importlib
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import lark
from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from configurator.rules.ast import (
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
from configurator.rules.errors import RuleSyntaxError, RuleTooComplex

MAX_LENGTH = 4_000
"""Default limit on the source length, in characters."""
MAX_DEPTH = 64
"""Default limit on bracket nesting and on the depth of the syntax tree."""
MAX_NODES = 2_000
"""Default limit on the number of AST nodes."""

KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false"})

ARITY: dict[str, tuple[int, int | None]] = {
    "count": (1, 2),
    "has": (2, 2),
    "min": (1, None),
    "max": (1, None),
    "abs": (1, 1),
    "ceil": (1, 1),
    "floor": (1, 1),
    "round": (1, 1),
    "if": (3, 3),
    "sum": (2, 2),
    "all": (2, 2),
    "any": (2, 2),
    "lookup": (2, None),
}
"""(minimum, maximum) number of arguments of every function (None: no maximum)."""

assert frozenset(ARITY) == FUNCTIONS


@dataclass(frozen=True, slots=True)
class Limits:
    """Size limits applied to every parsed text."""

    max_length: int = MAX_LENGTH
    max_depth: int = MAX_DEPTH
    max_nodes: int = MAX_NODES


DEFAULT_LIMITS = Limits()


def arity_problem(func: str, nargs: int) -> str | None:
    """Describe what is wrong with calling ``func`` with ``nargs`` arguments, or None.

    >>> arity_problem("has", 1)
    'has() takes 2 arguments, got 1'
    >>> arity_problem("min", 3) is None
    True
    """
    if func not in ARITY:
        return f"unknown function {func!r}; the functions are {', '.join(sorted(FUNCTIONS))}"
    low, high = ARITY[func]
    if nargs >= low and (high is None or nargs <= high):
        return None
    if high is None:
        return f"{func}() takes at least {low} argument{'s' if low > 1 else ''}, got {nargs}"
    if high != low:
        return f"{func}() takes {low} to {high} arguments, got {nargs}"
    return f"{func}() takes {low} argument{'s' if low > 1 else ''}, got {nargs}"


def _unquote(raw: str) -> str:
    body = raw[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            # the lexer only admits \\, \" and \' so the next character is literal
            i += 1
            ch = body[i]
        out.append(ch)
        i += 1
    return "".join(out)


def _pos(node: Expr | Range) -> tuple[int, int]:
    return node.line, node.column


@v_args(inline=True)
class _Build(Transformer[Token, Expr]):
    """Builds AST nodes as the LALR parser reduces (no recursion over the tree)."""

    def binary(self, left: Expr, op: Token, right: Expr) -> Expr:
        line, column = _pos(left)
        return Binary(str(op), left, right, line=line, column=column)

    def unary(self, op: Token, operand: Expr) -> Expr:
        return Unary(str(op), operand, line=op.line or 0, column=op.column or 0)

    def in_(self, operand: Expr, _in: Token, _lb: Token, items: list[Expr | Range], _rb: Token) -> Expr:
        line, column = _pos(operand)
        return In(operand, tuple(items), False, line=line, column=column)

    def not_in(
        self, operand: Expr, _not: Token, _in: Token, _lb: Token, items: list[Expr | Range], _rb: Token
    ) -> Expr:
        line, column = _pos(operand)
        return In(operand, tuple(items), True, line=line, column=column)

    def int_(self, tok: Token) -> Expr:
        return Int(int(tok), line=tok.line or 0, column=tok.column or 0)

    def dec(self, tok: Token) -> Expr:
        return Dec(str(tok), line=tok.line or 0, column=tok.column or 0)

    def true(self, tok: Token) -> Expr:
        return Bool(True, line=tok.line or 0, column=tok.column or 0)

    def false(self, tok: Token) -> Expr:
        return Bool(False, line=tok.line or 0, column=tok.column or 0)

    def string(self, tok: Token) -> Expr:
        return Str(_unquote(str(tok)), line=tok.line or 0, column=tok.column or 0)

    def name(self, tok: Token) -> Expr:
        return Name(str(tok), line=tok.line or 0, column=tok.column or 0)

    def call(self, name: Token, _lp: Token, *rest: Any) -> Expr:
        args: list[Expr] = rest[0] if len(rest) == 2 else []
        problem = arity_problem(str(name), len(args))
        if problem is not None:
            raise RuleSyntaxError(problem, line=name.line or 0, column=name.column or 0)
        return Call(str(name), tuple(args), line=name.line or 0, column=name.column or 0)

    def paren(self, lp: Token, inner: Expr, _rp: Token) -> Expr:
        # a parenthesised expression starts at its "(": report positions there
        return replace(inner, line=lp.line or 0, column=lp.column or 0)

    def args(self, *children: Any) -> list[Expr]:
        return [c for c in children if not isinstance(c, Token)]

    def items(self, *children: Any) -> list[Expr | Range]:
        return [c for c in children if not isinstance(c, Token)]

    def range(self, low: tuple[int, int, int], _dots: Token, high: tuple[int, int, int]) -> Range:
        return Range(low[0], high[0], line=low[1], column=low[2])

    def bound(self, *toks: Token) -> tuple[int, int, int]:
        first = toks[0]
        value = int(toks[-1])
        return (-value if len(toks) == 2 else value), first.line or 0, first.column or 0


_GRAMMAR = Path(__file__).with_name("grammar.lark").read_text(encoding="utf-8")
_GRAMMAR_SHA256 = hashlib.sha256(_GRAMMAR.encode("utf-8")).hexdigest()
_TABLES_MODULE = "configurator.rules._grammar_tables"
_TABLES_FILE = "_grammar_tables.py"


def _build_parser(transformer: Transformer[Token, Expr] | None) -> Lark:
    """Analyse ``grammar.lark`` and build the LALR(1) tables (tens of milliseconds)."""
    return Lark(_GRAMMAR, parser="lalr", lexer="basic", transformer=transformer, maybe_placeholders=False)


def _load_parser(transformer: Transformer[Token, Expr] | None) -> Lark:
    """The parser, from the tables stored with the package when they match this grammar and lark version.

    Loading the stored tables skips the grammar analysis, which dominates the
    start-up of short commands. When the grammar file was edited (or lark
    upgraded) without regenerating the tables, the parser is built from the
    grammar as before: same parser, only slower to start.
    """
    try:
        tables = importlib.import_module(_TABLES_MODULE)
    except ImportError:
        return _build_parser(transformer)
    if tables.GRAMMAR_SHA256 != _GRAMMAR_SHA256 or tables.LARK_VERSION != lark.__version__:
        return _build_parser(transformer)
    return Lark._load_from_dict(tables.DATA, tables.MEMO, transformer=transformer)  # type: ignore[no-untyped-call,no-any-return]


def tables_source() -> str:
    """Python source of the stored parser tables for the current grammar and lark version."""
    from pprint import pformat

    from lark.grammar import Rule
    from lark.lexer import TerminalDef

    data, memo = _build_parser(None).memo_serialize([TerminalDef, Rule])
    return "\n".join(
        [
            '"""LALR(1) tables of ``grammar.lark``, serialized by lark. Generated: do not edit.',
            "",
            "Regenerate after changing the grammar or upgrading lark:",
            "``python -c 'from configurator.rules.parser import write_tables; write_tables()'``.",
            '"""',
            "# ruff: noqa",
            "# fmt: off",
            "from typing import Any",
            "",
            f"GRAMMAR_SHA256 = {_GRAMMAR_SHA256!r}",
            f"LARK_VERSION = {lark.__version__!r}",
            f"DATA: dict[str, Any] = {pformat(data, width=120, sort_dicts=True)}",
            f"MEMO: dict[int, Any] = {pformat(memo, width=120, sort_dicts=True)}",
            "",
        ]
    )


def write_tables() -> Path:
    """Regenerate the stored parser tables next to this module; returns the file written."""
    path = Path(__file__).with_name(_TABLES_FILE)
    path.write_text(tables_source(), encoding="utf-8")
    return path


_LARK = _load_parser(_Build())


@cache
def _plain_parser() -> Lark:
    """A second instance without the transformer, used only to replay text when reporting an error."""
    return _load_parser(None)


# Readable names of terminals, in the order they are listed in messages.
_READABLE: dict[str, str] = {
    "NAME": "a name",
    "INT": "a number",
    "DEC": "a number",
    "STRING": "a quoted value",
    "TRUE": "'true'",
    "FALSE": "'false'",
    "LPAR": "'('",
    "RPAR": "')'",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "COMMA": "','",
    "RANGE": "'..'",
    "SUB": "'-'",
    "ADD": "'+'",
    "MUL": "'*'",
    "DIV": "'/'",
    "CMP": "a comparison",
    "IN": "'in'",
    "NOT": "'not'",
    "AND": "'and'",
    "OR": "'or'",
    "IMP": "'->'",
    "IFF": "'<->'",
    "$END": "end of text",
}
_ORDER = list(dict.fromkeys(_READABLE.values()))
_OPERAND_START = frozenset({"NAME", "INT", "DEC", "STRING", "TRUE", "FALSE", "LPAR"})
_PREFIX = frozenset({"SUB", "NOT"})
_OPERATORS = frozenset({"ADD", "SUB", "MUL", "DIV", "CMP", "IN", "NOT", "AND", "OR", "IMP", "IFF"})


def _readable_expected(terminals: set[str] | frozenset[str]) -> tuple[str, ...]:
    names = {_READABLE.get(t, t) for t in terminals}
    return tuple(sorted(names, key=lambda n: (_ORDER.index(n) if n in _ORDER else len(_ORDER), n)))


def _summary(terminals: set[str] | frozenset[str]) -> str:
    """Short wording of an expected set.

    Operand starters collapse to "a value, a name or '('" and four or more
    operators to "an operator", so messages stay readable.
    """
    rest = set(terminals)
    words: list[str] = []
    if _OPERAND_START <= rest:
        rest -= _OPERAND_START | _PREFIX
        words = ["a value", "a name", "'('"]
    ops = rest & _OPERATORS
    many_ops = len(ops) >= 4
    if many_ops:
        rest -= ops
    end = "$END" in rest
    rest.discard("$END")
    words += [w for w in _readable_expected(rest) if w not in words]
    if many_ops:
        words.append("an operator")
    if end:
        words.append("end of text")
    if not words:
        return "nothing more"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _describe_token(tok: Token | None) -> str:
    if tok is None or tok.type == "$END":
        return "end of text"
    if tok.type == "NAME":
        return f"the name {str(tok)!r}"
    if tok.type in ("INT", "DEC"):
        return f"the number {tok}"
    if tok.type == "STRING":
        return f"the value {tok}"
    return f"'{tok}'"


def _state_at(text: str, pos: int) -> tuple[Token | None, set[str]]:
    """The last token before ``pos`` and the exact set of terminals the parser accepts there.

    Used on the error path only: the prefix ``text[:pos]`` was accepted by the
    parser (lark lexes lazily), so replaying it interactively cannot fail
    unless the error came from inside a transformer callback.
    """
    last: Token | None = None
    try:
        plain = _plain_parser()
        for tok in plain.lex(text[:pos]):
            last = tok
        interactive = plain.parse_interactive(text[:pos])
        interactive.exhaust_lexer()
        accepted = set(interactive.accepts())  # type: ignore[no-untyped-call]
    except UnexpectedInput:
        return last, set()
    if last is not None and last.type == "NAME" and str(last) not in FUNCTIONS:
        # only function names may be followed by "(": do not suggest a call of an attribute
        accepted.discard("LPAR")
    return last, accepted


def _syntax_error(text: str, exc: UnexpectedInput, rule_id: str | None) -> RuleSyntaxError:
    line = exc.line if isinstance(exc.line, int) and exc.line > 0 else 1
    column = exc.column if isinstance(exc.column, int) and exc.column > 0 else 1
    pos = exc.pos_in_stream if isinstance(exc.pos_in_stream, int) else len(text)
    hint = ""
    found = "something unexpected"
    if isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        tok: Token = exc.token
        found = _describe_token(tok)
        if tok.start_pos is not None:
            pos = tok.start_pos
    elif isinstance(exc, UnexpectedCharacters):
        char = text[pos] if pos < len(text) else ""
        found = f"the character {char!r}"
        if char == "#":
            hint = "; comments are not allowed in rules"
        elif char in "\"'":
            hint = "; a quoted value must end on the same line with the same quote"
        elif char in "=!":
            hint = "; comparisons are written ==, !=, <, <=, >, >="
    else:  # end of text (UnexpectedToken on $END; UnexpectedEOF is Earley-only)
        # lark reports end of text at the last token; point just past the text instead
        line, column = _end_position(text)
        pos = len(text)
        found = "end of text"
    before, expected_terms = _state_at(text, pos)
    if isinstance(exc, UnexpectedToken) and before is not None:
        tok = exc.token
        if tok.type == "NAME" and before.type in ("INT", "DEC") and before.end_pos == tok.start_pos:
            hint = f'; a value code that starts with a digit must be quoted: "{before}{tok}"'
        elif tok.type == "CMP" and "CMP" not in expected_terms and "AND" in expected_terms:
            hint = "; comparisons cannot be chained: write a < b and b < c"
        elif tok.type == "RANGE":
            hint = "; a range lo..hi is only allowed inside in {...}"
    after = f" after {_describe_token(before)}" if before is not None else ""
    if not text.strip():
        detail, line, column = "the expression is empty", 1, 1
    elif expected_terms:
        detail = f"expected {_summary(expected_terms)}{after} but found {found}{hint}"
    else:
        detail = f"unexpected {found}{after}{hint}"
    return RuleSyntaxError(
        detail, rule_id=rule_id, line=line, column=column, expected=_readable_expected(expected_terms)
    )


def _end_position(text: str) -> tuple[int, int]:
    line = text.count("\n") + 1
    column = len(text) - (text.rfind("\n") + 1) + 1
    return line, column


def _prescan(text: str, limits: Limits, rule_id: str | None) -> None:
    """Reject over-long or over-nested text before the parser sees it."""
    if len(text) > limits.max_length:
        raise RuleTooComplex(
            f"the expression is {len(text)} characters long; the limit is {limits.max_length}",
            rule_id=rule_id,
            line=1,
            column=1,
        )
    depth = 0
    quote = ""
    line, line_start = 1, 0
    escaped = False
    for i, ch in enumerate(text):
        if quote:
            # brackets inside quoted values do not nest
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote or ch == "\n":
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "({":
            depth += 1
            if depth > limits.max_depth:
                raise RuleTooComplex(
                    f"brackets are nested more than {limits.max_depth} deep",
                    rule_id=rule_id,
                    line=line,
                    column=i - line_start + 1,
                )
        elif ch in ")}":
            depth -= 1
        if ch == "\n":
            line, line_start = line + 1, i + 1


def _children(node: Expr | Range) -> tuple[Expr | Range, ...]:
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, In):
        return (node.operand, *node.items)
    if isinstance(node, Call):
        return node.args
    return ()


def measure(expr: Expr | Range) -> tuple[int, int]:
    """Return (depth, node count) of a tree, iteratively (safe on any depth).

    >>> measure(parse_expression("a and (b or c)"))
    (3, 5)
    """
    depth = count = 0
    stack: list[tuple[Expr | Range, int]] = [(expr, 1)]
    while stack:
        node, d = stack.pop()
        count += 1
        depth = max(depth, d)
        stack.extend((child, d + 1) for child in _children(node))
    return depth, count


def check_limits(
    expr: Expr | Range,
    limits: Limits = DEFAULT_LIMITS,
    rule_id: str | None = None,
    *,
    measured: tuple[int, int] | None = None,
) -> None:
    """Raise :class:`RuleTooComplex` if ``expr`` is deeper or larger than ``limits`` allow.

    ``measured``: ``measure(expr)`` when already known.
    """
    depth, count = measured or measure(expr)
    if depth > limits.max_depth:
        raise RuleTooComplex(
            f"the expression nests operators {depth} deep; the limit is {limits.max_depth}",
            rule_id=rule_id,
            line=expr.line or 1,
            column=expr.column or 1,
        )
    if count > limits.max_nodes:
        raise RuleTooComplex(
            f"the expression has {count} parts; the limit is {limits.max_nodes}",
            rule_id=rule_id,
            line=expr.line or 1,
            column=expr.column or 1,
        )


_CACHED_LENGTH = 512
"""Texts up to this length are parsed once per process: catalogs repeat conditions (``when:``) often."""


@lru_cache(maxsize=2048)
def _parse_cached(text: str) -> tuple[Expr, tuple[int, int]]:
    """The AST of ``text`` (immutable, so shared) and its ``measure``; errors are raised afresh every
    time, never cached."""
    tree: Expr = _LARK.parse(text)  # type: ignore[assignment]  # the embedded transformer returns the AST
    return tree, measure(tree)


def parse_expression(text: str, *, rule_id: str | None = None, limits: Limits = DEFAULT_LIMITS) -> Expr:
    """Parse one expression (rule, condition, formula or parameter).

    Raises :class:`RuleSyntaxError` (or :class:`RuleTooComplex`) with the
    1-based line and column of the problem and what was expected there.

    >>> parse_expression("gears * 40 + 5")
    Binary(op='+', left=Binary(op='*', left=Name(id='gears'), right=Int(value=40)), right=Int(value=5))
    >>> parse_expression("gears ==", rule_id="r1")
    Traceback (most recent call last):
    ...
    configurator.rules.errors.RuleSyntaxError: line 1, column 9: expected a value, a name or '(' after '==' but found end of text
    """
    _prescan(text, limits, rule_id)
    try:
        measured: tuple[int, int] | None = None
        if len(text) <= _CACHED_LENGTH:
            tree, measured = _parse_cached(text)
        else:
            tree = _LARK.parse(text)  # type: ignore[assignment]  # the embedded transformer returns the AST
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc, rule_id) from None
    except RuleSyntaxError as exc:
        exc.rule_id = rule_id
        raise
    expr: Expr = tree
    check_limits(expr, limits, rule_id, measured=measured)
    return expr


__all__ = [
    "ARITY",
    "DEFAULT_LIMITS",
    "KEYWORDS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_NODES",
    "Limits",
    "arity_problem",
    "check_limits",
    "measure",
    "parse_expression",
]
