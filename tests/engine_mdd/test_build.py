"""Products compiled into models: variables, constraints, rule meaning, errors, order."""

from __future__ import annotations

import itertools
import math
from decimal import Decimal
from pathlib import Path

import pytest

from catalog.files.load import load_catalog_file
from catalog.snapshot import Attribute, AttributeKind, Choice, Label, Product, Rule, SourceLoc, Value
from configurator.backends.brute import BruteBackend
from configurator.backends.mdd import MddBackend
from configurator.build import attribute_order, build_model
from configurator.model import Model
from configurator.rules import RuleError, RuleSetInvalid, TableError, UnknownReference

FULL_CATALOG = Path(__file__).resolve().parents[1] / "catalog_files" / "full_catalog.yaml"


def _enum(code: str, *values: str) -> Attribute:
    return Attribute(
        code, AttributeKind.ENUM, Label(code), choices=tuple(Choice(v, Label(v)) for v in values)
    )


def _int(code: str, lo: int, hi: int, step: int = 1) -> Attribute:
    return Attribute(code, AttributeKind.INT, Label(code), minimum=lo, maximum=hi, step=step)


def _bool(code: str) -> Attribute:
    return Attribute(code, AttributeKind.BOOL, Label(code))


def _set(code: str, *values: str, lo: int = 0, hi: int | None = None) -> Attribute:
    return Attribute(
        code,
        AttributeKind.SET,
        Label(code),
        choices=tuple(Choice(v, Label(v)) for v in values),
        min_count=lo,
        max_count=hi,
    )


def _product(*attrs: Attribute, rules: tuple[Rule, ...] = ()) -> Product:
    return Product("p", Label("P"), Decimal("0"), attrs, rules=rules)


def _rule(rid: str, text: str) -> Rule:
    return Rule(
        rid, Label(rid), text=text, loc=SourceLoc("cat.yaml", 10, 5), text_loc=SourceLoc("cat.yaml", 10, 13)
    )


def _table(
    rid: str, columns: tuple[str, ...], rows: tuple[tuple[object, ...], ...], allow: bool = True
) -> Rule:
    return Rule(rid, Label(rid), columns=columns, rows=rows, allow=allow, loc=SourceLoc("cat.yaml", 20, 5))  # type: ignore[arg-type]


def _solutions(m: Model) -> list[tuple[Value, ...]]:
    out = []
    for values in itertools.product(*(v.domain for v in m.variables)):
        env = dict(zip((v.name for v in m.variables), values, strict=True))
        if all(c.predicate(*(env[s] for s in c.scope)) for c in m.constraints):
            out.append(values)
    return out


def test_attributes_become_variables_and_set_elements() -> None:
    m = build_model(
        _product(_enum("frame", "steel", "carbon"), _int("gears", 1, 9, 4), _set("extras", "bell", "lock")),
        key="b1",
    )
    assert [(v.name, v.domain, v.attribute, v.element) for v in m.variables] == [
        ("frame", ("steel", "carbon"), "frame", None),
        ("gears", (1, 5, 9), "gears", None),
        ("extras[bell]", (False, True), "extras", "bell"),
        ("extras[lock]", (False, True), "extras", "lock"),
    ]
    assert m.set_elements == {"extras": ("extras[bell]", "extras[lock]")}
    assert m.key == "b1"


@pytest.mark.parametrize(
    ("lo", "hi", "counts"),
    [(1, 2, {1, 2}), (0, 1, {0, 1}), (2, None, {2, 3}), (3, 3, {3})],
)
def test_set_cardinality_becomes_a_count_constraint(lo: int, hi: int | None, counts: set[int]) -> None:
    m = build_model(_product(_set("extras", "a", "b", "c", lo=lo, hi=hi)), key=f"card{lo}{hi}")
    (card,) = m.constraints
    assert card.rule_id == "extras:count"
    assert {sum(bool(x) for x in s) for s in _solutions(m)} == counts
    assert card.allowed == frozenset(
        t for t in itertools.product((False, True), repeat=3) if sum(t) in counts
    )


def test_unlimited_set_adds_no_constraint() -> None:
    assert build_model(_product(_set("extras", "a", "b")), key="free").constraints == ()


def test_rule_scope_is_the_referenced_attributes_and_sets_are_rebuilt() -> None:
    p = _product(
        _bool("rack"),
        _set("extras", "bell", "lights", "lock"),
        _int("gears", 1, 3),
        rules=(_rule("r", "has(extras, lights) -> count(extras) <= gears"),),
    )
    m = build_model(p, key="b2")
    (c,) = m.constraints
    assert c.scope == ("extras[bell]", "extras[lights]", "extras[lock]", "gears")
    assert c.allowed is None
    assert c.predicate(True, True, True, 2) is False
    assert c.predicate(True, True, True, 3) is True
    assert c.predicate(True, False, True, 1) is True


