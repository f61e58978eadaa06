"""The catalog check for ``lookup()``: a valid configuration reaching a key its table does not list.

Every text of a product that reads a lookup table at keys (rules, price
``when``/``add``/``percent``, BOM ``qty``/``when``/``params``, routing
formulas) is expanded (``configurator.rules.lookup``); where the keys' domains
are known and the table lists them all, no missing-key leaf remains and
nothing is searched. Otherwise one satisfiability question per text asks for
a valid configuration on which the text reaches a key the table does not
list; the finding (an error: that configuration could not be priced, built or
checked) shows it as the example. A rule reading such a key cannot hold there,
so the search leaves the rules reading a lookup out (it would otherwise never
see the configurations they silently forbid).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace

from catalog.snapshot import Product, SourceLoc
from configurator.checks import Finding, Severity, find_configuration, format_configuration, say
from configurator.derived import plain_product
from configurator.rules import EvaluationError, check_expression, evaluate, parse_expression, references
from configurator.rules.ast import Expr
from configurator.rules.lookup import LookupMissing

MISSING_MARK = 'lookup("'
"""How an expanded text spells the leaf of a key a lookup table does not list."""


def _texts(product: Product) -> Iterator[tuple[str, str, str, SourceLoc | None]]:
    """(owner, kind, text, loc) of every text of ``product`` that may reach a missing key."""
    for rule in product.rules:
        if rule.text is not None:
            yield f"rule {rule.id}", "rule", rule.text, rule.loc
    for price in product.prices:
        for key, kind, text in (("when", "condition", price.when), ("add", "formula", price.add)):
            if text is not None:
                yield f"price {price.id} {key}", kind, text, price.loc
        if price.percent is not None:
            yield f"price {price.id} percent", "formula", price.percent, price.loc
    for line in product.bom:
        yield f"BOM line {line.pos} qty", "formula", line.qty, line.loc
        if line.when is not None:
            yield f"BOM line {line.pos} when", "condition", line.when, line.loc
        for param, text in line.params:
            yield f"BOM line {line.pos} parameter {param}", "param", text, line.loc
    for operation in product.routing:
        for key, kind, text in (
            ("setup_min", "formula", operation.setup_min),
            ("run_min", "formula", operation.run_min),
            ("when", "condition", operation.when),
        ):
            if text is not None:
                yield f"operation {operation.op} {key}", kind, text, operation.loc


def lookup_findings(product: Product, *, backend: str = "auto") -> list[Finding]:
    """An error per text of ``product`` that some valid configuration makes read a missing key."""
    if not any(a.derived is not None and a.derived.formula is None for a in product.derived):
        return []
    plain = plain_product(product, product.modules)
    suspects = [t for t in _texts(plain) if MISSING_MARK in t[2]]
    if not suspects:
        return []
    relaxed = replace(
        plain,
        rules=tuple(r for r in plain.rules if r.text is None or MISSING_MARK not in r.text),
        modules=(),
    )
    findings: list[Finding] = []
    for owner, kind, text, loc in suspects:
        expr = check_expression(parse_expression(text), plain.attributes, kind=kind)

        def bad(env: Mapping[str, object], expr: Expr = expr) -> bool:
            try:
                evaluate(expr, env)
            except LookupMissing:
                return True
            except EvaluationError:
                return False
            return False

        example = find_configuration(
            relaxed,
            condition=bad,
            attributes=sorted(references(expr)),
            backend=backend,
            key=f"lookup:{owner}:{text}",
        )
        if example is None:
            continue
        try:
            evaluate(expr, dict(example))
        except LookupMissing as missing:
            error = str(missing)
        else:  # pragma: no cover - the search returns only configurations the condition holds for
            raise AssertionError(f"{owner}: the example {example} reads no missing key")
        findings.append(
            Finding(
                "lookup",
                Severity.ERROR,
                product.code,
                owner,
                **say("lookup_no_row", owner=owner, error=error, configuration=format_configuration(example)),
                configuration=example,
                loc=loc,
            )
        )
    return findings


__all__ = ["lookup_findings"]
