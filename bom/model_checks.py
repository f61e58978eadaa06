"""Checks of a catalog's richer constructs over the whole valid space, with file positions.

``c2m catalog validate`` runs these after reading a file, and the full
catalog check (``bom.checks.check_catalog``, run before publishing) runs them
too. Like the other whole-space checks, each property is written as its
violation and the engine is asked for one valid configuration breaking it;
none is a proof, one is printed as the example.

- **variant parts**: every code a line such as ``TOP-{top}`` resolves to, for
  a valid configuration selecting the line, is a part or module;
- **module parameters**: a parameter fits the module attribute it sets, by
  type (statically) and by value: the expression never leaves the
  attribute's domain (range, step, choices) for a valid configuration
  selecting the line, e.g. ``length: width - 100`` with ``max: 1800``;
- **derived attributes**: a lookup table has a row for the key of every
  configuration the product's other rules allow, and a derived value stays
  within its declared domain;
- **quantities** (from ``bom.checks``): never negative, never a division by zero.

>>> from decimal import Decimal
>>> from catalog.snapshot import Attribute, AttributeKind, BomLine, Catalog, Choice, Label, Part, Product
>>> top = Attribute("top", AttributeKind.ENUM, Label("Top"),
...                 choices=(Choice("oak", Label("Oak")), Choice("walnut", Label("Walnut"))))
>>> desk = Product("desk", Label("Desk"), Decimal("1"), (top,), bom=(BomLine(10, "TOP-{top}"),))
>>> shop = Catalog("shop", Label("Shop"), "CNY", (Part("TOP-OAK", Label("Oak top")),), (), (desk,))
>>> [f.message for f in variant_findings(shop, desk, backend="sat")]
['desk line 10: variant code TOP-{top} resolves to TOP-WALNUT, which is not a part or module of the catalog, for top=walnut']
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from typing import Any

from bom.checks import MAX_SCREEN, _compiled, _module_product, _reachable_modules, quantity_findings
from bom.checks import _finding as _said_finding
from bom.variants import placeholders, variant_code
from catalog.snapshot import Attribute, AttributeKind, BomLine, Catalog, Module, Product, SourceLoc
from configurator.checks import Finding, Severity, find_configuration, format_configuration, say
from configurator.derived import definitions, plain_product
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
from configurator.rules.catalog_check import check_text


def model_findings(catalog: Catalog, *, backend: str = "auto") -> list[Finding]:
    """Every finding of this module and the quantity check, for every product of ``catalog``."""
    out: list[Finding] = []
    for product in catalog.products:
        out += product_findings(catalog, product, backend=backend)
        try:
            plain = plain_product(product, catalog.modules)
        except (RuleError, RuleSetInvalid, ConfiguratorError):
            continue  # reported by derived_findings
        try:
            try:
                out += quantity_findings(catalog, plain, backend=backend)
            except RuleError:
                # The whole-product model does not build (a module parameter product_findings
                # reports): quantities are still checked over the product's own configurations.
                out += quantity_findings(catalog, replace(plain, modules=()), backend=backend)
        except (RuleError, RuleSetInvalid, ConfiguratorError) as exc:
            out.append(
                _finding(
                    "bom_quantity", Severity.ERROR, product, product.code,
                    say("model_error", product=product.code, error=exc), loc=product.loc,
                )
            )
    return out


def product_findings(catalog: Catalog, product: Product, *, backend: str = "auto") -> list[Finding]:
    """Derived attributes, then (on the product as the engine reads it) variant parts and parameters."""
    out = derived_findings(product, backend=backend)
    try:
        plain = plain_product(product, catalog.modules)
    except (RuleError, RuleSetInvalid, ConfiguratorError):
        return out  # the derived attributes' own findings say why
    # Parameters are checked against the product's own configurations: the module constraints they
    # feed are what a wrong parameter breaks.
    unmoduled = replace(plain, modules=())
    try:
        out += param_findings(catalog, unmoduled, backend=backend)
        try:
            out += variant_findings(catalog, plain, backend=backend)
        except RuleError:
            # The whole-product model does not build (a module parameter the check above reports):
            # variant codes are still checked over the product's own configurations.
            out += variant_findings(catalog, unmoduled, backend=backend)
    except (RuleError, RuleSetInvalid, ConfiguratorError) as exc:
        out.append(
            _finding(
                "model", Severity.ERROR, product, product.code, say("model_error", product=product.code, error=exc),
                loc=product.loc,
            )
        )
    return out


def _finding(
    check: str,
    severity: Severity,
    product: Product,
    subject: str,
    text: dict[str, Any],
    *,
    configuration: tuple[tuple[str, object], ...] = (),
    loc: SourceLoc | None = None,
) -> Finding:
    """A finding; ``text`` is :func:`configurator.checks.say`'s message, id and parameters."""
    return _said_finding(
        check,
        severity,
        product,
        subject,
        text,
        configuration=configuration,  # type: ignore[arg-type]
        loc=loc,
    )


