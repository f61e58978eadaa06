"""Check every expression and table of a product, a module or a whole catalog.

These functions never raise rule errors: they return every problem found, so
a catalog author sees them all at once. Each error says ``where`` (which rule,
price, BOM line or operation and which field) and ``source`` (the best known
position in the catalog file).

:func:`expression_checker` is the callback the catalog file loader calls for
each expression text while reading a file.

>>> from catalog.snapshot import Attribute, AttributeKind, Label
>>> gears = Attribute("gears", AttributeKind.INT, Label("Gears"), minimum=1, maximum=12)
>>> expression_checker("gears >", "rule", [gears])
[(1, 8, "expected a value, a name or '(' after '>' but found end of text")]
>>> expression_checker("gears * 40", "formula", [gears])
[]
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence

from catalog.snapshot import (
    Attribute,
    BomLine,
    Catalog,
    Module,
    Operation,
    PriceRule,
    Product,
    Rule,
    SourceLoc,
)
from configurator.rules.check import check_all
from configurator.rules.errors import RuleError, RuleSyntaxError, UnknownReference
from configurator.rules.parser import parse_expression
from configurator.rules.tables import check_price_table, check_table_rule

_KIND_ALIASES = {
    "rule": "rule",
    "condition": "condition",
    "when": "condition",
    "formula": "formula",
    "qty": "formula",
    "add": "formula",
    "percent": "formula",
    "setup_min": "formula",
    "run_min": "formula",
    "param": "param",
}
"""Kinds accepted by :func:`expression_checker`, mapped to the checker's kinds."""


def _shift(text_loc: SourceLoc | None, line: int, column: int) -> SourceLoc | None:
    """File position of (line, column) inside a text that starts at ``text_loc``."""
    if text_loc is None:
        return None
    if line <= 1:
        return SourceLoc(text_loc.file, text_loc.line, text_loc.column + max(column, 1) - 1)
    # later lines of a multi-line text: the column is only exact for block scalars at column 1
    return SourceLoc(text_loc.file, text_loc.line + line - 1, column)


def check_text(
    text: str,
    attributes: Sequence[Attribute],
    *,
    kind: str,
    rule_id: str | None = None,
    where: str | None = None,
    loc: SourceLoc | None = None,
    text_loc: SourceLoc | None = None,
    target: Attribute | None = None,
) -> list[RuleError]:
    """Parse and check one expression text; return every problem with its place filled in.

    ``text_loc`` (position of the text's first character) gives exact file
    positions; otherwise ``loc`` (position of the owning object) is used.
    """
    try:
        expr = parse_expression(text, rule_id=rule_id)
    except RuleSyntaxError as exc:
        errors: list[RuleError] = [exc]
    else:
        errors = check_all(expr, attributes, kind=kind, rule_id=rule_id, target=target)
    for err in errors:
        err.where = where
        err.source = _shift(text_loc, err.line, err.column) if text_loc is not None else loc
    return errors


def _place(err: RuleError, where: str, loc: SourceLoc | None) -> RuleError:
    err.where = where
    err.source = loc
    return err


def _check_rules(rules: Sequence[Rule], attributes: Sequence[Attribute]) -> list[RuleError]:
    errors: list[RuleError] = []
    for rule in rules:
        where = f"rule {rule.id}"
        if rule.text is not None:
            errors += check_text(
                rule.text,
                attributes,
                kind="rule",
                rule_id=rule.id,
                where=where,
                loc=rule.loc,
                text_loc=rule.text_loc,
            )
        else:
            errors += [_place(e, where, rule.loc) for e in check_table_rule(rule, attributes)]
    return errors


def _check_prices(prices: Sequence[PriceRule], attributes: Sequence[Attribute]) -> list[RuleError]:
    errors: list[RuleError] = []
    for price in prices:
        base = f"price {price.id}"
        fields = (
            ("when", price.when, "condition"),
            ("add", price.add, "formula"),
            ("percent", price.percent, "formula"),
        )
        for name, text, kind in fields:
            if text is not None:
                errors += check_text(text, attributes, kind=kind, where=f"{base} ({name})", loc=price.loc)
        if price.table is not None:
            where = f"{base} (table)"
            errors += [_place(e, where, price.loc) for e in check_price_table(price.table, attributes, where)]
    return errors


