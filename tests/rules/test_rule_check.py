"""Checker: name resolution, type errors with positions and suggestions, error collection."""

from __future__ import annotations

import pickle

import pytest

from catalog.snapshot import Attribute, AttributeKind, Label
from configurator.rules import (
    RuleError,
    RuleSetInvalid,
    RuleTooComplex,
    RuleTypeError,
    UnknownReference,
    UnknownValue,
    check_all,
    check_expression,
    evaluate,
    parse_expression,
)
from configurator.rules.ast import Binary, Call, Expr, In, Int, Name, Str, Unary

from .bike_attributes import BIKE_ATTRIBUTES, FRAME, SIZE, WIDTH


def check(text: str, kind: str = "rule", attributes: tuple[Attribute, ...] = BIKE_ATTRIBUTES) -> Expr:
    return check_expression(parse_expression(text), attributes, kind=kind, rule_id="r1")


def errors(text: str, kind: str = "rule") -> list[RuleError]:
    return check_all(parse_expression(text), BIKE_ATTRIBUTES, kind=kind, rule_id="r1")


def test_bare_value_codes_become_strings_and_attributes_stay_names() -> None:
    assert check("frame_material == carbon -> not rack") == Binary(
        "->", Binary("==", Name("frame_material"), Str("carbon")), Unary("not", Name("rack"))
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("carbon == frame_material", Binary("==", Str("carbon"), Name("frame_material"))),
        ("frame_size in {S, 'M'}", In(Name("frame_size"), (Str("S"), Str("M")))),
        ("frame_size not in {XL}", In(Name("frame_size"), (Str("XL"),), negated=True)),
        ("has(accessories, lights)", Call("has", (Name("accessories"), Str("lights")))),
        (
            "frame_size == if(rack, L, M)",
            Binary("==", Name("frame_size"), Call("if", (Name("rack"), Str("L"), Str("M")))),
        ),
        (
            "if(rack, L, M) == frame_size",
            Binary("==", Call("if", (Name("rack"), Str("L"), Str("M"))), Name("frame_size")),
        ),
        ('wheel == "700c"', Binary("==", Name("wheel"), Str("700c"))),
    ],
)
def test_values_resolve_in_every_value_position(text: str, expected: object) -> None:
    assert check(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "count(accessories) <= 2 and has(accessories, bell)",
        "gears in {1..3, 8} or width >= 1200",
        "rack <-> express",
        "rack == true",
        "frame_material != steel -> gears > 3",
        "width / 3 * 3 == width",
        "min(gears, 3) + max(1, 2) + abs(-gears) + ceil(width / 7) + floor(1) + round(gears / 2) > 0",
        "if(rack, gears, 1) >= 2",
        "rack * 50 + 1 > 2",
        "frame_size == frame_size",
        "not (rack and express)",
    ],
)
def test_well_typed_rules_pass(text: str) -> None:
    assert errors(text) == []


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("gears * 40", "formula"),
        ("3000.00", "formula"),
        ("-50.00", "formula"),
        ("width / 500 + 1", "formula"),
        ("width * 0.35", "formula"),
        ("rack * 50", "formula"),
        ("if(express, 10, 0)", "formula"),
        ("frame_size", "param"),
        ("rack", "param"),
        ("gears + 1", "param"),
        ("'M'", "param"),
    ],
)
def test_formulas_and_params(text: str, kind: str) -> None:
    assert errors(text, kind) == []


def test_unknown_value_names_the_allowed_values() -> None:
    with pytest.raises(UnknownValue) as info:
        check("frame_material == titanium")
    err = info.value
    assert err.reason == "unknown_value"
    assert (err.rule_id, err.line, err.column) == ("r1", 1, 19)
    assert err.allowed == ("aluminium", "steel", "carbon")
    assert err.attribute == "frame_material"
    assert "'titanium' is not a value of frame_material (values: aluminium, steel, carbon)" in err.detail


@pytest.mark.parametrize(
    ("text", "name", "suggestion"),
    [
        ("frame_materal == carbon", "frame_materal", "frame_material"),
        ("rack and expres", "expres", "express"),
        ("count(accesories) > 1", "accesories", "accessories"),
    ],
)
def test_unknown_names_suggest_close_attributes(text: str, name: str, suggestion: str) -> None:
    found = [e for e in errors(text) if isinstance(e, UnknownReference)]
    assert found and found[0].name == name
    assert found[0].reason == "unknown_reference"
    assert suggestion in found[0].suggestions
    assert f"did you mean {suggestion!r}" in found[0].detail


def test_unknown_values_suggest_close_values_case_insensitively() -> None:
    [err] = errors('frame_size == "xl"')
    assert isinstance(err, UnknownValue) and err.suggestions[0] == "XL"
    [err] = errors("has(accessories, bel)")
    assert isinstance(err, UnknownValue) and err.suggestions == ("bell",)
    assert (err.line, err.column) == (1, 18)


def test_a_lone_value_code_explains_how_to_compare_it() -> None:
    [err] = errors("carbon")
    assert isinstance(err, UnknownReference)
    assert "it is a value of frame_material, so compare it: frame_material == carbon" in err.detail


