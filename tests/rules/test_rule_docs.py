"""Every example of docs/rule-language.md: ```rule blocks are valid, ```rule-error blocks are not.

Blocks hold one expression per paragraph (expressions separated by blank lines).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from catalog.snapshot import Attribute, AttributeKind, Derivation, Label
from configurator.rules import RuleSyntaxError, check_all, parse_expression

from .bike_attributes import BIKE_ATTRIBUTES, choices

DOC = Path(__file__).resolve().parents[2] / "docs" / "rule-language.md"
_BLOCK = re.compile(r"^```(rule|rule-error)\n(.*?)^```", re.MULTILINE | re.DOTALL)

SHELF_ATTRIBUTES = (
    Attribute("height", AttributeKind.INT, Label("Height"), minimum=400, maximum=2400, step=400),
    Attribute("depth", AttributeKind.INT, Label("Depth"), minimum=200, maximum=600, step=100),
    # the decimal and derived examples: a saddle height of 70.0..90.0 in steps of 2.5, and legs
    Attribute("saddle_height", AttributeKind.DECIMAL, Label("Saddle"), minimum=700, maximum=900, step=25, places=1),
    Attribute("legs", AttributeKind.INT, Label("Legs"), minimum=2, maximum=4),
)
# the repeated-component examples: 1-3 sections, each with shelves, a width and a hanging rail
SECTIONS = (
    Attribute("section_count", AttributeKind.INT, Label("Sections"), minimum=1, maximum=3),
    *(
        attribute
        for i in (1, 2, 3)
        for attribute in (
            Attribute(f"section{i}_shelves", AttributeKind.INT, Label("Shelves"), minimum=0, maximum=5),
            Attribute(f"section{i}_width", AttributeKind.INT, Label("Width"), minimum=400, maximum=1000, step=100),
            Attribute(f"section{i}_rail", AttributeKind.BOOL, Label("Rail")),
        )
    ),
)
FINISH = Attribute("finish", AttributeKind.ENUM, Label("Finish"), choices=choices("matte", "gloss"))
# the lookup examples: a decimal lookup table by depth and finish
SHELF_PRICE = Attribute(
    "shelf_price", AttributeKind.DECIMAL, Label("Shelf price"), minimum=0, maximum=10000, places=2,
    derived=Derivation(
        columns=("depth", "finish"),
        rows=tuple(((depth, finish), f"{depth / 10 + (5 if finish == 'gloss' else 0):.2f}")
                   for depth in range(200, 700, 100) for finish in ("matte", "gloss")),
    ),
)  # fmt: skip
DOC_ATTRIBUTES = BIKE_ATTRIBUTES + SHELF_ATTRIBUTES + SECTIONS + (FINISH, SHELF_PRICE)


def _examples(kind: str) -> list[str]:
    out: list[str] = []
    for match in _BLOCK.finditer(DOC.read_text(encoding="utf-8")):
        if match.group(1) == kind:
            out += [chunk.strip() for chunk in re.split(r"\n\s*\n", match.group(2)) if chunk.strip()]
    return out


VALID = _examples("rule")
INVALID = _examples("rule-error")


def test_the_reference_has_examples() -> None:
    assert len(VALID) >= 40 and len(INVALID) >= 5


@pytest.mark.parametrize("text", VALID)
def test_every_rule_example_parses_and_checks(text: str) -> None:
    expr = parse_expression(text)
    # "param" accepts any well-typed result, so conditions and formulas are both checked;
    # the finish enum is the target of the module-parameter examples
    assert check_all(expr, DOC_ATTRIBUTES, kind="param", target=FINISH if text == "matte" else None) == []


@pytest.mark.parametrize("text", INVALID)
def test_every_rule_error_example_is_rejected(text: str) -> None:
    try:
        expr = parse_expression(text)
    except RuleSyntaxError:
        return
    assert check_all(expr, DOC_ATTRIBUTES, kind="param") != []


def _error_table() -> list[tuple[str, str, str]]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Error messages", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        m = re.match(r"^\| `(.+?)`(?: \(a (\w+)\))?\s*\| (.+?) \|$", line)
        if m:
            rows.append((m.group(1), m.group(2) or "rule", m.group(3)))
    return rows


ERROR_TABLE = _error_table()


def test_the_error_table_is_not_empty() -> None:
    assert len(ERROR_TABLE) >= 10


@pytest.mark.parametrize(("text", "kind", "documented"), ERROR_TABLE)
def test_documented_error_messages_are_the_real_ones(text: str, kind: str, documented: str) -> None:
    try:
        messages = [check.message for check in check_all(parse_expression(text), DOC_ATTRIBUTES, kind=kind)]
    except RuleSyntaxError as err:
        messages = [err.message]
    # "..." in the documentation shortens a message: every shown piece must be in the real one
    pieces = [p.strip() for p in documented.split("...") if p.strip()]
    assert any(all(p in m for p in pieces) for m in messages), messages
