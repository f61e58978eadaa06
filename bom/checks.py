"""Whole-space BOM checks, and the complete catalog check run before publishing.

The BOM of every valid configuration must make sense, and there may be
billions of configurations, so nothing here enumerates them. Each property is
written as its *violation*, compiled together with the product's rules, and a
backend is asked for one solution: a solution is a counter-example
configuration, none is a proof over the whole space.

- **requirements** (``Product.requires``, error when broken): the number of
  super-BOM lines a configuration selects among those named (by item code
  pattern such as ``FRAME-*`` or by position) must be exactly N, or within
  at_least..at_most. The violation is the rule
  ``if(when_1, 1, 0) + ... + if(when_k, 1, 0) != N`` (or ``< at_least or >
  at_most``) added to a copy of the product (``dataclasses.replace``) and
  compiled by ``configurator.build.build_model``;
- **items** (error): every BOM line and module component names a part or a
  module of the catalog;
- **quantities** (error): no valid configuration gives a line that applies a
  negative quantity, or one that cannot be computed (division by zero). The
  violation is a condition over the formula's attributes evaluated exactly
  (formulas may use decimals, which rules may not). Components of
  configurable modules are checked over the module's own valid space (its
  attributes and rules), a superset of what the products' params reach, so a
  counter-example there is a warning.

>>> from decimal import Decimal
>>> from catalog.snapshot import (Attribute, AttributeKind, BomLine, BomRequirement, Catalog, Choice,
...                               Label, Part, Product)
>>> frame = Attribute("frame", AttributeKind.ENUM, Label("Frame"),
...                   choices=(Choice("alu", Label("Alu")), Choice("carbon", Label("Carbon"))))
>>> rack = Attribute("rack", AttributeKind.BOOL, Label("Rack"))
>>> bike = Product("bike", Label("Bike"), Decimal("1"), (frame, rack),
...     bom=(BomLine(10, "FRAME-ALU", when="frame == alu"), BomLine(11, "FRAME-CARBON", when="rack")),
...     requires=(BomRequirement("one-frame", Label("One frame"), items=("FRAME-*",), exactly=1),))
>>> parts = (Part("FRAME-ALU", Label("Alu frame")), Part("FRAME-CARBON", Label("Carbon frame")))
>>> shop = Catalog("shop", Label("Shop"), "CNY", parts, (), (bike,))
>>> [f.message for f in requirement_findings(bike, backend="sat")]  # doctest: +NORMALIZE_WHITESPACE
['requirement one-frame (exactly 1 of FRAME-*) is broken: frame=alu, rack=true selects 2 lines
  (10 FRAME-ALU, 11 FRAME-CARBON)']
>>> check_catalog(shop, backend="sat").publishable
False
"""

from __future__ import annotations

import fnmatch
import itertools
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from typing import Any

from bom.variants import is_variant
from catalog.snapshot import (
    Attribute,
    AttributeKind,
    BomLine,
    BomRequirement,
    Catalog,
    Module,
    Product,
    Rule,
    SourceLoc,
)
from configurator.checks import (
    CatalogReport,
    Finding,
    ProductReport,
    Severity,
    check_product,
    find_configuration,
    format_configuration,
    product_changes,
    say,
)
from configurator.decisions import AttributeValue
from configurator.derived import plain_product
from configurator.errors import ConfiguratorError
from configurator.rules import (
    EvaluationError,
    RuleError,
    RuleSetInvalid,
    check_expression,
    evaluate,
    parse_expression,
    references,
)
from configurator.rules.ast import Expr

Configuration = tuple[tuple[str, AttributeValue], ...]


