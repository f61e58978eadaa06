"""The decomposer gives exactly the model its previous implementation gave (``decompose_reference``).

Compared: the variables (names, typed domains, flags, order) and the constraints (rule ids, scopes,
typed ``allowed`` rows); a decomposed rule's final piece, which has only a predicate, is tabulated
over its whole scope (at most ``DEFINITION_LIMIT`` combinations).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from catalog.demo import demo_catalog_paths
from catalog.files import load_catalog_file
from catalog.snapshot import Attribute, AttributeKind, Choice, Label, Product, Rule
from configurator import build as build_module
from configurator.build import build_model
from configurator.decompose import DEFINITION_LIMIT, Decomposer
from configurator.model import Model
from configurator.rules import check_expression, parse_expression
from tests.featuremodels import decompose_reference

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"


def _typed(values: tuple[object, ...]) -> tuple[tuple[str, object], ...]:
    """Values with their types: ``(0, 1) == (False, True)`` must not pass for equal."""
    return tuple((type(v).__name__, v) for v in values)


def _fingerprint(model: Model) -> Iterator[object]:
    domains = {v.name: v.domain for v in model.variables}
    auxiliary = {v.name for v in model.variables if v.auxiliary}
    for v in model.variables:
        yield (v.name, _typed(v.domain), v.attribute, v.element, v.auxiliary)
    for c in model.constraints:
        yield (c.rule_id, c.scope)
        if c.allowed is not None:
            yield sorted(map(repr, map(_typed, c.allowed)))
        elif not auxiliary.isdisjoint(c.scope):
            combos = itertools.product(*(domains[n] for n in c.scope))
            yield bytes(c.predicate(*t) for t in itertools.islice(combos, DEFINITION_LIMIT + 1))


def _same_as_reference(product: Product, monkeypatch: pytest.MonkeyPatch) -> int:
    """Builds ``product`` with both decomposers, asserts the models equal; the auxiliary variables' count."""
    current = build_model(product, key=f"decompose-equivalence:current:{product.code}")
    with monkeypatch.context() as m:
        m.setattr(build_module, "Decomposer", decompose_reference.Decomposer)
        m.setattr(build_module, "NotDecomposable", decompose_reference.NotDecomposable)
        previous = build_model(product, key=f"decompose-equivalence:reference:{product.code}")
    for position, (got, want) in enumerate(itertools.zip_longest(_fingerprint(current), _fingerprint(previous))):
        assert got == want, f"{product.code}: item {position} of the model differs"
    return sum(v.auxiliary for v in current.variables)


def _corpus_product(rel: str) -> Product:
    path = CORPUS / rel
    if not path.is_file():
        pytest.skip(f"../shared/corpus not present: {path} (the feature-model corpus lives outside the repository)")
    from catalog.featuremodels import load_feature_model

    return load_feature_model(path).products[0]


def _bools(n: int) -> list[Attribute]:
    return [Attribute(f"f{i}", AttributeKind.BOOL, Label(f"f{i}")) for i in range(n)]


ONES = " + ".join(f"if(f{i}, 1, 0)" for i in range(14))
SPLIT = [
    "f0 -> f1 or f2 or f3 or f4 or f5 or f6 or f7 or f8 or f9 or f10 or f11 or f12 or f13",
    "(f0 and f1 and f2 and f3 and f4 and f5 and f6) <-> not (f7 or f8 or f9 or f10 or f11 or f12 or f13)",
    f"{ONES} <= 1",
    f"{ONES} not in {{0, 2, 5..6}}",
    f"3 < {ONES}",
    "if(f0, 3, 0) + if(f1, -5, 0) + if(f2, 2, 0) + if(f3, 7, 0) + if(f4, 1, 0) + if(f5, 4, 0) + if(f6, 6, 0)"
    " + if(f7, -2, 0) + if(f8, 3, 0) + if(f9, 5, 0) + if(f10, 1, 0) + if(f11, 2, 0) + if(f12, 9, 0) <= 4",
    # The same piece twice in one rule, and pieces whose variables sort apart from their textual order.
    "(f13 or f12 or f11 or f10 or f9 or f8 or f7) and (f13 or f12 or f11 or f10 or f9 or f8 or f7 or f0)"
    " and (f1 or f2 or f3 or f4 or f5 or f6)",
    "f0 -> (if(f13, 1, 0) + if(f1, 1, 0) + if(f12, 1, 0) + if(f2, 1, 0) + if(f11, 1, 0) + if(f3, 1, 0)"
    " + if(f10, 1, 0) + if(f4, 1, 0) + if(f9, 1, 0) + if(f5, 1, 0) + if(f8, 1, 0) + if(f6, 1, 0)) == 1",
]


