"""Large rules split into small constraints with functional auxiliary variables: same solutions."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from catalog.snapshot import Attribute, AttributeKind, Choice, Label, Product, Rule
from configurator.backends.select import make_backend
from configurator.build import build_model
from configurator.decompose import LARGE_SCOPE, Decomposer
from configurator.rules import check_expression, evaluate, parse_expression

ONES = " + ".join(f"if(f{i}, 1, 0)" for i in range(14))


def _bools(n: int) -> list[Attribute]:
    return [Attribute(f"f{i}", AttributeKind.BOOL, Label(f"f{i}")) for i in range(n)]


@pytest.mark.parametrize(
    "text",
    [
        "f0 -> f1 or f2 or f3 or f4 or f5 or f6 or f7 or f8 or f9 or f10 or f11 or f12 or f13",
        "if(f0, 3, 0) + if(f1, 5, 0) + if(f2, 2, 0) + if(f3, 7, 0) + if(f4, 1, 0) + if(f5, 4, 0) + if(f6, 6, 0)"
        " + if(f7, 2, 0) + if(f8, 3, 0) + if(f9, 5, 0) + if(f10, 1, 0) + if(f11, 2, 0) + if(f12, 9, 0) < 20",
        "(f0 and f1 and f2 and f3 and f4 and f5 and f6) <-> not (f7 or f8 or f9 or f10 or f11 or f12 or f13)",
        "f0 -> if(f1, 1, 0) + if(f2, 1, 0) + if(f3, 1, 0) + if(f4, 1, 0) + if(f5, 1, 0) + if(f6, 1, 0)"
        " + if(f7, 1, 0) + if(f8, 1, 0) + if(f9, 1, 0) + if(f10, 1, 0) + if(f11, 1, 0) + if(f12, 1, 0) + if(f13, 1, 0) in {2..4}",
        # Saturated partial sums: constants on either side, every comparison, negative weights (no saturation).
        f"{ONES} <= 1",
        f"{ONES} == 1",
        f"{ONES} != 2",
        f"3 < {ONES}",
        f"f0 -> {ONES} > 5",
        f"{ONES} not in {{0, 2, 5..6}}",
        "if(f0, 3, 0) + if(f1, -5, 0) + if(f2, 2, 0) + if(f3, 7, 0) + if(f4, 1, 0) + if(f5, 4, 0) + if(f6, 6, 0)"
        " + if(f7, -2, 0) + if(f8, 3, 0) + if(f9, 5, 0) + if(f10, 1, 0) + if(f11, 2, 0) + if(f12, 9, 0) <= 4",
    ],
)
def test_split_rule_has_exactly_the_solutions_of_the_whole_rule(text: str) -> None:
    attrs = _bools(14)
    expr = check_expression(parse_expression(text), attrs, kind="rule")
    d = Decomposer({a.code: a for a in attrs}, {a.code: (a.code,) for a in attrs})
    assert d.is_large(expr)
    parts = d.split("r", expr)
    assert all(v.auxiliary for v in d.variables)
    assert max(len(c.scope) for c in parts) < 14
    product = Product("p", Label("p"), Decimal("0"), tuple(attrs), rules=(Rule("r", Label("r"), text=text),))
    model = build_model(product, key=f"decompose-test:{text}")
    assert any(v.auxiliary for v in model.variables)
    expected = sum(
        evaluate(expr, {f"f{i}": v for i, v in enumerate(values)}) is True
        for values in itertools.product((False, True), repeat=14)
    )
    assert make_backend(model, prefer="mdd").count({}) == expected
    assert make_backend(model, prefer="sat").count({}) == expected


def test_small_rules_and_rules_with_division_stay_whole() -> None:
    attrs = _bools(3)
    small = build_model(
        Product("p", Label("p"), Decimal("0"), tuple(attrs), rules=(Rule("r", Label("r"), text="f0 -> f1 or f2"),)),
        key="decompose-small",
    )
    assert [c.scope for c in small.constraints] == [("f0", "f1", "f2")]
    n = Attribute("n", AttributeKind.INT, Label("n"), minimum=1, maximum=LARGE_SCOPE)
    m = Attribute("m", AttributeKind.INT, Label("m"), minimum=1, maximum=8)
    model = build_model(
        Product("q", Label("q"), Decimal("0"), (n, m), rules=(Rule("r", Label("r"), text="n / m > 2"),)),
        key="decompose-division",
    )
    assert not any(v.auxiliary for v in model.variables)


def test_set_counts_split_over_element_variables() -> None:
    extras = Attribute(
        "extras", AttributeKind.SET, Label("Extras"),
        choices=tuple(Choice(f"e{i}", Label(f"e{i}")) for i in range(14)),
    )
    product = Product("s", Label("s"), Decimal("0"), (extras,),
                      rules=(Rule("few", Label("few"), text="count(extras) <= 2 or has(extras, e0)"),))
    model = build_model(product, key="decompose-set")
    assert any(v.auxiliary for v in model.variables)
    # at most 2 of 14, or e0 chosen (with any of the other 13)
    expected = 1 + 14 + 91 + (2**13 - 1 - 13)
    assert make_backend(model, prefer="mdd").count({}) == expected


def test_partial_sums_compared_with_constants_saturate() -> None:
    attrs = _bools(32)
    text = " + ".join(f"if(f{i}, 1, 0)" for i in range(32)) + " <= 1"
    expr = check_expression(parse_expression(text), attrs, kind="rule")
    d = Decomposer({a.code: a for a in attrs}, {a.code: (a.code,) for a in attrs})
    d.split("amo", expr)
    # min(partial sum, 2) is all "<= 1" needs: three values instead of 0..k.
    assert d.variables and all(v.domain == (0, 1, 2) for v in d.variables)
