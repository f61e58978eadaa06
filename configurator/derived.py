"""Derived attributes: values computed from other attributes by a formula or a lookup table.

A derived attribute (``Product.derived``) is never a buyer's choice and never
a solver variable. Every text of the product that names it (rules, price
``when``/``add``/``percent``, BOM ``when``/``qty``/``params``, routing
formulas) reads its definition in its place: :func:`plain_product` returns the
product with those texts rewritten, so the compiled model, the prices and the
BOM of the rewritten product are exactly those of the catalog author's
meaning, and counts stay exact (a derived value is a function of the others).

- A **formula** (``"if(frame == fixed, 4, 2)"``) is checked like a module
  parameter against the derived attribute's own type (int, decimal, bool or
  enum), then substituted.
- A **lookup table** (key ``columns`` and rows ``(key values, result)``)
  becomes a balanced tree of ``if(key in {...}, ..., ...)`` tests, so its
  depth grows with the logarithm of the number of rows. A key combination
  that the table does not list cannot be evaluated (it divides by zero): a
  rule that reads it is violated, a quantity that reads it fails; the catalog
  checks report any valid configuration reaching such a key.

>>> from decimal import Decimal
>>> from catalog.snapshot import Attribute, AttributeKind, Choice, Derivation, Label, Product, Rule
>>> frame = Attribute("frame", AttributeKind.ENUM, Label("Frame"),
...                   choices=(Choice("fixed", Label("Fixed")), Choice("folding", Label("Folding"))))
>>> legs = Attribute("legs", AttributeKind.INT, Label("Legs"), minimum=2, maximum=4,
...                  derived=Derivation(formula="if(frame == fixed, 4, 2)"))
>>> desk = Product("desk", Label("Desk"), Decimal("1"), (frame,), derived=(legs,),
...                rules=(Rule("r", Label("m"), text="legs >= 3"),))
>>> plain_product(desk).rules[0].text
'if(frame == "fixed", 4, 2) >= 3'
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

from catalog.snapshot import (
    Attribute,
    AttributeKind,
    BomLine,
    Derivation,
    Module,
    Operation,
    PriceRule,
    Product,
    Rule,
    Value,
)
from configurator.rules import check_expression, parse_expression, to_text
from configurator.rules.ast import (
    QUANTIFIERS,
    Binary,
    Call,
    Expr,
    In,
    Int,
    Name,
    Range,
    Unary,
)
from configurator.rules.errors import RuleTypeError
from configurator.rules.lookup import literal


class DerivationError(RuleTypeError):
    """A derived attribute's definition is wrong (cycle, bad table row)."""


def scope_of(product: Product) -> tuple[Attribute, ...]:
    """The attributes a product's texts may name: its own and its derived ones."""
    return (*product.attributes, *product.derived)


def _missing(example: Expr, kind: str) -> Expr:
    """An expression of the result's type that cannot be evaluated (a key the table does not list)."""
    undefined = Binary("/", Int(0), Int(0))
    if kind == "num":
        return undefined
    test = Binary(">", undefined, Int(0))
    if kind == "bool":
        return test
    return Call("if", (test, example, example))


def table_expression(derivation: Derivation, attribute: Attribute, by_code: Mapping[str, Attribute]) -> Expr:
    """The resolved expression of a lookup table (see the module docstring)."""
    columns = derivation.columns
    rows = [(tuple(key), result) for key, result in derivation.rows]
    if not rows:
        raise DerivationError(f"the lookup table of {attribute.code} has no rows")
    kind = (
        "bool"
        if attribute.kind is AttributeKind.BOOL
        else "value"
        if attribute.kind is AttributeKind.ENUM
        else "num"
    )
    example = literal(rows[0][1], attribute)

    def node(column: int, subset: list[tuple[tuple[Value, ...], Value]]) -> Expr:
        if column == len(columns):
            if len(subset) > 1:
                raise DerivationError(
                    f"the lookup table of {attribute.code} lists the key {list(subset[0][0])} twice"
                )
            return literal(subset[0][1], attribute)
        key_attr = by_code[columns[column]]
        groups: dict[Value, list[tuple[tuple[Value, ...], Value]]] = {}
        for row in subset:
            groups.setdefault(row[0][column], []).append(row)
        values = list(groups)
        domain = key_attr.domain()
        covered = len(domain) <= len(values) and all(v in groups for v in domain)
        key = Name(key_attr.code)

        def split(part: list[Value]) -> Expr:
            if len(part) == 1:
                inner = node(column + 1, groups[part[0]])
                if covered:
                    return inner
                test = Binary("==", key, literal(part[0], key_attr))
                return Call("if", (test, inner, _missing(example, kind)))
            half = len(part) // 2
            among = In(key, tuple(literal(v, key_attr) for v in part[:half]))
            return Call("if", (among, split(part[:half]), split(part[half:])))

        return split(values)

    return node(0, rows)