def check_catalog(
    catalog: Catalog,
    *,
    previous: Catalog | None = None,
    backend: str = "auto",
    catalog_key: str = "",
    progress: Callable[[str], None] | None = None,
) -> CatalogReport:
    """Every catalog check: the model checks of :mod:`configurator.checks` and the BOM checks here.

    ``previous`` is the last published version, for count changes and
    products added or removed. Errors block publishing; warnings do not.
    ``progress`` is called with each product's code before its checks start
    (a command line shows it).
    """
    before = {p.code: p for p in previous.products} if previous is not None else {}
    reports: list[ProductReport] = []
    for product in catalog.products:
        if progress is not None:
            progress(product.code)
        from bom.model_checks import product_findings  # it builds on this module's checks

        start = time.perf_counter()
        richer = product_findings(catalog, product, backend=backend)
        richer_seconds = time.perf_counter() - start
        if any(f.check == "derived" and f.severity is Severity.ERROR for f in richer):
            product = replace(product, derived=())  # its texts cannot be read: the other checks say so
        product = plain_product(product, catalog.modules)  # derived attributes read their definitions
        base = check_product(
            product, previous=before.get(product.code), backend=backend, catalog_key=catalog_key
        )
        findings = [*base.findings, *richer]
        timings = [*base.timings, ("model_constructs", richer_seconds)]
        runnable = not any(f.check in ("void_product", "check_failed") for f in findings)
        start = time.perf_counter()
        findings.extend(item_findings(catalog, product))
        timings.append(("bom_items", time.perf_counter() - start))
        if runnable:
            start = time.perf_counter()
            findings.extend(requirement_findings(product, backend=backend))
            timings.append(("bom_requirements", time.perf_counter() - start))
            start = time.perf_counter()
            findings.extend(quantity_findings(catalog, product, backend=backend))
            timings.append(("bom_quantities", time.perf_counter() - start))
        reports.append(replace(base, findings=tuple(findings), timings=tuple(timings)))
    changes = (
        product_changes([p.code for p in previous.products], [p.code for p in catalog.products])
        if previous is not None
        else []
    )
    return CatalogReport(catalog.code, tuple(reports), tuple(changes))


# --------------------------------------------------------------------------- requirements


def requirement_lines(product: Product, requirement: BomRequirement) -> tuple[BomLine, ...]:
    """The product's BOM lines a requirement counts: named by position or matching an item pattern.

    >>> from decimal import Decimal
    >>> from catalog.snapshot import Label
    >>> p = Product("p", Label("P"), Decimal("1"), (), bom=(BomLine(10, "FRAME-A"), BomLine(20, "WHEEL")))
    >>> [l.pos for l in requirement_lines(p, BomRequirement("r", Label("r"), items=("FRAME-*",), positions=(20,)))]
    [10, 20]
    """
    return tuple(
        line
        for line in product.bom
        if line.pos in requirement.positions
        or any(fnmatch.fnmatchcase(line.item, pattern) for pattern in requirement.items)
    )


def violation_text(lines: Sequence[BomLine], low: int, high: int | None) -> str:
    """The rule that holds exactly when the number of selected ``lines`` is outside ``low..high``.

    >>> violation_text([BomLine(10, "A", when="rack"), BomLine(20, "B")], 1, 1)
    'if((rack), 1, 0) + 1 != 1'
    >>> violation_text([BomLine(10, "A", when="rack")], 1, 3)
    '(if((rack), 1, 0) < 1 or if((rack), 1, 0) > 3)'
    """
    total = " + ".join(f"if(({line.when}), 1, 0)" if line.when else "1" for line in lines) or "0"
    if high is not None and low == high:
        return f"{total} != {low}"
    parts = []
    if low > 0:
        parts.append(f"{total} < {low}")
    if high is not None:
        parts.append(f"{total} > {high}")
    if not parts:
        return "false"  # at_least 0 with no upper bound: nothing can break it
    return parts[0] if len(parts) == 1 else f"({' or '.join(parts)})"


def _describe(requirement: BomRequirement) -> str:
    low, high = requirement.bounds()
    if high is not None and low == high:
        bound = f"exactly {low}"
    elif high is None:
        bound = f"at least {low}"
    elif low == 0:
        bound = f"at most {high}"
    else:
        bound = f"{low} to {high}"
    named = [*requirement.items, *(f"pos {p}" for p in requirement.positions)]
    return f"{bound} of {', '.join(named)}"