# --------------------------------------------------------------------------- searching


def _search(
    owner: Product,
    bad: Callable[[Mapping[str, object]], bool],
    used: Sequence[str],
    backend: str,
    key: str,
) -> tuple[tuple[str, object], ...] | None:
    """A valid configuration of ``owner`` for which ``bad`` holds (screened without the solver first)."""
    if not used:
        return () if bad({}) else None
    attributes = [owner.attribute(code) for code in used]
    domains: list[Sequence[object]] = []
    for a in attributes:
        if a.kind is AttributeKind.SET:
            codes = [c.code for c in a.choices]
            subsets = itertools.chain.from_iterable(
                itertools.combinations(codes, k) for k in range(len(codes) + 1)
            )
            domains.append([frozenset(s) for s in subsets] if len(codes) <= 12 else [])
        else:
            domains.append(a.domain())
    if all(domains) and math.prod(len(d) for d in domains) <= MAX_SCREEN:
        if not any(bad(dict(zip(used, values, strict=True))) for values in itertools.product(*domains)):
            return None
    return find_configuration(owner, condition=bad, attributes=list(used), backend=backend, key=key)


def _holds(when: Expr | None, env: Mapping[str, object]) -> bool:
    if when is None:
        return True
    try:
        return evaluate(when, env) is True
    except EvaluationError:
        return False


def _owners(catalog: Catalog, product: Product) -> list[tuple[Product, str, Sequence[BomLine], Severity]]:
    """The product's own lines (errors) and those of the modules it reaches, over their own space (warnings)."""
    out: list[tuple[Product, str, Sequence[BomLine], Severity]] = [
        (product, product.code, product.bom, Severity.ERROR)
    ]
    for module in _reachable_modules(catalog, product):
        out.append((_module_product(module), module.code, module.components, Severity.WARNING))
    return out


# --------------------------------------------------------------------------- variant parts


def variant_findings(catalog: Catalog, product: Product, *, backend: str = "auto") -> list[Finding]:
    """Variant lines (``TOP-{top}``) that a valid configuration resolves to no part or module."""
    known = {p.code for p in catalog.parts} | {m.code for m in catalog.modules}
    findings: list[Finding] = []
    for owner, owner_code, lines, severity in _owners(catalog, product):
        codes = {a.code for a in owner.attributes}
        for line in lines:
            names = placeholders(line.item)
            if not names:
                continue
            where = {"owner": owner_code, "pos": line.pos, "item": line.item}
            unknown = [n for n in names if n not in codes]
            if unknown:
                message = say("variant_unknown_names", names=", ".join(unknown), **where)
                findings.append(
                    _finding(
                        "bom_variant",
                        Severity.ERROR,
                        product,
                        f"{owner_code}:{line.pos}",
                        message,
                        loc=line.loc,
                    )
                )
                continue
            attributes = [owner.attribute(n) for n in names]
            if any(a.kind is AttributeKind.SET for a in attributes):
                message = say("variant_set_attribute", **where)
                findings.append(
                    _finding(
                        "bom_variant",
                        Severity.ERROR,
                        product,
                        f"{owner_code}:{line.pos}",
                        message,
                        loc=line.loc,
                    )
                )
                continue
            found = _variant_example(owner, owner_code, line, names, attributes, known, backend)
            if found is not None:
                code, example = found
                message = say(
                    "variant_missing" if severity is Severity.ERROR else "variant_missing_module",
                    code=code,
                    configuration=format_configuration(example),  # type: ignore[arg-type]
                    **where,
                )
                findings.append(
                    _finding(
                        "bom_variant",
                        severity,
                        product,
                        f"{owner_code}:{line.pos}",
                        message,
                        configuration=example,
                        loc=line.loc,
                    )
                )
    return findings


