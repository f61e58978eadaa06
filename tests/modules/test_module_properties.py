"""Property: on random small products with configurable modules (nested, with conditions,
quantities that deselect or break their line, parameters, defaults, rules), the configurator
accepts exactly the configurations that explode, on every compiled backend, and counts them exactly.

The reference is brute force: every assignment of the product's attributes is exploded.
"""

from __future__ import annotations

import hashlib
import itertools
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bom.errors import BomError
from bom.explode import explode
from catalog.snapshot import (
    Attribute,
    AttributeKind,
    BomLine,
    Catalog,
    Choice,
    Label,
    Module,
    Part,
    Product,
    Rule,
)
from configurator import Configurator

CHOICES = (Choice("a", Label("A")), Choice("b", Label("B")), Choice("c", Label("C")))
PART = Part("BOLT", Label("Bolt"))


def int_attr(code: str, low: int, span: int, step: int, default: int | None = None) -> Attribute:
    return Attribute(
        code,
        AttributeKind.INT,
        Label(code),
        minimum=low,
        maximum=low + span * step,
        step=step,
        default=default,
    )


@st.composite
def products(draw: st.DrawFn) -> Catalog:
    p0 = int_attr("p0", draw(st.integers(-1, 2)), draw(st.integers(1, 4)), draw(st.sampled_from([1, 2])))
    p1 = Attribute("p1", AttributeKind.BOOL, Label("p1"))
    p2 = Attribute("p2", AttributeKind.ENUM, Label("p2"), choices=CHOICES[: draw(st.integers(2, 3))])
    p3 = Attribute("p3", AttributeKind.SET, Label("p3"), choices=CHOICES[:2])
    # Module N, nested in M: one int attribute, maybe a rule.
    n_default = draw(st.one_of(st.none(), st.integers(0, 6)))
    n0 = int_attr("n0", draw(st.integers(0, 3)), draw(st.integers(1, 4)), 1, default=n_default)
    n_rules = tuple(
        Rule("n-rule", Label("N rule", "N 规则"), text=f"n0 != {draw(st.integers(0, 6))}")
        for _ in range(draw(st.integers(0, 1)))
    )
    n_param = draw(
        st.sampled_from(
            [None, "m0", "m0 - 1", "if(m1, m0, 2)", str(draw(st.sampled_from(list(n0.domain()))))]
        )
    )
    n_line = BomLine(
        10,
        "N",
        qty=draw(st.sampled_from(["1", "if(m1, 1, 0)", "m0 - 1"])),
        when=draw(st.sampled_from([None, "m1", "m0 > 2"])),
        params=(("n0", n_param),) if n_param is not None else (),
    )
    module_n = Module("N", Label("N"), components=(BomLine(10, "BOLT"),), attributes=(n0,), rules=n_rules)
    # Module M: an int and a bool, rules over them, N as a component (sometimes).
    m0 = int_attr("m0", draw(st.integers(-1, 3)), draw(st.integers(1, 4)), draw(st.sampled_from([1, 2])))
    m1 = Attribute("m1", AttributeKind.BOOL, Label("m1"), default=draw(st.sampled_from([None, True, False])))
    m_rules = tuple(
        Rule(f"m-rule-{i}", Label(f"M rule {i}"), text=text)
        for i, text in enumerate(
            draw(
                st.lists(
                    st.sampled_from(
                        [f"m0 >= {k} -> m1" for k in range(0, 5)]
                        + [f"m0 != {k}" for k in range(0, 5)]
                        + ["m1 or m0 < 3"]
                    ),
                    max_size=2,
                    unique=True,
                )
            )
        )
    )
    if draw(st.booleans()):
        low = draw(st.sampled_from(list(m0.domain())))
        high = draw(st.sampled_from([v for v in m0.domain() if v >= low]))
        m_rules += (
            Rule(
                "m-table",
                Label("M table"),
                columns=("m1", "m0"),
                rows=((True, "*"), (False, f"{low}..{high}")),
            ),
        )
    m_components = (BomLine(10, "BOLT"), *((n_line,) if draw(st.booleans()) else ()))
    m2 = Attribute(
        "m2",
        AttributeKind.SET,
        Label("m2"),
        choices=CHOICES,
        max_count=draw(st.integers(0, 2)),
        default_set=("c",),
    )
    if draw(st.booleans()):
        m_rules += (
            Rule(
                "m-set",
                Label("M set"),
                text=draw(st.sampled_from(["has(m2, a) -> m1", "count(m2) <= m0", "not has(m2, b)"])),
            ),
        )
    module_m = Module("M", Label("M"), components=m_components, attributes=(m0, m1, m2), rules=m_rules)
    # A plain module holding a second use of N with a constant parameter (sometimes).
    constant = draw(st.sampled_from(list(n0.domain())))
    plain = Module("PLAIN", Label("Plain"), components=(BomLine(10, "N", params=(("n0", str(constant)),)),))
    m_params = [
        (
            "m0",
            draw(
                st.sampled_from(
                    [
                        "p0",
                        "p0 + 1",
                        "p0 * 2",
                        "if(p1, p0, 1)",
                        str(draw(st.sampled_from(list(m0.domain())))),
                        "p0 / 2",
                    ]
                )
            ),
        )
    ]
    m1_param = draw(st.sampled_from([None, "p1", "not p1", "p2 == a", "p2 != b and p1"]))
    if m1_param is not None:
        m_params.append(("m1", m1_param))
    if draw(st.booleans()):
        m_params.append(("m2", "p3"))
    bom = [
        BomLine(10, "BOLT", qty="2"),
        BomLine(
            20,
            "M",
            qty=draw(st.sampled_from(["1", "if(p1, 0, 1)", "p0", "2"])),
            when=draw(st.sampled_from([None, "p1", "p0 > 1", "p2 == b"])),
            params=tuple(m_params),
        ),
    ]
    if draw(st.booleans()):
        bom.append(BomLine(30, "PLAIN", when=draw(st.sampled_from([None, "not p1"]))))
    if draw(st.booleans()):
        bom.append(BomLine(40, "M", when="p2 == a and p0 > 0", params=(("m0", "p0"), ("m1", "true"))))
    product = Product("p", Label("P"), Decimal("1"), (p0, p1, p2, p3), bom=tuple(bom))
    return Catalog("prop", Label("Prop"), "CNY", (PART,), (module_m, module_n, plain), (product,))


