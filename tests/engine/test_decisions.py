"""Decisions: parsing text, checking values, "later replaces earlier"."""

from __future__ import annotations

import pytest

from catalog.snapshot import Product
from configurator.decisions import (
    Decision,
    InvalidValue,
    SetElement,
    UnknownAttribute,
    check_decision,
    effective_decisions,
    parse_decision,
    parse_value,
)


@pytest.mark.parametrize(
    ("attribute", "text", "expected"),
    [
        ("rack", "true", True),
        ("rack", "False", False),
        ("rack", "yes", True),
        ("gears", "7", 7),
        ("gears", " 12 ", 12),
        ("frame", "steel", "steel"),
        ("acc", "bell,lock", frozenset({"bell", "lock"})),
        ("acc", "lock, bell", frozenset({"bell", "lock"})),
        ("acc", "", frozenset()),
    ],
)
def test_parse_value_accepts_cli_spellings(product: Product, attribute: str, text: str, expected: object) -> None:
    assert parse_value(product.attribute(attribute), text) == expected


@pytest.mark.parametrize(
    ("attribute", "text", "allowed"),
    [
        ("rack", "maybe", "true or false"),
        ("gears", "13", "an integer 1..12"),
        ("gears", "seven", "an integer 1..12"),
        ("frame", "titanium", "one of {aluminium, steel, carbon}"),
        ("acc", "bell,horn", "subset of {bell, lights, lock}"),
        ("acc", "bell,,lock", "subset of"),
    ],
)
def test_parse_value_rejects_values_outside_the_domain(
    product: Product, attribute: str, text: str, allowed: str
) -> None:
    with pytest.raises(InvalidValue) as info:
        parse_value(product.attribute(attribute), text)
    assert info.value.reason == "invalid_value"
    assert info.value.attribute == attribute
    assert allowed in str(info.value)


def test_parse_decision_reads_set_element_toggles(product: Product) -> None:
    assert parse_decision(product, "acc=+lock") == SetElement("acc", "lock", True)
    assert parse_decision(product, "acc=-bell") == SetElement("acc", "bell", False)
    assert parse_decision(product, "acc=bell") == Decision("acc", frozenset({"bell"}))


def test_unknown_attribute_suggests_close_names(product: Product) -> None:
    with pytest.raises(UnknownAttribute) as info:
        parse_decision(product, "fram=steel")
    assert info.value.reason == "unknown_attribute"
    assert info.value.suggestions == ("frame",)
    assert "did you mean frame" in str(info.value)


def test_check_decision_rejects_element_toggle_on_a_non_set_attribute(product: Product) -> None:
    with pytest.raises(InvalidValue):
        check_decision(product, SetElement("frame", "steel"))


def test_check_decision_rejects_a_bool_for_an_int_attribute(product: Product) -> None:
    with pytest.raises(InvalidValue):
        check_decision(product, Decision("gears", True))


def test_later_decision_replaces_earlier_one_on_the_same_attribute() -> None:
    got = effective_decisions([Decision("frame", "steel"), Decision("rack", True), Decision("frame", "carbon")])
    assert got == (Decision("rack", True), Decision("frame", "carbon"))


def test_element_toggles_replace_each_other_per_element() -> None:
    got = effective_decisions([SetElement("acc", "bell"), SetElement("acc", "lock"), SetElement("acc", "bell", False)])
    assert got == (SetElement("acc", "lock"), SetElement("acc", "bell", False))


def test_element_toggle_folds_into_an_earlier_whole_set_decision() -> None:
    got = effective_decisions([Decision("acc", frozenset({"bell"})), Decision("rack", True), SetElement("acc", "lock")])
    assert got == (Decision("rack", True), Decision("acc", frozenset({"bell", "lock"})))


def test_whole_set_decision_replaces_earlier_element_toggles() -> None:
    got = effective_decisions([SetElement("acc", "bell"), Decision("acc", frozenset({"lock"}))])
    assert got == (Decision("acc", frozenset({"lock"})),)
