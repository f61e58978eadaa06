"""Read UVL (Universal Variability Language) files with the maintained ANTLR grammar (``uvlparser``).

Syntax errors are collected from the lexer and the parser (ANTLR recovers and
keeps going), so one run reports every problem with its line and column.
Imports and includes of other model files are not followed: a model that uses
them is reported as a problem at the ``imports`` keyword.

>>> fm = parse_uvl("features\\n\\tBike\\n\\t\\toptional\\n\\t\\t\\tBell {Price 2.5}\\n", "bike.uvl")
>>> fm.root.name, [f.name for f in fm.features()], fm.root.groups[0].children[0].attributes[0].number
('Bike', ['Bike', 'Bell'], Fraction(5, 2))
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

from antlr4 import CommonTokenStream, InputStream
from antlr4.error.ErrorListener import ErrorListener

from catalog.featuremodels.model import (
    Aggregate,
    Binary,
    Const,
    CrossTreeConstraint,
    Feature,
    FeatureAttribute,
    FeatureGroup,
    FeatureModel,
    Formula,
    Nary,
    Not,
    Ref,
)
from catalog.files.problems import CatalogInvalid, Problem
from catalog.snapshot import SourceLoc

_CARDINALITY = re.compile(r"\[\s*(\d+)\s*(?:\.\.\s*(\d+|\*)\s*)?\]")


class _Collect(ErrorListener):  # type: ignore[misc,unused-ignore]
    def __init__(self, filename: str) -> None:
        super().__init__()
        self.filename = filename
        self.problems: list[Problem] = []

    def syntaxError(  # noqa: N802 - ANTLR's callback name
        self, recognizer: Any, offending: Any, line: int, column: int, msg: str, e: Any
    ) -> None:
        self.problems.append(Problem(self.filename, line, column + 1, "", f"UVL syntax error: {msg}"))


def parse_uvl(text: str, filename: str = "<string>") -> FeatureModel:
    """Parse UVL text into a :class:`FeatureModel`; ``CatalogInvalid`` lists every problem."""
    from uvl.UVLCustomLexer import UVLCustomLexer
    from uvl.UVLPythonParser import UVLPythonParser

    listener = _Collect(filename)
    lexer = UVLCustomLexer(InputStream(text.removeprefix("\ufeff")))
    lexer.removeErrorListeners()
    lexer.addErrorListener(listener)
    parser = UVLPythonParser(CommonTokenStream(lexer))
    parser.removeErrorListeners()
    parser.addErrorListener(listener)
    tree = parser.featureModel()
    if listener.problems:
        raise CatalogInvalid(listener.problems)
    return _Reader(filename).model(tree)


class _Reader:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[Problem] = []

    def loc(self, ctx: Any) -> SourceLoc:
        token = ctx.start if hasattr(ctx, "start") else ctx.symbol
        return SourceLoc(self.filename, token.line, token.column + 1)

    def problem(self, ctx: Any, message: str) -> None:
        where = self.loc(ctx)
        self.problems.append(Problem(self.filename, where.line, where.column, "", message))

    def model(self, tree: Any) -> FeatureModel:
        for kind in ("imports", "includes"):
            ctx = getattr(tree, kind)()
            if ctx is not None:
                self.problem(ctx, f"UVL {kind} of other model files are not supported; merge the models into one file")
        features = tree.features()
        if features is None or features.feature() is None:
            self.problems.append(Problem(self.filename, 1, 1, "", "the model has no 'features' section"))
            raise CatalogInvalid(self.problems)
        root = self.feature(features.feature())
        constraints: list[CrossTreeConstraint] = []
        section = tree.constraints()
        if section is not None:
            for line in section.constraintLine():
                ctx = line.constraint()
                constraints.append(CrossTreeConstraint(self.constraint(ctx), _source(ctx), self.loc(ctx)))
        if self.problems:
            raise CatalogInvalid(self.problems)
        namespace = tree.namespace()
        name = _reference(namespace.reference()) if namespace is not None else root.name
        return FeatureModel(name, root, tuple(constraints), "uvl", self.filename)

    # -- the tree

    def feature(self, ctx: Any) -> Feature:
        name = _reference(ctx.reference())
        type_ctx = ctx.featureType()
        ftype = type_ctx.getText() if type_ctx is not None else None
        if ftype == "Boolean":
            ftype = None
        cardinality = None
        if ctx.featureCardinality() is not None:
            cardinality = _cardinality(ctx.featureCardinality().CARDINALITY().getText())
        attributes: list[FeatureAttribute] = []
        abstract = False
        if ctx.attributes() is not None:
            for attr in ctx.attributes().attribute():
                value_attr = attr.valueAttribute()
                if value_attr is None:
                    self.problem(attr, "constraints declared inside feature attributes are not supported")
                    continue
                key = _id(value_attr.key().id_())
                value = value_attr.value()
                if key == "abstract" and (value is None or value.getText() == "true"):
                    abstract = True
                    continue
                attributes.append(_attribute(key, value))
        groups = tuple(self.group(g) for g in ctx.group())
        return Feature(name, self.loc(ctx.reference()), abstract, ftype, cardinality, tuple(attributes), groups)

    def group(self, ctx: Any) -> FeatureGroup:
        kind = type(ctx).__name__.removesuffix("GroupContext").lower()
        children = tuple(self.feature(f) for f in ctx.groupSpec().feature())
        low, high = 0, None
        if kind == "cardinality":
            low, high = _cardinality(ctx.CARDINALITY().getText())
            if high is not None and high < low:
                self.problem(ctx, f"group cardinality [{low}..{high}]: the upper bound is below the lower bound")
        return FeatureGroup(kind, children, low, high, self.loc(ctx))

    # -- constraints

    def constraint(self, ctx: Any) -> Formula:
        kind = type(ctx).__name__
        if kind == "LiteralConstraintContext":
            return self.reference(ctx.reference())
        if kind == "ParenthesisConstraintContext":
            return self.constraint(ctx.constraint())
        if kind == "NotConstraintContext":
            return Not(self.constraint(ctx.constraint()))
        if kind == "EquationConstraintContext":
            eq = ctx.equation()
            return Binary(
                _EQUATIONS[type(eq).__name__], self.expression(eq.expression(0)), self.expression(eq.expression(1))
            )
        op = _CONNECTIVES.get(kind)
        if op is None:
            self.problem(ctx, f"unsupported UVL constraint {ctx.getText()!r}")
            return Const(True)
        left, right = (self.constraint(c) for c in ctx.constraint())
        if op in ("and", "or"):
            return Nary(op, _flatten(op, left) + _flatten(op, right))
        return Binary(op, left, right)

    def reference(self, ctx: Any) -> Ref:
        parts = [_id(i) for i in ctx.id_()]
        if len(parts) == 1:
            return Ref(parts[0], None, self.loc(ctx))
        # Namespaced names (Sub.Feature.attr) are not followed: the last part is the attribute.
        return Ref(".".join(parts[:-1]), parts[-1], self.loc(ctx))

    def expression(self, ctx: Any) -> Formula:  # noqa: C901 - one branch per grammar alternative
        kind = type(ctx).__name__
        if kind == "ExpressionContext":
            return self.expression(ctx.additiveExpression())
        if kind in ("MultiplicativeExprContext",):
            return self.expression(ctx.multiplicativeExpression())
        if kind == "PrimaryExpressionExpressionContext":
            return self.expression(ctx.primaryExpression())
        if kind in _ARITHMETIC:
            children = [c for c in ctx.getChildren() if hasattr(c, "getRuleIndex")]
            return Binary(_ARITHMETIC[kind], self.expression(children[0]), self.expression(children[1]))
        if kind == "BracketExpressionContext":
            return self.expression(ctx.expression())
        if kind in ("IntegerLiteralExpressionContext", "FloatLiteralExpressionContext"):
            return Const(Fraction(ctx.getText()))
        if kind == "StringLiteralExpressionContext":
            return Const(ctx.getText()[1:-1])
        if kind == "LiteralExpressionContext":
            return self.reference(ctx.reference())
        if kind == "AggregateFunctionExpressionContext":
            return self.aggregate(ctx.aggregateFunction())
        self.problem(ctx, f"unsupported UVL expression {ctx.getText()!r}")
        return Const(Fraction(0))

    def aggregate(self, ctx: Any) -> Formula:
        inner = next(c for c in ctx.getChildren() if hasattr(c, "getRuleIndex"))
        while type(inner).__name__ in ("NumericAggregateFunctionContext", "StringAggregateFunctionContext"):
            inner = next(c for c in inner.getChildren() if hasattr(c, "getRuleIndex"))
        kind = type(inner).__name__.removesuffix("AggregateFunctionContext").lower()
        found = inner.reference()
        contexts = found if isinstance(found, list) else [found]
        if kind in ("sum", "avg"):
            refs = [".".join(_id(i) for i in r.id_()) for r in contexts]
            feature = refs[0] if len(refs) == 2 else None
            return Aggregate(kind, attribute=refs[-1], feature=feature)
        return Aggregate(kind, argument=self.reference(contexts[0]))


_CONNECTIVES = {
    "AndConstraintContext": "and",
    "OrConstraintContext": "or",
    "ImplicationConstraintContext": "->",
    "EquivalenceConstraintContext": "<->",
}
_EQUATIONS = {
    "EqualEquationContext": "==",
    "NotEqualsEquationContext": "!=",
    "LowerEquationContext": "<",
    "LowerEqualsEquationContext": "<=",
    "GreaterEquationContext": ">",
    "GreaterEqualsEquationContext": ">=",
}
_ARITHMETIC = {
    "AddExpressionContext": "+",
    "SubExpressionContext": "-",
    "MulExpressionContext": "*",
    "DivExpressionContext": "/",
}


def _flatten(op: str, f: Formula) -> tuple[Formula, ...]:
    return f.operands if isinstance(f, Nary) and f.op == op else (f,)


def _id(ctx: Any) -> str:
    text: str = ctx.getText()
    return text[1:-1] if text.startswith('"') and text.endswith('"') else text


def _reference(ctx: Any) -> str:
    return ".".join(_id(i) for i in ctx.id_())


def _cardinality(text: str) -> tuple[int, int | None]:
    """``[1..3]`` -> (1, 3); ``[2]`` -> (2, 2); ``[1..*]`` -> (1, None).

    >>> _cardinality("[1..*]"), _cardinality("[2]")
    ((1, None), (2, 2))
    """
    m = _CARDINALITY.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"not a cardinality: {text!r}")
    low = int(m.group(1))
    if m.group(2) is None:
        return low, low
    return low, None if m.group(2) == "*" else int(m.group(2))


def _attribute(key: str, value: Any) -> FeatureAttribute:
    if value is None:
        return FeatureAttribute(key, "true")
    text = _source(value)
    number: Fraction | None = None
    if value.INTEGER() is not None or value.FLOAT() is not None:
        number = Fraction(value.getText())
    return FeatureAttribute(key, text, number)


def _source(ctx: Any) -> str:
    """The text of ``ctx`` as written (with its spaces), from the input stream."""
    stream = ctx.start.getInputStream()
    return str(stream.getText(ctx.start.start, ctx.stop.stop))