def values(a: Attribute) -> list[object]:
    """Every value of an attribute (a set attribute: every subset of its elements)."""
    if a.kind is AttributeKind.SET:
        elements = [c.code for c in a.choices]
        return [frozenset(s) for n in range(len(elements) + 1) for s in itertools.combinations(elements, n)]
    return list(a.domain())


def explodes(catalog: Catalog, configuration: dict[str, object]) -> bool:
    try:
        explode(catalog, "p", configuration)
    except BomError:
        return False
    return True


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(catalog=products(), backend=st.sampled_from(["mdd", "ddnnf", "sat"]))
def test_the_configurator_accepts_exactly_what_explodes(catalog: Catalog, backend: str) -> None:
    product = catalog.product("p")
    key = hashlib.sha256(repr(catalog).encode()).hexdigest()[:24]
    conf = Configurator(product, catalog_key=f"prop-modules-{key}-{backend}", backend=backend)
    codes = [a.code for a in product.attributes]
    configurations = [
        dict(zip(codes, v, strict=True)) for v in itertools.product(*(values(a) for a in product.attributes))
    ]
    valid = [c for c in configurations if not conf.validate(c)]
    assert valid == [c for c in configurations if explodes(catalog, c)]
    assert conf.count([]) == len(valid)
    if valid:
        completed = conf.complete([])
        assert completed in valid