def test_rules_of_many_forms_split_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    """Several large rules in one product: later rules reuse the tabulated pieces of earlier ones."""
    attrs = _bools(14)
    rules = tuple(Rule(f"r{i}", Label(f"r{i}"), text=text) for i, text in enumerate(SPLIT))
    product = Product("p", Label("p"), Decimal("0"), tuple(attrs), rules=rules)
    assert _same_as_reference(product, monkeypatch) > 0


def test_set_and_int_attributes_split_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whole sets (rebuilt from their element variables), ``count``/``has``, int domains beside bools."""
    extras = Attribute(
        "extras", AttributeKind.SET, Label("Extras"), choices=tuple(Choice(f"e{i}", Label(f"e{i}")) for i in range(14))
    )
    level = Attribute("level", AttributeKind.INT, Label("Level"), minimum=0, maximum=1)
    flag = Attribute("flag", AttributeKind.BOOL, Label("Flag"))
    rules = (
        Rule("few", Label("few"), text="count(extras) <= 2 or has(extras, e0)"),
        Rule("lvl", Label("lvl"), text="count(extras) + level + if(flag, 1, 0) >= 3 or has(extras, e5)"),
        Rule("mix", Label("mix"), text="level + " + " + ".join(f"if(has(extras, e{i}), 1, 0)" for i in range(14)) + " != 4"),
    )
    product = Product("s", Label("s"), Decimal("0"), (extras, level, flag), rules=rules)
    assert _same_as_reference(product, monkeypatch) > 0


def test_equal_forms_over_bool_and_int_variables_are_told_apart() -> None:
    """``if(f, 1, 0) + ...`` over bools and ``n + ...`` over 0..1 ints have equal-looking domains."""
    ints = [Attribute(f"n{i}", AttributeKind.INT, Label(f"n{i}"), minimum=0, maximum=1) for i in range(14)]
    attrs = [*_bools(14), *ints]
    d = Decomposer({a.code: a for a in attrs}, {a.code: (a.code,) for a in attrs})
    bools = check_expression(parse_expression(" or ".join(f"f{i}" for i in range(14))), attrs, kind="rule")
    numbers = check_expression(parse_expression(" + ".join(f"n{i}" for i in range(14)) + " > 0"), attrs, kind="rule")
    parts = d.split("b", bools) + d.split("n", numbers)
    rows = {type(value) for c in parts if c.allowed is not None for row in c.allowed for value in row}
    assert rows == {bool, int}
    for c in parts:
        if c.allowed is not None:
            assert all(type(row[i]) is type(d.domains[n][0]) for row in c.allowed for i, n in enumerate(c.scope))


@pytest.mark.parametrize("path", demo_catalog_paths(), ids=lambda p: p.name)
def test_demo_catalogs_build_as_before(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for product in load_catalog_file(path).products:
        _same_as_reference(product, monkeypatch)


CORPUS_MODELS = [
    "featureide/Automotive01.xml",
    "featureide/E-Shop.xml",
    "featureide/BerkeleyDB.xml",
    "flamapy/JHipster.uvl",
    "splot/printers.sxfm",
    "splot/DELL.splx",
]


@pytest.mark.corpus
@pytest.mark.parametrize("rel", CORPUS_MODELS)
def test_corpus_models_build_as_before(rel: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _same_as_reference(_corpus_product(rel), monkeypatch)


@pytest.mark.corpus
@pytest.mark.slow
def test_automotive02_builds_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    """21,549 variables, 705 rules split (about 20 s: two builds and the tabulated final pieces)."""
    assert _same_as_reference(_corpus_product("featureide/Automotive02_V4.xml"), monkeypatch) > 1_000