def requirement_findings(product: Product, *, backend: str = "auto") -> list[Finding]:
    """Check each of the product's BOM requirements over every valid configuration."""
    findings: list[Finding] = []
    for requirement in product.requires:
        lines = requirement_lines(product, requirement)
        low, high = requirement.bounds()
        rule = Rule(f"requires:{requirement.id}", requirement.message, text=violation_text(lines, low, high))
        what = {"requirement": requirement.id, "bounds": _describe(requirement)}
        try:
            example = find_configuration(product, extra_rules=[rule], backend=backend)
        except (ConfiguratorError, RuleError, RuleSetInvalid) as exc:
            findings.append(
                _finding("bom_requirement", Severity.ERROR, product, requirement.id,
                         say("requirement_error", **what, error=exc))
            )
            continue
        if example is None:
            findings.append(
                _finding(
                    "bom_requirement",
                    Severity.INFO,
                    product,
                    requirement.id,
                    say("requirement_holds", **what),
                    loc=requirement.loc,
                )
            )
            continue
        chosen = _selected_lines(product, lines, example)
        listing = ", ".join(f"{line.pos} {line.item}" for line in chosen) or "none"
        findings.append(
            _finding(
                "bom_requirement",
                Severity.ERROR,
                product,
                requirement.id,
                say("requirement_broken_line" if len(chosen) == 1 else "requirement_broken_lines", **what,
                    configuration=format_configuration(example), count=len(chosen), lines=listing),
                configuration=example,
                loc=requirement.loc,
            )
        )
    return findings


def _selected_lines(
    product: Product, lines: Iterable[BomLine], configuration: Configuration
) -> list[BomLine]:
    env = dict(configuration)
    out: list[BomLine] = []
    for line in lines:
        if line.when is None or evaluate(_compiled(line.when, product.attributes, "condition"), env) is True:
            out.append(line)
    return out


# --------------------------------------------------------------------------- items and quantities


def item_findings(catalog: Catalog, product: Product) -> list[Finding]:
    """BOM lines (the product's and those of every module it reaches) naming no part or module."""
    known = {p.code for p in catalog.parts} | {m.code for m in catalog.modules}
    findings: list[Finding] = []
    seen: set[str] = set()

    def visit(owner: str, lines: Iterable[BomLine]) -> None:
        for line in lines:
            if is_variant(line.item):
                continue  # resolved per configuration: bom.model_checks.variant_findings
            if line.item not in known:
                findings.append(
                    _finding(
                        "bom_item",
                        Severity.ERROR,
                        product,
                        f"{owner}:{line.pos}",
                        say("unknown_item", owner=owner, pos=line.pos, item=line.item),
                        loc=line.loc,
                    )
                )
                continue
            module = catalog.module(line.item)
            if module is not None and module.code not in seen:
                seen.add(module.code)
                visit(module.code, module.components)

    visit(product.code, product.bom)
    return findings


def quantity_findings(catalog: Catalog, product: Product, *, backend: str = "auto") -> list[Finding]:
    """Lines whose quantity some valid configuration makes negative (or impossible to compute)."""
    findings = [
        f
        for line in product.bom
        if (f := _quantity_finding(product, product.code, product.attributes, line, backend, Severity.ERROR))
    ]
    for module in _reachable_modules(catalog, product):
        owner = _module_product(module)
        for line in module.components:
            found = _quantity_finding(owner, module.code, module.attributes, line, backend, Severity.WARNING)
            if found is not None:
                findings.append(replace(found, product=product.code))
    return findings


def _reachable_modules(catalog: Catalog, product: Product) -> list[Module]:
    out: dict[str, Module] = {}
    stack = [line.item for line in product.bom]
    while stack:
        module = catalog.module(stack.pop())
        if module is None or module.code in out:
            continue
        out[module.code] = module
        stack.extend(line.item for line in module.components)
    return list(out.values())