def substitute(expr: Expr, definitions: Mapping[str, Expr]) -> Expr:
    """``expr`` with every attribute reference in ``definitions`` replaced by its definition."""
    if isinstance(expr, Name):
        return definitions.get(expr.id, expr)
    if isinstance(expr, Unary):
        return replace(expr, operand=substitute(expr.operand, definitions))
    if isinstance(expr, Binary):
        return replace(
            expr, left=substitute(expr.left, definitions), right=substitute(expr.right, definitions)
        )
    if isinstance(expr, In):
        items: tuple[Expr | Range, ...] = tuple(
            item if isinstance(item, Range) else substitute(item, definitions) for item in expr.items
        )
        return replace(expr, operand=substitute(expr.operand, definitions), items=items)
    if isinstance(expr, Call):
        return replace(expr, args=tuple(substitute(a, definitions) for a in expr.args))
    return expr


def definitions(product: Product) -> dict[str, Expr]:
    """Each derived attribute's resolved definition, with derived attributes it names substituted.

    Raises :class:`DerivationError` on a cycle, or the rule language's errors
    for a formula that does not check.
    """
    return dict(_definitions(product))


@functools.lru_cache(maxsize=256)
def _definitions(product: Product) -> tuple[tuple[str, Expr], ...]:
    scope = scope_of(product)
    by_code = {a.code: a for a in scope}
    raw: dict[str, Expr] = {}
    for attribute in product.derived:
        d = attribute.derived
        assert d is not None
        if d.formula is not None:
            parsed = parse_expression(d.formula, rule_id=attribute.code)
            raw[attribute.code] = check_expression(
                parsed, scope, kind="param", rule_id=attribute.code, target=attribute
            )
        else:
            missing = [c for c in d.columns if c not in by_code]
            if missing:
                raise DerivationError(
                    f"the lookup table of {attribute.code} names unknown attributes {missing}"
                )
            raw[attribute.code] = table_expression(d, attribute, by_code)
    done: dict[str, Expr] = {}

    def resolve(code: str, chain: tuple[str, ...]) -> Expr:
        if code in done:
            return done[code]
        if code in chain:
            cycle = " -> ".join((*chain[chain.index(code) :], code))
            raise DerivationError(f"derived attributes depend on each other in a cycle: {cycle}")
        expr = raw[code]
        needed = {n: resolve(n, (*chain, code)) for n in _names(expr) if n in raw}
        done[code] = substitute(expr, needed) if needed else expr
        return done[code]

    for code in raw:
        resolve(code, ())
    return tuple(done.items())


def _names(expr: Expr | Range) -> set[str]:
    if isinstance(expr, Name):
        return {expr.id}
    if isinstance(expr, Unary):
        return _names(expr.operand)
    if isinstance(expr, Binary):
        return _names(expr.left) | _names(expr.right)
    if isinstance(expr, In):
        out = _names(expr.operand)
        for item in expr.items:
            out |= _names(item)
        return out
    if isinstance(expr, Call):
        out = set()
        for arg in expr.args:
            out |= _names(arg)
        return out
    return set()


def expand(
    text: str,
    product: Product,
    *,
    kind: str,
    target: Attribute | None = None,
    rule_id: str | None = None,
) -> str:
    """``text`` with the derived attributes it names replaced by their definitions and its
    quantifiers over repeated components expanded (unchanged if none)."""
    quantified = _QUANTIFIER.search(text) is not None
    if not product.derived and not quantified:
        return text
    parsed = parse_expression(text, rule_id=rule_id)
    derived_codes = {a.code for a in product.derived}
    if not _names(parsed) & derived_codes and not (quantified and _has_quantifier(parsed)):
        return text
    resolved = check_expression(parsed, scope_of(product), kind=kind, rule_id=rule_id, target=target)
    return to_text(substitute(resolved, definitions(product)))