def _variant_example(
    owner: Product,
    owner_code: str,
    line: BomLine,
    names: tuple[str, ...],
    attributes: Sequence[Attribute],
    known: set[str],
    backend: str,
) -> tuple[str, tuple[tuple[str, object], ...]] | None:
    sizes = [a.domain_size() for a in attributes]
    if math.prod(sizes) > MAX_SCREEN:
        # too many codes to list: look for a configuration whose code is unknown, one value at a time
        missing_of: Callable[[tuple[object, ...]], bool] = lambda values: (  # noqa: E731
            variant_code(line.item, dict(zip(names, values, strict=True))) not in known
        )
    else:
        missing = {
            values
            for values in itertools.product(*(a.domain() for a in attributes))
            if variant_code(line.item, dict(zip(names, values, strict=True))) not in known
        }
        if not missing:
            return None
        missing_of = missing.__contains__
    when = _compiled(line.when, owner.attributes, "condition") if line.when else None
    used = sorted(set(names) | (references(when) if when is not None else frozenset()))

    def bad(env: Mapping[str, object]) -> bool:
        return _holds(when, env) and missing_of(tuple(env[n] for n in names))

    example = _search(owner, bad, used, backend, f"variant:{owner_code}:{line.pos}:{line.item}:{line.when}")
    if example is None:
        return None
    return variant_code(line.item, dict(example)), example


# --------------------------------------------------------------------------- module parameters


def _fits(value: object, target: Attribute) -> bool:
    if target.kind is AttributeKind.BOOL:
        return isinstance(value, bool)
    if target.kind is AttributeKind.ENUM:
        return isinstance(value, str) and value in target.domain()
    if isinstance(value, bool) or not isinstance(value, int | Fraction):
        return False
    if target.kind is AttributeKind.INT:
        return isinstance(value, int) and value in range(
            target.minimum or 0, (target.maximum or 0) + 1, max(target.step, 1)
        )
    scaled = Fraction(value) * 10**target.places
    assert target.minimum is not None and target.maximum is not None
    return bool(
        scaled.denominator == 1
        and target.minimum <= scaled.numerator <= target.maximum
        and (scaled.numerator - target.minimum) % max(target.step, 1) == 0
    )


def _describe(target: Attribute) -> str:
    if target.kind in (AttributeKind.INT, AttributeKind.DECIMAL):
        values = target.domain()
        unit = (
            Decimal(target.step).scaleb(-target.places)
            if target.kind is AttributeKind.DECIMAL
            else target.step
        )
        step = f" step {unit}" if len(values) > 1 and unit != 1 else ""
        return f"{values[0]}..{values[-1]}{step}"
    if target.kind is AttributeKind.BOOL:
        return "true | false"
    return " | ".join(str(v) for v in target.domain())


def param_findings(catalog: Catalog, product: Product, *, backend: str = "auto") -> list[Finding]:
    """Module parameters of the wrong type, or whose value leaves the module attribute's domain."""
    modules = {m.code: m for m in catalog.modules}
    findings: list[Finding] = []
    for owner, owner_code, lines, severity in _owners(catalog, product):
        for line in lines:
            module = modules.get(line.item)
            if module is None or not module.configurable or not line.params:
                continue
            findings += _line_params(product, owner, owner_code, line, module, severity, backend)
    return findings