def _check_params(
    line: BomLine, where: str, attributes: Sequence[Attribute], modules: Mapping[str, Module]
) -> list[RuleError]:
    if not line.params:
        return []
    module = modules.get(line.item)
    if module is None or not module.configurable:
        what = "a configurable module" if module is not None else "a module of this catalog"
        if not modules:
            return []  # modules unknown here: check_catalog checks the keys
        return [
            _place(
                UnknownReference(f"params are given but {line.item} is not {what}", name=line.item),
                f"{where} (params)",
                line.loc,
            )
        ]
    errors: list[RuleError] = []
    module_attrs = {a.code: a for a in module.attributes}
    for key, text in line.params:
        param_where = f"{where}, param {key}"
        target = module_attrs.get(key)
        if target is None:
            hint = difflib.get_close_matches(key, list(module_attrs), n=3)
            more = f"; did you mean {' or '.join(repr(h) for h in hint)}?" if hint else ""
            errors.append(
                _place(
                    UnknownReference(
                        f"{key!r} is not an attribute of module {module.code} "
                        f"(attributes: {', '.join(module_attrs)}){more}",
                        name=key,
                        suggestions=hint,
                    ),
                    param_where,
                    line.loc,
                )
            )
            continue
        errors += check_text(text, attributes, kind="param", where=param_where, loc=line.loc, target=target)
    return errors


def _check_lines(
    lines: Sequence[BomLine], attributes: Sequence[Attribute], modules: Mapping[str, Module], label: str
) -> list[RuleError]:
    errors: list[RuleError] = []
    for line in lines:
        where = f"{label} {line.pos} ({line.item})"
        if line.when is not None:
            errors += check_text(line.when, attributes, kind="condition", where=f"{where} when", loc=line.loc)
        errors += check_text(line.qty, attributes, kind="formula", where=f"{where} qty", loc=line.loc)
        errors += _check_params(line, where, attributes, modules)
    return errors


def _check_operations(operations: Sequence[Operation], attributes: Sequence[Attribute]) -> list[RuleError]:
    errors: list[RuleError] = []
    for op in operations:
        where = f"operation {op.op}"
        if op.when is not None:
            errors += check_text(op.when, attributes, kind="condition", where=f"{where} when", loc=op.loc)
        errors += check_text(op.setup_min, attributes, kind="formula", where=f"{where} setup_min", loc=op.loc)
        errors += check_text(op.run_min, attributes, kind="formula", where=f"{where} run_min", loc=op.loc)
    return errors


def check_product(product: Product, *, modules: Iterable[Module] = ()) -> list[RuleError]:
    """Every problem in a product's rules, tables, prices, BOM and routing.

    Module ``params`` keys are checked against ``modules`` (pass the
    catalog's modules; without them only the expressions are checked).

    >>> from catalog.snapshot import Attribute, AttributeKind, Label, Product, Rule
    >>> from decimal import Decimal
    >>> rack = Attribute("rack", AttributeKind.BOOL, Label("Rack"))
    >>> p = Product("bike", Label("Bike"), Decimal("1"), (rack,), rules=(Rule("r1", Label("m"), text="rack and rakc"),))
    >>> [e.describe() for e in check_product(p)]
    ["rule r1: line 1, column 10: unknown name 'rakc': it is not an attribute of this product; did you mean 'rack'?"]
    """
    attrs = (*product.attributes, *product.derived)  # texts may name derived attributes
    by_code = {m.code: m for m in modules}
    return [
        *_check_rules(product.rules, attrs),
        *_check_prices(product.prices, attrs),
        *_check_lines(product.bom, attrs, by_code, "bom line"),
        *_check_operations(product.routing, attrs),
    ]


def check_module(module: Module, *, modules: Iterable[Module] = ()) -> list[RuleError]:
    """Every problem in a module's rules, component lines and operations (over its own attributes)."""
    attrs = module.attributes
    by_code = {m.code: m for m in modules}
    errors = [
        *_check_rules(module.rules, attrs),
        *_check_lines(module.components, attrs, by_code, "component"),
        *_check_operations(module.operations, attrs),
    ]
    for err in errors:
        err.where = f"module {module.code}: {err.where}" if err.where else f"module {module.code}"
    return errors


def check_catalog(catalog: Catalog) -> list[str]:
    """Every rule-language problem of a catalog, one readable line each (empty when clean)."""
    out: list[str] = []
    for product in catalog.products:
        for err in check_product(product, modules=catalog.modules):
            out.append(f"product {product.code}: {err.describe()}")
    for module in catalog.modules:
        out += [err.describe() for err in check_module(module, modules=catalog.modules)]
    return out


def expression_checker(text: str, kind: str, attributes: Sequence[Attribute]) -> list[tuple[int, int, str]]:
    """Check one expression text; return (line, column, message) for each problem, relative to ``text``.

    ``kind`` is "rule", "condition" (or "when"), "formula" (or "qty", "add",
    "percent", "setup_min", "run_min") or "param". Messages carry no position
    prefix: the caller adds the file position.
    """
    try:
        checker_kind = _KIND_ALIASES[kind]
    except KeyError:
        raise ValueError(
            f"unknown expression kind {kind!r}; expected one of {sorted(_KIND_ALIASES)}"
        ) from None
    errors = check_text(text, attributes, kind=checker_kind)
    return [(max(e.line, 1), max(e.column, 1), e.detail) for e in errors]


__all__ = ["check_catalog", "check_module", "check_product", "check_text", "expression_checker"]
