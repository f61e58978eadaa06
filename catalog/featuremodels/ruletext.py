"""A reader for the part of the rule language that feature models use, for the UVL export.

The catalog package may not import the configurator (layering), so the
exporter reads rule texts with this small precedence-climbing parser. It
knows the whole operator table of the rule language (``<->``, ``->``, ``or``,
``and``, ``not``, comparisons and ``in {...}``, ``+ -``, ``* /``, unary ``-``,
calls) and produces plain tuples; what the exporter cannot translate it
reports itself.

>>> parse_rule("a -> if(b, 1, 0) + if(c, 1, 0) == 1")
('bin', '->', ('name', 'a'), ('bin', '==', ('bin', '+', ('call', 'if', (('name', 'b'), ('int', 1), ('int', 0))), ('call', 'if', (('name', 'c'), ('int', 1), ('int', 0)))), ('int', 1)))
"""

from __future__ import annotations

import re
from typing import Any

Node = tuple[Any, ...]

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?(?!\.\d))|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<str>\"[^\"]*\")"
    r"|(?P<op><->|->|==|!=|<=|>=|\.\.|[<>+\-*/(),{}]))"
)
_BINARY = [("<->",), ("->",), ("or",), ("and",)]
_COMPARE = {"==", "!=", "<", "<=", ">", ">="}


class RuleTextError(ValueError):
    """The text is not in the rule language."""


def tokens(text: str) -> list[str]:
    """Split a rule text into tokens.

    >>> tokens('size in {1..3, "XL"}')
    ['size', 'in', '{', '1', '..', '3', ',', '"XL"', '}']
    """
    out: list[str] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise RuleTextError(f"unexpected character {text[pos:].strip()[:1]!r} at offset {pos}")
        out.append(m.group(m.lastgroup or "op"))
        pos = m.end()
    return out


def parse_rule(text: str) -> Node:
    """Parse one expression into nested tuples (see the module docstring)."""
    parser = _Parser(tokens(text))
    node = parser.expr(0)
    if parser.pos != len(parser.toks):
        raise RuleTextError(f"unexpected {parser.toks[parser.pos]!r}")
    return node


class _Parser:
    def __init__(self, toks: list[str]) -> None:
        self.toks = toks
        self.pos = 0

    def peek(self) -> str | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (expected is not None and tok != expected):
            raise RuleTextError(f"expected {expected or 'more'}, found {tok!r}")
        self.pos += 1
        return tok

    def expr(self, level: int) -> Node:
        if level == len(_BINARY):
            return self.negation()
        left = self.expr(level + 1)
        op = _BINARY[level][0]
        if op == "->":  # right-associative
            if self.peek() == "->":
                self.take()
                return ("bin", "->", left, self.expr(level))
            return left
        while self.peek() == op:
            self.take()
            left = ("bin", op, left, self.expr(level + 1))
        return left

    def negation(self) -> Node:
        if self.peek() == "not":
            self.take()
            return ("not", self.negation())
        return self.comparison()

    def comparison(self) -> Node:
        left = self.sum()
        tok = self.peek()
        if tok in _COMPARE:
            self.take()
            return ("bin", tok, left, self.sum())
        negated = False
        if tok == "not" and self.pos + 1 < len(self.toks) and self.toks[self.pos + 1] == "in":
            self.take()
            negated = True
            tok = "in"
        if tok == "in":
            self.take()
            self.take("{")
            items = [self.item()]
            while self.peek() == ",":
                self.take()
                items.append(self.item())
            self.take("}")
            return ("in", left, tuple(items), negated)
        return left

    def item(self) -> Node:
        first = self.sum()
        if self.peek() == "..":
            self.take()
            return ("range", first, self.sum())
        return first

    def sum(self) -> Node:
        left = self.product()
        while self.peek() in ("+", "-"):
            op = self.take()
            left = ("bin", op, left, self.product())
        return left

    def product(self) -> Node:
        left = self.factor()
        while self.peek() in ("*", "/"):
            op = self.take()
            left = ("bin", op, left, self.factor())
        return left

    def factor(self) -> Node:
        if self.peek() == "-":
            self.take()
            return ("neg", self.factor())
        return self.atom()

    def atom(self) -> Node:
        tok = self.take()
        if tok == "(":
            node = self.expr(0)
            self.take(")")
            return node
        if tok[0].isdigit():
            return ("dec", tok) if "." in tok else ("int", int(tok))
        if tok.startswith('"'):
            return ("str", tok[1:-1])
        if tok in ("true", "false"):
            return ("bool", tok == "true")
        if re.fullmatch(r"[A-Za-z_]\w*", tok):
            if self.peek() == "(":
                self.take()
                args: list[Node] = []
                if self.peek() != ")":
                    args.append(self.expr(0))
                    while self.peek() == ",":
                        self.take()
                        args.append(self.expr(0))
                self.take(")")
                return ("call", tok, tuple(args))
            return ("name", tok)
        raise RuleTextError(f"unexpected {tok!r}")
