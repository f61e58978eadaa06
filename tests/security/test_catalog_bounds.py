"""Catalogs are bounded in meaning: domain sizes, numbers and nesting are refused with a position."""

from __future__ import annotations

import time

import pytest

from catalog.files import CatalogInvalid, CatalogLimits, load_catalog_text
from catalog.snapshot import Attribute, AttributeKind, Label
from configurator.rules.catalog_check import expression_checker

HEAD = "format: c2m-catalog/1\ncode: x\nname: X\ncurrency: CNY\n"


def product(attributes: str) -> str:
    return HEAD + f"products:\n  - code: p\n    name: P\n    base_price: '1'\n    attributes:\n{attributes}"


def problems(text: str, filename: str = "f.yaml", **kwargs: object) -> list[str]:
    with pytest.raises(CatalogInvalid) as caught:
        load_catalog_text(text, filename=filename, expression_checker=expression_checker, **kwargs)  # type: ignore[arg-type]
    return [str(p) for p in caught.value.problems]


def test_an_int_range_is_symbolic() -> None:
    attribute = Attribute("n", AttributeKind.INT, Label("n"), minimum=0, maximum=10**15)
    started = time.perf_counter()
    domain = attribute.domain()
    assert len(domain) == 10**15 + 1 and 10**14 in domain and -1 not in domain
    assert time.perf_counter() - started < 0.1


def test_the_poison_range_is_refused_naming_the_attribute_and_the_limit() -> None:
    found = problems(product("      - {code: n, name: N, type: int, min: 0, max: 999999, default: 0}\n"))
    assert len(found) == 1
    assert found[0].startswith("f.yaml:10:9: ")
    assert "'n' offers 1,000,000 values" in found[0] and "at most 10,000" in found[0]


def test_a_step_brings_a_wide_range_within_the_limit() -> None:
    text = product("      - {code: n, name: N, type: int, min: 0, max: 999999, step: 1000, default: 0}\n")
    catalog = load_catalog_text(text, expression_checker=expression_checker)
    assert catalog.product("p").attribute("n").domain_size() == 1000


def test_a_huge_enum_is_refused() -> None:
    values = ", ".join(f"v{i}" for i in range(10_001))
    found = problems(product(f"      - {{code: e, name: E, type: enum, values: [{values}]}}\n"))
    assert any("'e' offers 10,001 values" in p for p in found), found


def test_the_model_limit_adds_up_every_attribute() -> None:
    attributes = "".join(
        f"      - {{code: n{i}, name: N, type: int, min: 0, max: 999, default: 0}}\n" for i in range(5)
    )
    found = problems(product(attributes), limits=CatalogLimits(max_model_values=4000))
    assert len(found) == 1 and "5,000 values together" in found[0] and "at most 4,000" in found[0], found
    assert found[0].startswith("f.yaml:6:5: ")
    load_catalog_text(product(attributes), limits=CatalogLimits(max_model_values=5000))


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("parts:\n  - {code: A, name: A, lead_time_days: 999999999999}\n", "f.yaml:6:40", "at most 3650"),
        ('parts:\n  - {code: A, name: A, cost: "1e999999999"}\n', "f.yaml:6:30", "at most 1000000000000"),
        ("parts:\n  - {code: A, name: A, cost: 1e999999999}\n", "f.yaml:6:30", "at most 1000000000000"),
        ('parts:\n  - {code: A, name: A, cost: "0.0000001"}\n', "f.yaml:6:30", "at most 6 decimal places"),
        ("parts:\n  - {code: A, name: A, cost: " + "9" * 100_000 + "}\n", "f.yaml:6:30", "100000 digits"),
        ("parts:\n  - {code: A, name: A, cost: '" + "9" * 5000 + "'}\n", "f.yaml:6:30", "5000 digits"),
    ],
)
def test_numbers_out_of_bounds_are_refused_at_their_position(text: str, where: str, message: str) -> None:
    found = problems(HEAD + text)
    assert any(p.startswith(where) and message in p for p in found), found
    assert all(len(p) < 400 for p in found)  # the number is not echoed in full


def test_a_100000_digit_json_number_is_refused_at_its_position() -> None:
    text = '{"format": "c2m-catalog/1", "code": "x", "name": "X", "currency": "CNY",\n "parts": [{"code": "A", "name": "A", "cost": ' + "1" * 100_000 + "}]}"
    found = problems(text, filename="f.json")
    assert found == ["f.json:2:47: JSON syntax error: a number with 100000 digits: at most 30 digits are accepted"]


def test_quantities_and_table_amounts_are_bounded() -> None:
    text = HEAD + (
        "parts:\n  - {code: A, name: A}\n"
        "products:\n  - code: p\n    name: P\n    base_price: '1'\n"
        "    attributes:\n      - {code: s, name: S, type: enum, values: [a, b]}\n"
        "    prices:\n      - {label: T, table: {columns: [s], rows: [[a, '1e20']]}}\n"
        "    bom:\n      - {pos: 10, item: A, qty: 10000000}\n"
    )
    found = problems(text)
    assert any("rows[0][1]" in p and "must be a decimal number" in p for p in found), found
    assert any("bom[0].qty: must be at most 1000000" in p for p in found), found


@pytest.mark.parametrize(
    ("text", "filename"),
    [("a: " + "[" * 1000 + "]" * 1000, "f.yaml"), ('{"a": ' + "[" * 1000 + "]" * 1000 + "}", "f.json")],
)
def test_over_deep_nesting_is_a_problem_not_a_crash(text: str, filename: str) -> None:
    found = problems(text, filename=filename)
    assert len(found) == 1 and "nesting deeper than 64 levels" in found[0], found


@pytest.mark.parametrize(
    ("text", "filename", "expected"),
    [
        (HEAD.replace("name: X", 'name: "a\\ud800b"'), "f.yaml", "f.yaml:3:7: name: the text contains a lone surrogate U+D800"),
        (HEAD.replace("name: X", 'name: "a\\x00b"'), "f.yaml", "f.yaml:3:7: name: the text contains the control character U+0000"),
        (HEAD.replace("name: X", "name: a\x01b"), "f.yaml", "f.yaml:3:8: YAML error: the text contains the control character U+0001"),
        ('{"format": "c2m-catalog/1", "code": "x", "name": "a\\u0000b", "currency": "CNY"}', "f.json",
         "f.json:1:50: JSON syntax error: the text contains the control character U+0000"),
    ],
)
def test_text_that_cannot_be_stored_is_refused_at_its_position(text: str, filename: str, expected: str) -> None:
    found = problems(text, filename=filename)
    assert [p for p in found if p.startswith(expected)], found