@pytest.mark.parametrize(
    ("text", "column", "words"),
    [
        ("gears and rack", 1, "'and' needs true or false, but gears is a number"),
        ("rack and frame_material", 10, "compare it with a value, e.g. frame_material == aluminium"),
        ("accessories == bell", 1, "use has(accessories, value) or count(accessories)"),
        ("accessories in {bell}", 1, "'in' cannot test the set accessories"),
        ("frame_material < steel", 1, "the choices of frame_material have no order"),
        ("count(rack) > 1", 7, "count() takes a set attribute, but rack is true or false"),
        ("has(frame_material, carbon)", 5, "has() takes a set attribute"),
        ("wheel == 29", 1, 'value codes are text: quote it, "29"'),
        ("frame_size in {S, 1..3}", 19, "a range like 1..3 only matches numbers"),
        ("gears in {5..1}", 11, "the range 5..1 is empty"),
        ("gears == rack", 1, "cannot compare gears (a number) with rack (true or false)"),
        ("frame_material == frame_size", 1, "share no value, so they are never equal"),
        ("frame_material + 1 > 2", 1, "'+' needs numbers, but frame_material is a choice of frame_material"),
        ("-rack and true", 1, "'and' needs true or false, but -rack is a number"),
        ("if(gears, 1, 2) > 0", 4, "the condition of if() needs true or false"),
        ("if(rack, 1, true)", 1, "the two branches of if() must be of one kind"),
        ("gears", 1, "a rule needs true or false, but gears is a number; compare it, e.g. gears > 0"),
        ("frame_material", 1, "compare it with a value"),
    ],
)
def test_type_errors_have_position_and_plain_words(text: str, column: int, words: str) -> None:
    found = errors(text)
    assert found, text
    assert all(e.rule_id == "r1" for e in found)
    assert any(isinstance(e, RuleTypeError) and e.column == column and words in e.detail for e in found), [
        str(e) for e in found
    ]


def test_formula_must_be_a_number() -> None:
    [err] = errors("rack", "formula")
    assert "a formula needs numbers, but rack is true or false; use if(rack, 1, 0)" in err.detail
    [err] = errors("gears > 3", "formula")
    assert isinstance(err, RuleTypeError)


def test_condition_must_be_true_or_false() -> None:
    [err] = errors("gears + 1", "condition")
    assert "a condition needs true or false" in err.detail


def test_all_errors_of_one_expression_are_collected_in_order() -> None:
    with pytest.raises(RuleSetInvalid) as info:
        check("gears and gaers or frame_material == titanium")
    err = info.value
    assert err.reason == "rule_set_invalid"
    assert [e.reason for e in err.errors] == ["rule_type", "unknown_reference", "unknown_value"]
    assert [e.column for e in err.errors] == [1, 11, 38]


def test_attribute_wins_over_a_value_with_the_same_code() -> None:
    steel = Attribute("steel", AttributeKind.BOOL, Label("Steel"))
    attrs = (FRAME, steel)
    with pytest.raises(RuleTypeError) as info:
        check("frame_material == steel", attributes=attrs)
    assert 'to mean the value, quote it: "steel"' in info.value.detail
    assert check('frame_material == "steel"', attributes=attrs) == Binary(
        "==", Name("frame_material"), Str("steel")
    )


def test_param_target_resolves_values_and_checks_kind() -> None:
    [err] = check_all(parse_expression("gears"), BIKE_ATTRIBUTES, kind="param", target=SIZE)
    assert "the parameter frame_size is enum, but gears is a number" in err.detail
    resolved = check_expression(parse_expression("XL"), BIKE_ATTRIBUTES, kind="param", target=SIZE)
    assert resolved == Str("XL")
    [err] = check_all(parse_expression("XXL"), BIKE_ATTRIBUTES, kind="param", target=SIZE)
    assert isinstance(err, UnknownValue)


def test_hand_built_trees_deeper_than_the_limit_are_reported_not_recursed() -> None:
    tree: Binary | Name = Name("rack")
    for _ in range(3000):
        tree = Binary("and", tree, Name("rack"))
    [err] = check_all(tree, BIKE_ATTRIBUTES, kind="rule")
    assert isinstance(err, RuleTooComplex)


def test_hand_built_calls_with_wrong_arity_are_type_errors() -> None:
    [err] = check_all(Call("has", (Name("accessories"),)), BIKE_ATTRIBUTES, kind="rule")
    assert "has() takes 2 arguments, got 1" in err.detail


def test_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown expression kind"):
        check_all(Int(1), BIKE_ATTRIBUTES, kind="price")


def test_checked_expressions_evaluate() -> None:
    rule = check("frame_material == carbon -> not rack")
    assert evaluate(rule, {"frame_material": "carbon", "rack": False}) is True
    assert evaluate(rule, {"frame_material": "carbon", "rack": True}) is False
    has = check("has(accessories, lights) and count(accessories) <= 2")
    assert evaluate(has, {"accessories": frozenset({"lights"})}) is True
    member = check("frame_size in {S, M}")
    assert evaluate(member, {"frame_size": "M"}) is True


def test_constant_int_params_must_be_in_the_module_domain() -> None:
    assert check_all(parse_expression("450"), BIKE_ATTRIBUTES, kind="param", target=WIDTH) == []
    [err] = check_all(parse_expression("425"), BIKE_ATTRIBUTES, kind="param", target=WIDTH)
    assert err.detail == "425 is not a value of width (400..2400 step 50)"
    [err] = check_all(parse_expression("-50"), BIKE_ATTRIBUTES, kind="param", target=WIDTH)
    assert "-50 is not a value of width" in err.detail


def test_errors_survive_pickling() -> None:
    with pytest.raises(RuleSetInvalid) as info:
        check("gears and gaers or frame_material == titanium")
    copy = pickle.loads(pickle.dumps(info.value))
    assert [str(e) for e in copy.errors] == [str(e) for e in info.value.errors]
    assert isinstance(copy.errors[2], UnknownValue) and copy.errors[2].allowed == (
        "aluminium",
        "steel",
        "carbon",
    )
