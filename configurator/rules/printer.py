"""Print an AST back as rule-language text with minimal parentheses.

The printer is iterative (an explicit stack), so it handles trees of any
depth. For every tree the parser can produce, ``parse_expression(to_text(e))
== e``; parentheses appear only where precedence or associativity needs
them.

>>> from configurator.rules.parser import parse_expression
>>> to_text(parse_expression("(a and b) or (c and not (d))"))
'a and b or c and not d'
>>> to_text(parse_expression("a -> (b -> c)"))
'a -> b -> c'
>>> to_text(parse_expression("(a -> b) -> c"))
'(a -> b) -> c'
"""

from __future__ import annotations

from configurator.rules.ast import (
    COMPARISONS,
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

# Binding strength, loosest first (matches grammar.lark).
_BINARY_PREC = {"<->": 1, "->": 2, "or": 3, "and": 4, "+": 7, "-": 7, "*": 8, "/": 8}
_NOT_PREC = 5
_COMPARE_PREC = 6
_NEG_PREC = 9
_ATOM_PREC = 10
_RIGHT_ASSOC = frozenset({"->"})


def _prec(node: Expr | Range) -> int:
    if isinstance(node, Binary):
        return _COMPARE_PREC if node.op in COMPARISONS else _BINARY_PREC.get(node.op, _COMPARE_PREC)
    if isinstance(node, In):
        return _COMPARE_PREC
    if isinstance(node, Unary):
        return _NOT_PREC if node.op == "not" else _NEG_PREC
    if isinstance(node, Int) and node.value < 0:
        return _NEG_PREC
    return _ATOM_PREC


def quote(value: str) -> str:
    """Quote a value code for rule text.

    >>> quote("XL")
    '"XL"'
    >>> quote('say "hi"')
    '\\'say "hi"\\''
    """
    if "\n" in value or "\r" in value:
        raise ValueError(f"a value code cannot contain a line break: {value!r}")
    if '"' in value and "'" not in value:
        return "'" + value.replace("\\", "\\\\") + "'"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _leaf(node: Expr | Range) -> str:
    if isinstance(node, Name):
        return node.id
    if isinstance(node, Int):
        return str(node.value)
    if isinstance(node, Dec):
        return node.text
    if isinstance(node, Bool):
        return "true" if node.value else "false"
    if isinstance(node, Str):
        return quote(node.value)
    if isinstance(node, Range):
        return f"{node.low}..{node.high}"
    if isinstance(node, Call):
        return f"{node.func}()"
    raise TypeError(f"not an expression node: {node!r}")


def _wrap(text: str, parens: bool) -> str:
    return f"({text})" if parens else text


def _combine(node: Expr | Range, texts: dict[int, str]) -> str:
    if isinstance(node, Binary):
        p = _prec(node)
        lp, rp = _prec(node.left), _prec(node.right)
        if node.op in COMPARISONS:
            left_parens = lp <= p
            right_parens = rp <= p
        elif node.op in _RIGHT_ASSOC:
            left_parens = lp <= p
            right_parens = rp < p
        else:
            left_parens = lp < p
            right_parens = rp <= p
        left = _wrap(texts[id(node.left)], left_parens)
        right = _wrap(texts[id(node.right)], right_parens)
        return f"{left} {node.op} {right}"
    if isinstance(node, Unary):
        operand = texts[id(node.operand)]
        if node.op == "not":
            return "not " + _wrap(operand, _prec(node.operand) < _NOT_PREC)
        return "-" + _wrap(operand, _prec(node.operand) < _NEG_PREC)
    if isinstance(node, In):
        operand = _wrap(texts[id(node.operand)], _prec(node.operand) <= _COMPARE_PREC)
        items = ", ".join(texts[id(item)] for item in node.items)
        return f"{operand} {'not in' if node.negated else 'in'} {{{items}}}"
    if isinstance(node, Call):
        return f"{node.func}({', '.join(texts[id(a)] for a in node.args)})"
    return _leaf(node)


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


def to_text(expr: Expr | Range) -> str:
    """Render ``expr`` as rule-language text.

    >>> from configurator.rules.ast import Binary, Int, Name, Unary
    >>> to_text(Binary("*", Unary("-", Name("x")), Binary("+", Name("y"), Int(1))))
    '-x * (y + 1)'
    """
    texts: dict[int, str] = {}
    # post-order over an explicit stack: children are rendered before parents
    stack: list[tuple[Expr | Range, bool]] = [(expr, False)]
    while stack:
        node, expanded = stack.pop()
        if id(node) in texts:
            continue
        children = _children(node)
        if expanded or not children:
            texts[id(node)] = _combine(node, texts)
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in children)
    return texts[id(expr)]


__all__ = ["quote", "to_text"]
