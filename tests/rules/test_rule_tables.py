"""Table cells: values, ranges, lists and "*" against the column's domain."""

from __future__ import annotations

import pytest

from catalog.snapshot import Attribute, Label, Rule
from configurator.rules import (
    CellError,
    TableError,
    allowed_tuples,
    check_table_rule,
    parse_cell,
    row_matches,
    row_sets,
)

from .bike_attributes import ACCESSORIES, BIKE_ATTRIBUTES, FRAME, GEARS, RACK, WHEEL, WIDTH


@pytest.mark.parametrize(
    ("cell", "attribute", "expected"),
    [
        ("carbon", FRAME, {"carbon"}),
        (["carbon", "steel"], FRAME, {"carbon", "steel"}),
        (("carbon",), FRAME, {"carbon"}),
        ("*", FRAME, {"aluminium", "steel", "carbon"}),
        (" * ", FRAME, {"aluminium", "steel", "carbon"}),
        (29, WHEEL, {"29"}),
        (True, RACK, {True}),
        ("false", RACK, {False}),
        ("*", RACK, {False, True}),
        (8, GEARS, {8}),
        ("8", GEARS, {8}),
        ("1..3", GEARS, {1, 2, 3}),
        (" 11 .. 12 ", GEARS, {11, 12}),
        ([1, "10..12"], GEARS, {1, 10, 11, 12}),
        ("400..500", WIDTH, {400, 450, 500}),
        ("420..480", WIDTH, {450}),
    ],
)
def test_cells_match_the_right_values(cell: object, attribute: Attribute, expected: set[object]) -> None:
    assert parse_cell(cell, attribute) == frozenset(expected)


@pytest.mark.parametrize(
    ("cell", "attribute", "words"),
    [
        ("titanium", FRAME, "'titanium' is not a value of frame_material"),
        ("carbn", FRAME, "did you mean 'carbon'?"),
        (True, FRAME, 'quote value codes such as "yes"/"no"'),
        ("1..3", FRAME, "only fits a number column"),
        ("yes", RACK, "is not true or false"),
        (13, GEARS, "13 is not a value of gears (1..12 step 1)"),
        (425, WIDTH, "425 is not a value of width"),
        ("0..3", GEARS, "goes outside gears's 1..12"),
        ("5..2", GEARS, "is empty"),
        ("410..440", WIDTH, "contains no value of width (step 50)"),
        ("many", GEARS, "is not a number or a range"),
        ([], GEARS, "an empty list matches nothing"),
        ([[1]], GEARS, "a list inside a list"),
        ("bell", ACCESSORIES, "set attribute"),
        (False, GEARS, "is not a number"),
    ],
)
def test_bad_cells_say_why(cell: object, attribute: Attribute, words: str) -> None:
    with pytest.raises(CellError) as info:
        parse_cell(cell, attribute)
    assert words in str(info.value)
    assert info.value.reason == "rule_table"


def _table(
    rows: tuple[tuple[object, ...], ...],
    allow: bool = True,
    columns: tuple[str, ...] = ("frame_material", "gears"),
) -> Rule:
    return Rule("gears-by-material", Label("m"), columns=columns, rows=rows, allow=allow)  # type: ignore[arg-type]


def test_table_rule_problems_are_all_reported_with_row_and_column() -> None:
    rule = _table((("aluminium", "1..12"), ("steel", 13), ("carbn", [11, 12]), ("steel",)))
    found = [e.detail for e in check_table_rule(rule, BIKE_ATTRIBUTES)]
    assert found == [
        "row 2, column gears: 13 is not a value of gears (1..12 step 1)",
        "row 3, column frame_material: 'carbn' is not a value of frame_material "
        "(values: aluminium, steel, carbon); did you mean 'carbon'?",
        "row 4 has 1 cells but the table has 2 columns",
    ]


def test_table_columns_must_be_known_single_valued_attributes() -> None:
    rule = _table((("a", "b", "c"),), columns=("frame_materal", "accessories", "gears"))
    found = [e.detail for e in check_table_rule(rule, BIKE_ATTRIBUTES)]
    assert (
        "column 'frame_materal' is not an attribute of this product; did you mean 'frame_material' or 'frame_size'?"
        in found
    )
    assert any("'accessories' is a set attribute" in f for f in found)
    assert any("row 1, column gears" in f for f in found)


def test_allow_and_forbid_tables_expand_to_allowed_tuples() -> None:
    allow = _table((("carbon", [11, 12]), ("steel", "1..2")))
    assert allowed_tuples(allow, BIKE_ATTRIBUTES) == {
        ("carbon", 11),
        ("carbon", 12),
        ("steel", 1),
        ("steel", 2),
    }
    forbid = _table((("carbon", "*"),), allow=False)
    tuples = allowed_tuples(forbid, BIKE_ATTRIBUTES)
    assert len(tuples) == 2 * 12 and all(m != "carbon" for m, _ in tuples)


def test_row_sets_and_matching() -> None:
    rule = _table((("carbon", [11, 12]),))
    [row] = row_sets(rule, BIKE_ATTRIBUTES)
    assert row_matches(row, ("carbon", 11))
    assert not row_matches(row, ("carbon", 10))


def test_row_sets_raise_the_first_problem() -> None:
    with pytest.raises(TableError, match="row 1, column gears: 99 is not a value"):
        row_sets(_table((("carbon", 99),)), BIKE_ATTRIBUTES)