_QUANTIFIER = re.compile(r"\b(?:count|sum|all|any)\s*\(")


def _has_quantifier(expr: Expr | Range) -> bool:
    if isinstance(expr, Call):
        if expr.func in QUANTIFIERS and (expr.func != "count" or len(expr.args) == 2):
            return True
        return any(_has_quantifier(a) for a in expr.args)
    if isinstance(expr, Unary):
        return _has_quantifier(expr.operand)
    if isinstance(expr, Binary):
        return _has_quantifier(expr.left) or _has_quantifier(expr.right)
    if isinstance(expr, In):
        return _has_quantifier(expr.operand)
    return False


@functools.lru_cache(maxsize=256)
def _quantifies(product: Product) -> bool:
    """Whether some text of ``product`` may use a quantifier over a repeated component."""
    texts = [r.text for r in product.rules]
    texts += [t for p in product.prices for t in (p.when, p.add, p.percent)]
    texts += [t for b in product.bom for t in (b.qty, b.when, *(v for _, v in b.params))]
    texts += [t for o in product.routing for t in (o.setup_min, o.run_min, o.when)]
    return any(t is not None and _QUANTIFIER.search(t) for t in texts)


def plain_product(product: Product, modules: Sequence[Module] = ()) -> Product:
    """The product with every text naming a derived attribute rewritten and every quantifier
    over a repeated component (``count(section, shelves > 2)``) expanded; itself when it has none.

    ``modules`` (the catalog's) give module parameters their target attribute,
    so that a parameter may be a value code of the module's attribute.
    """
    if not product.derived and not _quantifies(product):
        return product
    return _plain(product, tuple(modules))


@functools.lru_cache(maxsize=256)
def _plain(product: Product, modules: tuple[Module, ...]) -> Product:
    by_module = {m.code: m for m in modules}

    def rule(r: Rule) -> Rule:
        if r.text is None:
            return r
        return replace(r, text=expand(r.text, product, kind="rule", rule_id=r.id))

    def cond(text: str | None) -> str | None:
        return None if text is None else expand(text, product, kind="condition")

    def formula(text: str) -> str:
        return expand(text, product, kind="formula")

    def price(p: PriceRule) -> PriceRule:
        return replace(
            p,
            when=cond(p.when),
            add=None if p.add is None else formula(p.add),
            percent=None if p.percent is None else formula(p.percent),
        )

    def param(line: BomLine, key: str, text: str) -> str:
        module = by_module.get(line.item)
        target = None
        if module is not None:
            target = next((a for a in module.attributes if a.code == key), None)
        return expand(text, product, kind="param", target=target)

    def line(b: BomLine) -> BomLine:
        return replace(
            b,
            qty=formula(b.qty),
            when=cond(b.when),
            params=tuple((k, param(b, k, v)) for k, v in b.params),
        )

    def operation(o: Operation) -> Operation:
        return replace(o, setup_min=formula(o.setup_min), run_min=formula(o.run_min), when=cond(o.when))

    return replace(
        product,
        rules=tuple(rule(r) for r in product.rules),
        prices=tuple(price(p) for p in product.prices),
        bom=tuple(line(b) for b in product.bom),
        routing=tuple(operation(o) for o in product.routing),
        derived=(),
    )


def derived_values(product: Product, configuration: Mapping[str, object]) -> dict[str, object]:
    """The value of every derived attribute for a complete configuration (read-only display).

    A value that cannot be computed (a key missing from a lookup table) is left out.
    """
    from configurator.rules import EvaluationError, evaluate

    out: dict[str, object] = {}
    for code, expr in definitions(product).items():
        try:
            out[code] = evaluate(expr, configuration)
        except (EvaluationError, KeyError):
            continue
    return out


__all__ = [
    "DerivationError",
    "definitions",
    "derived_values",
    "expand",
    "literal",
    "plain_product",
    "scope_of",
    "substitute",
    "table_expression",
]