def test_division_by_zero_makes_a_rule_fail_instead_of_raising() -> None:
    m = build_model(_product(_int("a", 0, 2), _int("b", 0, 2), rules=(_rule("d", "a / b >= 1"),)), key="div")
    (c,) = m.constraints
    assert c.predicate(2, 0) is False
    assert c.predicate(2, 1) is True


def test_allow_table_expands_ranges_lists_and_wildcards() -> None:
    p = _product(
        _enum("frame", "alu", "steel", "carbon"),
        _int("gears", 1, 12),
        rules=(_table("t", ("frame", "gears"), (("alu", "1..12"), ("steel", "1..8"), ("carbon", (11, 12)))),),
    )
    (c,) = build_model(p, key="tab").constraints
    assert c.scope == ("frame", "gears")
    assert c.allowed is not None and len(c.allowed) == 12 + 8 + 2
    assert ("carbon", 11) in c.allowed and ("carbon", 10) not in c.allowed
    assert c.predicate("steel", 8) and not c.predicate("steel", 9)


def test_forbid_table_is_complemented() -> None:
    p = _product(
        _bool("rack"),
        _enum("frame", "alu", "carbon"),
        rules=(_table("f", ("rack", "frame"), ((True, "carbon"),), allow=False),),
    )
    (c,) = build_model(p, key="forbid").constraints
    assert c.allowed == frozenset({(False, "alu"), (False, "carbon"), (True, "alu")})
    assert not c.predicate(True, "carbon")


def test_large_table_keeps_only_its_predicate() -> None:
    p = _product(
        _int("w", 0, 999),
        _int("h", 0, 999),
        _int("d", 0, 9),
        rules=(_table("big", ("w", "h", "d"), (("*", "*", 3),), allow=False),),
    )
    (c,) = build_model(p, key="bigtab").constraints
    assert c.allowed is None
    assert c.predicate(5, 5, 4) and not c.predicate(5, 5, 3)


def test_unknown_attribute_in_a_rule_is_raised_with_its_place() -> None:
    p = _product(_bool("rack"), rules=(_rule("r1", "rack and colour"),))
    with pytest.raises(UnknownReference) as info:
        build_model(p, key="bad")
    err = info.value
    assert err.where == "rule r1"
    assert err.source == SourceLoc("cat.yaml", 10, 13 + len("rack and "))


def test_bad_table_cell_is_raised_with_its_place() -> None:
    p = _product(_int("gears", 1, 12), rules=(_table("t", ("gears",), (("20..30",),)),))
    with pytest.raises(TableError, match="row 1, column gears") as info:
        build_model(p, key="badtab")
    assert info.value.where == "rule t"
    assert info.value.source == SourceLoc("cat.yaml", 20, 5)


def test_several_problems_in_one_rule_are_all_raised() -> None:
    p = _product(_bool("rack"), rules=(_rule("r1", "rack and colour == red"),))
    with pytest.raises(RuleSetInvalid, match="colour"):
        build_model(p, key="bad2")


def test_syntax_error_is_not_swallowed() -> None:
    with pytest.raises(RuleError):
        build_model(_product(_bool("rack"), rules=(_rule("s", "rack and"),)), key="syntax")


def test_greedy_order_keeps_modules_together() -> None:
    codes = ["a1", "b1", "a2", "b2", "a3", "b3"]
    scopes = [("a1", "a2"), ("a2", "a3"), ("b1", "b2"), ("b2", "b3")]
    assert attribute_order(codes, scopes) == ["a1", "a2", "a3", "b1", "b2", "b3"]


def test_declaration_order_is_kept_when_already_clustered() -> None:
    codes = ["a", "b", "c", "d"]
    assert attribute_order(codes, [("a", "b"), ("c", "d")]) == codes


def test_model_variables_follow_the_chosen_order() -> None:
    p = _product(
        _bool("a1"),
        _bool("b1"),
        _bool("a2"),
        _bool("b2"),
        rules=(_rule("x", "a1 -> a2"), _rule("y", "b1 -> b2")),
    )
    assert [v.name for v in build_model(p, key="ord").variables] == ["a1", "a2", "b1", "b2"]


@pytest.mark.skipif(not FULL_CATALOG.is_file(), reason="tests/catalog_files/full_catalog.yaml missing")
def test_catalog_products_compile_and_the_mdd_agrees_with_brute_force() -> None:
    catalog = load_catalog_file(FULL_CATALOG)
    for product in catalog.products:
        m = build_model(product, key=f"full-catalog:{product.code}")
        # The whole space, enumerated: the catalog's decimal saddle (9 values) took it past the brute
        # force's default limit of one million (1,866,240 combinations, a few seconds per pass).
        space = math.prod(len(v.domain) for v in m.variables)
        assert space <= 4_000_000, f"{product.code}: {space} combinations; shrink the test catalog"
        brute = BruteBackend(m, limit=space)
        mdd = MddBackend(m)
        assert mdd.count({}) == brute.count({}) > 0
        assert mdd.propagate({}) == brute.propagate({})
        assert mdd.solve({}) == brute.solve({})
