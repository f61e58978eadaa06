"""The shortcuts of ``build_model`` change no model.

- A rule whose scope has at most the decomposer's threshold of value combinations is kept whole
  without asking ``Decomposer.is_large``: the size ``build_model`` computes from its variables
  must be the decomposer's own for every rule.
- Rule predicates are compiled on their first call: each still gives ``evaluate``'s answer.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest

from catalog.files import load_catalog_file
from catalog.snapshot import AttributeKind, Product
from configurator.build import _checked, build_model
from configurator.decompose import Decomposer
from configurator.model import element_var
from configurator.rules import EvaluationError, evaluate, references

ROOT = Path(__file__).resolve().parents[2]
DEMOS = sorted((ROOT / "catalog" / "demo").glob("*.yaml"))
CORPUS = ROOT.parent / "shared" / "corpus" / "featureide"


def _products() -> list[Product]:
    out = [p for path in DEMOS for p in load_catalog_file(path).products]
    for name in ("E-Shop.xml", "Car.xml"):
        if (CORPUS / name).exists():
            from catalog.featuremodels import load_feature_model

            out.extend(load_feature_model(CORPUS / name).products)
    return out


@pytest.mark.parametrize("product", _products(), ids=lambda p: p.code)
def test_the_size_build_model_computes_is_the_decomposer_s(product: Product) -> None:
    from configurator.derived import plain_product

    product = plain_product(product)
    by_code = {a.code: a for a in product.attributes}
    vars_of = {
        a.code: tuple(element_var(a.code, c.code) for c in a.choices) if a.kind is AttributeKind.SET else (a.code,)
        for a in product.attributes
    }
    per_attribute = {
        a.code: 2 ** len(a.choices) if a.kind is AttributeKind.SET else len(tuple(a.domain()))
        for a in product.attributes
    }
    decomposer = Decomposer(by_code, vars_of)
    checked = 0
    for rule in product.rules:
        if rule.text is None:
            continue
        expr = _checked(rule, product.attributes, by_code)
        size = math.prod(per_attribute[code] for code in references(expr))
        assert size == decomposer._size(expr), rule.id
        assert (size > decomposer.threshold) == decomposer.is_large(expr), rule.id
        checked += 1
    assert checked or not any(r.text for r in product.rules)


@pytest.mark.parametrize("product", _products(), ids=lambda p: p.code)
def test_predicates_compiled_on_first_call_agree_with_evaluate(product: Product) -> None:
    model = build_model(product, key=f"test:{product.code}")
    by_code = {a.code: a for a in product.attributes}
    for constraint in model.constraints:
        shape = getattr(constraint.predicate, "shape", None)
        if shape is None:
            continue  # a table, a cardinality or a decomposed piece
        expr, readers = shape
        domains = [model.variable(n).domain for n in constraint.scope]
        for values in itertools.islice(itertools.product(*domains), 32):
            env: dict[str, object] = {}
            for code, start, elements in readers:
                if elements is None:
                    env[code] = values[start]
                else:
                    env[code] = frozenset(e for e, on in zip(elements, values[start:start + len(elements)],
                                                             strict=True) if on)
            try:
                expected = evaluate(expr, env) is True
            except EvaluationError:
                expected = False
            assert constraint.predicate(*values) is expected, (constraint.rule_id, values)
        assert all(code in by_code for code, _, _ in readers)