def _line_params(
    product: Product,
    owner: Product,
    owner_code: str,
    line: BomLine,
    module: Module,
    severity: Severity,
    backend: str,
) -> list[Finding]:
    findings: list[Finding] = []
    targets = {a.code: a for a in module.attributes}
    when = _compiled(line.when, owner.attributes, "condition") if line.when else None
    for key, text in line.params:
        target = targets.get(key)
        subject = f"{owner_code}:{line.pos}:{key}"
        where = {"owner": owner_code, "pos": line.pos, "item": line.item, "param": key, "text": text}
        if target is None or target.kind is AttributeKind.SET:
            continue  # unknown keys are reported when the file is read; sets pass through as they are
        errors = check_text(text, owner.attributes, kind="param", target=target)
        if errors:
            for err in errors:
                findings.append(
                    _finding(
                        "module_param",
                        Severity.ERROR,
                        product,
                        subject,
                        say("param_invalid", error=err.detail, **where),
                        loc=line.loc,
                    )
                )
            continue
        expr = check_expression(parse_expression(text), owner.attributes, kind="param", target=target)

        def bad(env: Mapping[str, object], expr: Expr = expr, target: Attribute = target) -> bool:
            if not _holds(when, env):
                return False
            try:
                return not _fits(evaluate(expr, env), target)
            except EvaluationError:
                return True

        used = sorted(references(expr) | (references(when) if when is not None else frozenset()))
        example = _search(
            owner, bad, used, backend, f"param:{owner_code}:{line.pos}:{key}:{text}:{line.when}"
        )
        if example is None:
            continue
        suffix = "" if severity is Severity.ERROR else "_module"
        shown = format_configuration(example)  # type: ignore[arg-type]
        try:
            value = evaluate(expr, dict(example))
        except EvaluationError as exc:
            message = say("param_no_value" + suffix, error=exc, configuration=shown, **where)
        else:
            message = say(
                "param_outside" + suffix, value=value, module=module.code, attribute=target.code,
                domain=_describe(target), configuration=shown, **where,
            )
        findings.append(
            _finding("module_param", severity, product, subject, message, configuration=example, loc=line.loc)
        )
    return findings


# --------------------------------------------------------------------------- derived attributes


def derived_findings(product: Product, *, backend: str = "auto") -> list[Finding]:
    """Derived attributes whose definition does not compile, misses a key, or leaves its domain."""
    if not product.derived:
        return []
    try:
        defs = definitions(product)
    except (RuleError, RuleSetInvalid) as exc:
        errors = exc.errors if isinstance(exc, RuleSetInvalid) else [exc]
        return [
            _finding(
                "derived",
                Severity.ERROR,
                product,
                err.rule_id or product.code,
                say("derived_invalid", attribute=err.rule_id or product.code, error=err),
                loc=_loc_of(product, err.rule_id),
            )
            for err in errors
        ]
    derived_codes = {a.code for a in product.derived}
    # Rules that read a derived attribute would hide a missing key (they cannot be evaluated there);
    # the modules' constraints are left out too: they may read derived attributes, and a module
    # parameter of the wrong type is the parameter check's finding, not a reason to skip this one.
    relaxed = replace(
        product,
        rules=tuple(
            r for r in product.rules if not (r.text is not None and _names_in(r.text) & derived_codes)
        ),
        derived=(),
        modules=(),
    )
    findings: list[Finding] = []
    for attribute in product.derived:
        expr = defs[attribute.code]

        def bad(env: Mapping[str, object], expr: Expr = expr, attribute: Attribute = attribute) -> bool:
            try:
                return not _fits(evaluate(expr, env), attribute)
            except EvaluationError:
                return True

        used = sorted(references(expr))
        example = _search(relaxed, bad, used, backend, f"derived:{attribute.code}:{expr!r}")
        if example is None:
            continue
        env = dict(example)
        shown = format_configuration(example)  # type: ignore[arg-type]
        table = attribute.derived is not None and attribute.derived.formula is None
        try:
            value = evaluate(expr, env)
        except EvaluationError:
            assert attribute.derived is not None
            if table and attribute.derived.columns:
                keys = ", ".join(f"{c}={env[c]}" for c in attribute.derived.columns)
                message = say("derived_table_no_row", attribute=attribute.code, keys=keys, configuration=shown)
            else:
                message = say("derived_no_value", attribute=attribute.code, configuration=shown)
        else:
            message = say(
                "derived_table_outside" if table else "derived_formula_outside",
                attribute=attribute.code, value=value, domain=_describe(attribute), configuration=shown,
            )
        findings.append(
            _finding(
                "derived",
                Severity.ERROR,
                product,
                attribute.code,
                message,
                configuration=example,
                loc=attribute.loc,
            )
        )
    return findings


def _names_in(text: str) -> set[str]:
    try:
        return set(references(parse_expression(text)))
    except RuleError:
        return set()


def _loc_of(product: Product, code: str | None) -> SourceLoc | None:
    for a in product.derived:
        if a.code == code:
            if a.derived is not None and a.derived.text_loc is not None:
                return a.derived.text_loc
            return a.loc
    return product.loc


__all__ = ["derived_findings", "model_findings", "param_findings", "product_findings", "variant_findings"]
