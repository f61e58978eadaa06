"""Check a parsed expression against a product's attributes.

Checking does two things:

1. **Resolve names.** A bare name that is an attribute code stays a
   :class:`~configurator.rules.ast.Name`. Otherwise, where the name stands for
   a value of an attribute (the other side of ``==``/``!=``, an item of
   ``in {...}``, the second argument of ``has``, a branch of ``if`` compared
   with an attribute) and that attribute has such a value code, it becomes a
   :class:`~configurator.rules.ast.Str`. Anything else is an
   :class:`UnknownReference` (with did-you-mean suggestions) or an
   :class:`UnknownValue` (naming the allowed values).
2. **Type-check.** Enums compare only with their own values (``==``, ``!=``,
   ``in``; never ``<``), arithmetic takes numbers and bools (as 0/1), ``and``/
   ``or``/``not``/``->``/``<->`` take true/false, ``count``/``has`` take set
   attributes, and the whole expression has the kind its place needs: rules
   and conditions are true/false, formulas are numbers.

All problems of one expression are collected: :func:`check_all` returns them,
:func:`check_expression` raises the only one or :class:`RuleSetInvalid`.

>>> from catalog.snapshot import Attribute, AttributeKind, Choice, Label
>>> frame = Attribute("frame_material", AttributeKind.ENUM, Label("Frame"),
...                   choices=(Choice("steel", Label("Steel")), Choice("carbon", Label("Carbon"))))
>>> rack = Attribute("rack", AttributeKind.BOOL, Label("Rack"))
>>> from configurator.rules.parser import parse_expression
>>> check_expression(parse_expression("frame_material == carbon -> not rack"), [frame, rack], kind="rule")
Binary(op='->', left=Binary(op='==', left=Name(id='frame_material'), right=Str(value='carbon')), right=Unary(op='not', operand=Name(id='rack')))
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from catalog.snapshot import Attribute, AttributeKind
from configurator.rules.ast import (
    ARITHMETIC,
    COMPARISONS,
    LOGICAL,
    QUANTIFIERS,
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
from configurator.rules.errors import (
    RuleError,
    RuleSetInvalid,
    RuleTooComplex,
    RuleTypeError,
    UnknownReference,
    UnknownValue,
)
from configurator.rules.lookup import LookupTableError, lookup_tree
from configurator.rules.parser import DEFAULT_LIMITS, Limits, arity_problem, check_limits
from configurator.rules.printer import to_text

KINDS = frozenset({"rule", "condition", "formula", "param"})
"""What an expression is used for: rules/conditions are true/false, formulas numbers, params anything."""

_BOOL_KINDS = frozenset({"rule", "condition"})


@dataclass(frozen=True, slots=True)
class _Type:
    """The static type of a sub-expression."""

    kind: str  # "bool" | "num" | "enum" | "set" | "value" | "error"
    attribute: Attribute | None = None


_BOOL = _Type("bool")
_NUM = _Type("num")
_VALUE = _Type("value")
_ERROR = _Type("error")
_MISS = _Type("miss")
"""The leaf of a key a lookup table does not list: it never evaluates, so it fits any branch."""


def _type_of(attribute: Attribute) -> _Type:
    if attribute.kind is AttributeKind.BOOL:
        return _BOOL
    if attribute.kind in (AttributeKind.INT, AttributeKind.DECIMAL):
        return _NUM
    if attribute.kind is AttributeKind.SET:
        return _Type("set", attribute)
    return _Type("enum", attribute)


def _describe_type(t: _Type) -> str:
    if t.kind == "bool":
        return "true or false"
    if t.kind == "num":
        return "a number"
    if t.kind == "enum" and t.attribute is not None:
        return f"a choice of {t.attribute.code}"
    if t.kind == "set" and t.attribute is not None:
        return f"a set of values of {t.attribute.code}"
    if t.kind == "value":
        return "a value code"
    return "invalid"


def _codes(attribute: Attribute) -> tuple[str, ...]:
    return tuple(c.code for c in attribute.choices)


def _list(codes: Sequence[str], limit: int = 20) -> str:
    shown = ", ".join(codes[:limit])
    return shown + (f" and {len(codes) - limit} more" if len(codes) > limit else "")


def _did_you_mean(suggestions: Sequence[str]) -> str:
    if not suggestions:
        return ""
    return "; did you mean " + " or ".join(repr(s) for s in suggestions) + "?"


def _snippet(expr: Expr) -> str:
    text = to_text(expr)
    return text if len(text) <= 40 else text[:37] + "..."


def _numeric(t: _Type) -> bool:
    """Numbers, and bools counted as 0/1, are allowed in arithmetic."""
    return t.kind in ("num", "bool")


class _Checker:
    def __init__(self, attributes: Sequence[Attribute], kind: str, rule_id: str | None) -> None:
        self.attrs: Mapping[str, Attribute] = {a.code: a for a in attributes}
        self.kind = kind
        self.rule_id = rule_id
        self.errors: list[RuleError] = []

    # -- error helpers -------------------------------------------------

    def type_error(self, node: Expr | Range, detail: str) -> _Type:
        self.errors.append(RuleTypeError(detail, rule_id=self.rule_id, line=node.line, column=node.column))
        return _ERROR

    def expect(self, node: Expr, t: _Type, wanted: str, context: str) -> None:
        """Report unless ``t`` is of kind ``wanted`` ("bool", "numeric" or "number")."""
        if t.kind == "error":
            return
        ok = _numeric(t) if wanted == "numeric" else t.kind == ("num" if wanted == "number" else wanted)
        if ok:
            return
        need = {"bool": "true or false", "numeric": "numbers", "number": "numbers"}[wanted]
        detail = f"{context} needs {need}, but {_snippet(node)} is {_describe_type(t)}"
        if t.kind in ("enum", "set") and wanted == "bool" and t.attribute is not None:
            a = t.attribute
            example = _codes(a)[0] if a.choices else "value"
            if t.kind == "enum":
                detail += f"; compare it with a value, e.g. {a.code} == {example}"
            else:
                detail += f"; use has({a.code}, {example}) or count({a.code})"
        elif t.kind == "num" and wanted == "bool":
            detail += f"; compare it, e.g. {_snippet(node)} > 0"
        elif t.kind == "bool" and wanted == "number":
            detail += f"; use if({_snippet(node)}, 1, 0) to count it as a number"
        self.type_error(node, detail)

    # -- names and values ----------------------------------------------

    def value_like(self, e: Expr) -> bool:
        """True if ``e`` needs a value context to be resolved (a bare non-attribute name, a quoted value)."""
        if isinstance(e, Str):
            return True
        if isinstance(e, Name):
            return e.id not in self.attrs
        if isinstance(e, Call) and e.func == "if" and len(e.args) == 3:
            return self.value_like(e.args[1]) or self.value_like(e.args[2])
        return False

    def name(self, e: Name, ctx: Attribute | None) -> tuple[Expr, _Type]:
        if e.id in self.attrs:
            return e, _type_of(self.attrs[e.id])
        if ctx is not None and e.id in _codes(ctx):
            return Str(e.id, line=e.line, column=e.column), _VALUE
        if ctx is not None:
            return e, self.unknown_value(e, e.id, ctx, quoted=False)
        suggestions = difflib.get_close_matches(e.id, list(self.attrs), n=3)
        detail = f"unknown name {e.id!r}: it is not an attribute of this product"
        owners = [a.code for a in self.attrs.values() if e.id in _codes(a)]
        if owners:
            detail += f"; it is a value of {' and '.join(owners)}, so compare it: {owners[0]} == {e.id}"
        else:
            detail += _did_you_mean(suggestions)
        self.errors.append(
            UnknownReference(
                detail,
                name=e.id,
                suggestions=suggestions,
                rule_id=self.rule_id,
                line=e.line,
                column=e.column,
            )
        )
        return e, _ERROR

    def unknown_value(self, node: Expr, value: str, ctx: Attribute, *, quoted: bool) -> _Type:
        codes = _codes(ctx)
        pool = list(codes) if quoted else [*codes, *self.attrs]
        same_case = [c for c in codes if c.lower() == value.lower()]
        suggestions = list(dict.fromkeys([*same_case, *difflib.get_close_matches(value, pool, n=3)]))[:3]
        detail = f"{value!r} is not a value of {ctx.code} (values: {_list(codes)})"
        if not quoted and not suggestions:
            detail += "; it is not an attribute either"
        detail += _did_you_mean(suggestions)
        self.errors.append(
            UnknownValue(
                detail,
                name=value,
                attribute=ctx.code,
                allowed=codes,
                suggestions=suggestions,
                rule_id=self.rule_id,
                line=node.line,
                column=node.column,
            )
        )
        return _ERROR

    # -- the walk ---------------------------------------------------------

    def visit(self, e: Expr, ctx: Attribute | None = None) -> tuple[Expr, _Type]:
        """Resolve and type ``e``; ``ctx`` is the attribute whose value codes a bare name may be."""
        if isinstance(e, Name):
            return self.name(e, ctx)
        if isinstance(e, Str):
            if ctx is not None and e.value not in _codes(ctx):
                return e, self.unknown_value(e, e.value, ctx, quoted=True)
            return e, _VALUE
        if isinstance(e, Int):
            return e, _NUM
        if isinstance(e, Dec):
            # exact (a fraction), so rules may compare decimal attributes with decimals
            return e, _NUM
        if isinstance(e, Bool):
            return e, _BOOL
        if isinstance(e, Unary):
            return self.unary(e)
        if isinstance(e, Binary):
            return self.binary(e)
        if isinstance(e, In):
            return self.in_(e)
        if isinstance(e, Call):
            return self.call(e, ctx)
        return e, self.type_error(e, f"not an expression: {e!r}")

    def unary(self, e: Unary) -> tuple[Expr, _Type]:
        operand, t = self.visit(e.operand)
        out = Unary(e.op, operand, line=e.line, column=e.column)
        if e.op == "not":
            self.expect(operand, t, "bool", "'not'")
            return out, _BOOL
        if e.op == "-":
            self.expect(operand, t, "numeric", "'-'")
            return out, _NUM
        return out, self.type_error(e, f"unknown operator {e.op!r}")

    def binary(self, e: Binary) -> tuple[Expr, _Type]:
        op = e.op
        if op in ("==", "!="):
            left, right, lt, rt = self.pair(e.left, e.right, None)
            out = Binary(op, left, right, line=e.line, column=e.column)
            self.comparable(e, left, right, lt, rt, f"'{op}'")
            return out, _BOOL
        if op in COMPARISONS:
            # resolve like ==, so `frame_material < steel` reports the order problem, not `steel`
            left, right, lt, rt = self.pair(e.left, e.right, None)
        else:
            left, lt = self.visit(e.left)
            right, rt = self.visit(e.right)
        out = Binary(op, left, right, line=e.line, column=e.column)
        if op in LOGICAL:
            self.expect(left, lt, "bool", f"'{op}'")
            self.expect(right, rt, "bool", f"'{op}'")
            return out, _BOOL
        if op in ARITHMETIC:
            self.expect(left, lt, "numeric", f"'{op}'")
            self.expect(right, rt, "numeric", f"'{op}'")
            return out, _NUM
        if op in COMPARISONS:  # < <= > >=
            for side, t in ((left, lt), (right, rt)):
                if t.kind == "enum" and t.attribute is not None:
                    self.type_error(
                        side,
                        f"'{op}' does not apply to {_snippet(side)}: the choices of "
                        f"{t.attribute.code} have no order; use == or in {{...}}",
                    )
                else:
                    self.expect(side, t, "number", f"'{op}'")
            return out, _BOOL
        return out, self.type_error(e, f"unknown operator {op!r}")

    def pair(self, a: Expr, b: Expr, ctx: Attribute | None) -> tuple[Expr, Expr, _Type, _Type]:
        """Visit two expressions that must agree, letting one give the other its value context.

        The side that is not a bare value is visited first, so that
        ``carbon == frame_material`` resolves like ``frame_material == carbon``.
        """
        if self.value_like(a) and not self.value_like(b):
            b2, bt = self.visit(b, ctx)
            a2, at = self.visit(a, self.context_of(bt) or ctx)
        else:
            a2, at = self.visit(a, ctx)
            b2, bt = self.visit(b, self.context_of(at) or ctx)
        return a2, b2, at, bt

    @staticmethod
    def context_of(t: _Type) -> Attribute | None:
        return t.attribute if t.kind in ("enum", "set") else None

    def comparable(self, node: Expr, left: Expr, right: Expr, lt: _Type, rt: _Type, what: str) -> None:
        """Report when ``left`` and ``right`` can never meaningfully be equal."""
        kinds = {lt.kind, rt.kind}
        if "error" in kinds:
            return
        for side, t in ((left, lt), (right, rt)):
            if t.kind == "set" and t.attribute is not None:
                code = t.attribute.code
                self.type_error(
                    side,
                    f"{what} cannot compare the set {code}; use has({code}, value) or count({code})",
                )
                return
        if kinds <= {"enum", "value"}:
            if lt.kind == rt.kind == "enum" and lt.attribute is not None and rt.attribute is not None:
                if lt.attribute.code != rt.attribute.code and not set(_codes(lt.attribute)) & set(
                    _codes(rt.attribute)
                ):
                    self.type_error(
                        node,
                        f"{lt.attribute.code} and {rt.attribute.code} share no value, so they are never equal",
                    )
            return
        if lt.kind == rt.kind or kinds == {"num"}:
            return
        detail = f"{what} cannot compare {_snippet(left)} ({_describe_type(lt)}) with {_snippet(right)} ({_describe_type(rt)})"
        for t, other in ((lt, right), (rt, left)):
            if t.kind == "enum" and t.attribute is not None:
                codes = _codes(t.attribute)
                if isinstance(other, Int) and str(other.value) in codes:
                    detail += f'; value codes are text: quote it, "{other.value}"'
                elif isinstance(other, Name) and other.id in codes:
                    detail += f'; {other.id} is also an attribute; to mean the value, quote it: "{other.id}"'
        self.type_error(node, detail)

    def in_(self, e: In) -> tuple[Expr, _Type]:
        operand, ot = self.visit(e.operand)
        ctx = self.context_of(ot)
        items: list[Expr | Range] = []
        if ot.kind == "set" and ot.attribute is not None:
            code = ot.attribute.code
            self.type_error(
                operand, f"'in' cannot test the set {code}; use has({code}, value) or count({code})"
            )
            ot = _ERROR
        for item in e.items:
            if isinstance(item, Range):
                items.append(item)
                if item.low > item.high:
                    self.type_error(item, f"the range {item.low}..{item.high} is empty (low is above high)")
                if ot.kind not in ("num", "error"):
                    self.type_error(
                        item,
                        f"a range like {item.low}..{item.high} only matches numbers, "
                        f"but {_snippet(operand)} is {_describe_type(ot)}",
                    )
                continue
            resolved, it = self.visit(item, ctx)
            items.append(resolved)
            if ot.kind != "error":
                self.comparable(resolved, operand, resolved, ot, it, "'in'")
        return In(operand, tuple(items), e.negated, line=e.line, column=e.column), _BOOL

    def call(self, e: Call, ctx: Attribute | None) -> tuple[Expr, _Type]:
        problem = arity_problem(e.func, len(e.args))
        if problem is not None:
            return e, self.type_error(e, problem)
        f = e.func
        if f in QUANTIFIERS and (f != "count" or len(e.args) == 2):
            expanded = self.quantified(e)
            if expanded is None:
                return e, _ERROR
            return self.visit(expanded, ctx)
        if f == "lookup":
            return self.lookup(e, ctx)
        if f == "if":
            cond, ct = self.visit(e.args[0])
            self.expect(cond, ct, "bool", "the condition of if()")
            a, b, at, bt = self.pair(e.args[1], e.args[2], ctx)
            out = Call(f, (cond, a, b), line=e.line, column=e.column)
            return out, self.join(e, at, bt)
        if f in ("count", "has"):
            s, st = self.visit(e.args[0])
            args = [s]
            if st.kind not in ("set", "error"):
                self.type_error(s, f"{f}() takes a set attribute, but {_snippet(s)} is {_describe_type(st)}")
            if f == "has":
                v, vt = self.visit(e.args[1], self.context_of(st))
                args.append(v)
                if vt.kind not in ("value", "enum", "error"):
                    self.type_error(
                        v, f"has() needs a value code as its second argument, not {_describe_type(vt)}"
                    )
            out = Call(f, tuple(args), line=e.line, column=e.column)
            return out, (_NUM if f == "count" else _BOOL)
        args = []
        for arg in e.args:
            a, at = self.visit(arg)
            self.expect(a, at, "numeric", f"{f}()")
            args.append(a)
        return Call(f, tuple(args), line=e.line, column=e.column), _NUM

    def lookup(self, e: Call, ctx: Attribute | None) -> tuple[Expr, _Type]:
        """``lookup(table, key...)``, expanded into exact tests over the table's rows
        (see ``configurator.rules.lookup``)."""
        first, keys = e.args[0], e.args[1:]
        at = {"line": e.line, "column": e.column}
        if isinstance(first, Str):  # the leaf of a key the table does not list
            leaf_keys = [self.visit(k)[0] for k in keys]
            return Call("lookup", (first, *leaf_keys), **at), _MISS
        table = self.attrs.get(first.id) if isinstance(first, Name) else None
        derivation = table.derived if table is not None else None
        if table is None or derivation is None or derivation.formula is not None or not derivation.columns:
            tables = sorted(
                a.code
                for a in self.attrs.values()
                if a.derived is not None and a.derived.formula is None and a.derived.columns
            )
            known = ", ".join(tables) if tables else "this product declares none"
            return e, self.type_error(
                first,
                "lookup() reads a lookup table: its first argument must be a derived attribute defined by a "
                f"table ({known}), not {_snippet(first)}",
            )
        columns = derivation.columns
        if len(keys) != len(columns):
            return e, self.type_error(
                e,
                f"lookup({table.code}, ...) takes {len(columns)} key{'s' if len(columns) > 1 else ''}, one per "
                f"column of the table ({', '.join(columns)}), got {len(keys)}",
            )
        resolved: list[Expr] = []
        constants: dict[int, object] = {}
        failed = False
        for index, (key, column) in enumerate(zip(keys, columns, strict=True)):
            col = self.attrs.get(column)
            if col is None:
                failed = True
                self.type_error(e, f"the lookup table {table.code} names an unknown column {column}")
                continue
            r, t = self.visit(key, col if col.kind is AttributeKind.ENUM else None)
            resolved.append(r)
            if t.kind == "error":
                failed = True
                continue
            want = _type_of(col)
            if not (
                t.kind == want.kind == "num"
                or t.kind == want.kind == "bool"
                or (want.kind == "enum" and t.kind in ("enum", "value"))
            ):
                failed = True
                self.type_error(
                    key,
                    f"lookup({table.code}): the key for the column {column} must be {_describe_type(want)}, "
                    f"but {_snippet(key)} is {_describe_type(t)}",
                )
                continue
            constant = _constant(r)
            if constant is not None:
                constants[index] = constant
        if failed:
            return e, _ERROR
        rows = [
            (cells, result)
            for cells, result in derivation.rows
            if all(_same(cells[i], v) for i, v in constants.items())
        ]
        if not rows:
            shown = ", ".join(f"{columns[i]} = {to_text(resolved[i])}" for i in constants)
            return e, self.type_error(e, f"the lookup table {table.code} has no row for {shown}")
        free = [i for i in range(len(columns)) if i not in constants]
        narrowed = replace(
            table,
            derived=replace(
                derivation,
                columns=tuple(columns[i] for i in free),
                rows=tuple((tuple(cells[i] for i in free), result) for cells, result in rows),
            ),
        )
        missing = Call("lookup", (Str(table.code, **at), *resolved), **at)
        try:
            tree = lookup_tree(narrowed, [resolved[i] for i in free], self.attrs, missing)
        except LookupTableError as error:
            return e, self.type_error(e, str(error))
        return self.visit(tree, ctx)

    def quantified(self, e: Call) -> Expr | None:
        """``count``/``sum``/``all``/``any`` over a repeated component's instances in use,
        as a plain expression over the unrolled attributes (see ``catalog.files.repeat``)."""
        first = e.args[0]
        count = f"{first.id}_count" if isinstance(first, Name) else ""
        counter = self.attrs.get(count)
        if counter is None or counter.kind is not AttributeKind.INT or counter.maximum is None:
            repeated = sorted(c.removesuffix("_count") for c in self.attrs if c.endswith("_count"))
            known = f" (repeated components: {', '.join(repeated)})" if repeated else ""
            self.type_error(
                first,
                f"{e.func}() with two arguments quantifies over a repeated component: its first argument "
                f"must be a repeated component's code, not {_snippet(first)}{known}",
            )
            return None
        assert isinstance(first, Name)
        low = counter.minimum or 0
        at = {"line": e.line, "column": e.column}
        terms: list[Expr] = []
        for i in range(1, counter.maximum + 1):
            body = _prefixed(e.args[1], f"{first.id}{i}_", self.attrs)
            active = Binary(">=", Name(count, **at), Int(i, **at), **at) if i > low else None
            if e.func == "count":
                test = body if active is None else Binary("and", active, body, **at)
                terms.append(Call("if", (test, Int(1, **at), Int(0, **at)), **at))
            elif e.func == "sum":
                terms.append(body if active is None else Call("if", (active, body, Int(0, **at)), **at))
            elif e.func == "all":
                terms.append(body if active is None else Binary("->", active, body, **at))
            else:
                terms.append(body if active is None else Binary("and", active, body, **at))
        op = {"count": "+", "sum": "+", "all": "and", "any": "or"}[e.func]
        out = terms[0]
        for term in terms[1:]:
            out = Binary(op, out, term, **at)
        return out

    def join(self, node: Expr, at: _Type, bt: _Type) -> _Type:
        """The type of ``if(c, a, b)``: both branches must be of one kind."""
        if "error" in (at.kind, bt.kind):
            return _ERROR
        if "miss" in (at.kind, bt.kind):
            return bt if at.kind == "miss" else at
        if at.kind == bt.kind and at.kind in ("bool", "num", "value"):
            return at
        if {at.kind, bt.kind} <= {"enum", "value"}:
            if at.kind == bt.kind == "enum" and at.attribute != bt.attribute:
                return _VALUE
            return at if at.kind == "enum" else bt
        return self.type_error(
            node,
            f"the two branches of if() must be of one kind, but one is {_describe_type(at)} "
            f"and the other {_describe_type(bt)}",
        )

    # -- the whole expression -------------------------------------------

    def top(self, expr: Expr, target: Attribute | None) -> Expr:
        ctx = (
            target if target is not None and target.kind in (AttributeKind.ENUM, AttributeKind.SET) else None
        )
        out, t = self.visit(expr, ctx)
        if t.kind == "error":
            return out
        if self.kind in _BOOL_KINDS:
            self.expect(out, t, "bool", f"a {self.kind}")
        elif self.kind == "formula":
            self.expect(out, t, "number", "a formula")
        elif target is not None:
            self.param_fits(out, t, target)
        return out

    def param_fits(self, expr: Expr, t: _Type, target: Attribute) -> None:
        wanted = {
            AttributeKind.ENUM: ("enum", "value"),
            AttributeKind.BOOL: ("bool",),
            AttributeKind.INT: ("num",),
            AttributeKind.DECIMAL: ("num",),
            AttributeKind.SET: ("set",),
        }[target.kind]
        if t.kind not in wanted:
            self.type_error(
                expr,
                f"the parameter {target.code} is {target.kind.value}, but {_snippet(expr)} is {_describe_type(t)}",
            )
            return
        constant = _int_constant(expr)
        if target.kind is AttributeKind.INT and constant is not None and constant not in target.domain():
            # a fixed value outside the module's domain would make every configuration invalid
            self.type_error(
                expr,
                f"{constant} is not a value of {target.code} "
                f"({target.minimum}..{target.maximum} step {target.step})",
            )


def _prefixed(expr: Expr, prefix: str, attrs: Mapping[str, Attribute]) -> Expr:
    """``expr`` with every name ``n`` for which ``prefix + n`` is an attribute renamed to it."""
    if isinstance(expr, Name):
        return replace(expr, id=prefix + expr.id) if prefix + expr.id in attrs else expr
    if isinstance(expr, Unary):
        return replace(expr, operand=_prefixed(expr.operand, prefix, attrs))
    if isinstance(expr, Binary):
        return replace(
            expr, left=_prefixed(expr.left, prefix, attrs), right=_prefixed(expr.right, prefix, attrs)
        )
    if isinstance(expr, In):
        return replace(expr, operand=_prefixed(expr.operand, prefix, attrs))
    if isinstance(expr, Call):
        return replace(expr, args=tuple(_prefixed(a, prefix, attrs) for a in expr.args))
    return expr


def _constant(expr: Expr) -> object | None:
    """The value of a literal key (a value code, a bool, a number), or None."""
    if isinstance(expr, Str | Bool):
        return expr.value
    if isinstance(expr, Dec):
        return Decimal(expr.text)
    return _int_constant(expr)


def _same(cell: object, value: object) -> bool:
    """Whether a table cell (a code, a bool, an int, a decimal as text) is ``value``."""
    if isinstance(cell, bool) or isinstance(value, bool):
        return cell is value
    if isinstance(value, int | Decimal) and not isinstance(cell, bool):
        try:
            return Decimal(str(cell)) == Decimal(value)
        except ArithmeticError:
            return False
    return cell == value


def _int_constant(expr: Expr) -> int | None:
    """The value of an integer literal, possibly negated; None for anything else."""
    if isinstance(expr, Int):
        return expr.value
    if isinstance(expr, Unary) and expr.op == "-" and isinstance(expr.operand, Int):
        return -expr.operand.value
    return None


def _check(
    expr: Expr,
    attributes: Sequence[Attribute],
    kind: str,
    rule_id: str | None,
    target: Attribute | None,
    limits: Limits,
) -> tuple[Expr, list[RuleError]]:
    if kind not in KINDS:
        raise ValueError(f"unknown expression kind {kind!r}; expected one of {sorted(KINDS)}")
    try:
        # the walk recurses; the depth limit keeps it far from Python's recursion limit
        check_limits(expr, limits, rule_id)
    except RuleTooComplex as exc:
        return expr, [exc]
    checker = _Checker(attributes, kind, rule_id)
    out = checker.top(expr, target)
    # a quantifier checks its body once per instance: report each problem once
    unique = {(type(err), str(err)): err for err in checker.errors}
    return out, sorted(unique.values(), key=lambda err: (err.line, err.column))


def check_all(
    expr: Expr,
    attributes: Sequence[Attribute],
    *,
    kind: str,
    rule_id: str | None = None,
    target: Attribute | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> list[RuleError]:
    """Every problem of ``expr`` (empty when it is valid); never raises a rule error.

    >>> from catalog.snapshot import Attribute, AttributeKind, Label
    >>> gears = Attribute("gears", AttributeKind.INT, Label("Gears"), minimum=1, maximum=12)
    >>> from configurator.rules.parser import parse_expression
    >>> [e.reason for e in check_all(parse_expression("gears and gaers"), [gears], kind="rule")]
    ['rule_type', 'unknown_reference']
    """
    return _check(expr, attributes, kind, rule_id, target, limits)[1]


def check_expression(
    expr: Expr,
    attributes: Sequence[Attribute],
    *,
    kind: str,
    rule_id: str | None = None,
    target: Attribute | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Expr:
    """Resolve names and type-check ``expr``; return the resolved expression.

    ``kind`` is "rule" or "condition" (the result must be true/false),
    "formula" (a number) or "param" (anything; with ``target``, the module
    attribute it sets, it must fit that attribute and bare names may be the
    target's value codes). Raises the single error found, or
    :class:`RuleSetInvalid` carrying all of them.

    >>> from catalog.snapshot import Attribute, AttributeKind, Label
    >>> gears = Attribute("gears", AttributeKind.INT, Label("Gears"), minimum=1, maximum=12)
    >>> from configurator.rules.parser import parse_expression
    >>> check_expression(parse_expression("gears * 40"), [gears], kind="formula")
    Binary(op='*', left=Name(id='gears'), right=Int(value=40))
    >>> check_expression(parse_expression("gears"), [gears], kind="rule", rule_id="r")
    Traceback (most recent call last):
    ...
    configurator.rules.errors.RuleTypeError: line 1, column 1: a rule needs true or false, but gears is a number; compare it, e.g. gears > 0
    """
    out, errors = _check(expr, attributes, kind, rule_id, target, limits)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise RuleSetInvalid(errors)
    return out


__all__ = ["KINDS", "check_all", "check_expression"]