def _module_product(module: Module) -> Product:
    # A module's own space: its attributes under its rules, as a product the solver can take.
    return Product(module.code.lower(), module.name, Decimal(0), module.attributes, rules=module.rules)


def _quantity_finding(
    owner: Product,
    owner_code: str,
    attributes: Sequence[Attribute],
    line: BomLine,
    backend: str,
    severity: Severity,
) -> Finding | None:
    qty = _compiled(line.qty, attributes, "formula")
    when = _compiled(line.when, attributes, "condition") if line.when else None
    used = sorted(references(qty) | (references(when) if when is not None else frozenset()))
    subject = f"{owner_code}:{line.pos}"
    where = {"owner": owner_code, "pos": line.pos, "item": line.item, "qty": line.qty}

    def bad(env: Mapping[str, object]) -> bool:
        try:
            if when is not None and evaluate(when, env) is not True:
                return False
            value = evaluate(qty, env)
        except EvaluationError:
            return True  # e.g. a division by zero: the BOM cannot be computed
        return isinstance(value, bool) or not isinstance(value, int | Fraction) or value < 0

    if not used:
        return (
            _finding("bom_quantity", severity, owner, subject, say("quantity_negative", **where), loc=line.loc)
            if bad({})
            else None
        )
    if not _may_be_bad(bad, [owner.attribute(code) for code in used]):
        return None
    example = find_configuration(
        owner,
        condition=bad,
        attributes=used,
        backend=backend,
        key=f"qty:{owner_code}:{line.pos}:{line.qty}:{line.when}",
    )
    if example is None:
        return None
    msgid = "quantity_bad" if severity is Severity.ERROR else "quantity_bad_module"
    return _finding(
        "bom_quantity",
        severity,
        owner,
        subject,
        say(msgid, **where, configuration=format_configuration(example)),
        configuration=example,
        loc=line.loc,
    )


MAX_SCREEN = 20_000
"""Largest value space of a formula's attributes screened without the solver."""


def _may_be_bad(bad: Callable[[Mapping[str, object]], bool], attributes: Sequence[Attribute]) -> bool:
    """False when no combination of the attributes' values (rules ignored) makes the line bad.

    Valid configurations are among those combinations, so this is a sound
    shortcut: the solver (which compiles the rules) is only needed when some
    combination is bad, or when there are too many combinations to try.
    """
    domains: list[tuple[object, ...]] = []
    for attribute in attributes:
        if attribute.kind is AttributeKind.SET:
            codes = [c.code for c in attribute.choices]
            subsets = itertools.chain.from_iterable(
                itertools.combinations(codes, k) for k in range(len(codes) + 1)
            )
            domains.append(tuple(frozenset(s) for s in subsets) if len(codes) <= 16 else ())
        else:
            domains.append(tuple(attribute.domain()))
    if any(not d for d in domains) or math.prod(len(d) for d in domains) > MAX_SCREEN:
        return True
    codes = [a.code for a in attributes]
    return any(bad(dict(zip(codes, values, strict=True))) for values in itertools.product(*domains))


def _compiled(text: str, attributes: Sequence[Attribute], kind: str) -> Expr:
    named = [a for a in attributes if a.code in references(parse_expression(text))]
    return check_expression(parse_expression(text), named, kind=kind)


def _finding(
    check: str,
    severity: Severity,
    product: Product,
    subject: str,
    text: dict[str, Any],
    *,
    configuration: Configuration = (),
    loc: SourceLoc | None = None,
) -> Finding:
    """A finding; ``text`` is :func:`configurator.checks.say`'s message, id and parameters."""
    return Finding(check, severity, product.code, subject, configuration=configuration, loc=loc, **text)


__all__ = [
    "check_catalog",
    "item_findings",
    "quantity_findings",
    "requirement_findings",
    "requirement_lines",
    "violation_text",
]
