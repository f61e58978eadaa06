"""Every malformed catalog in tests/data/malformed reports exactly the problems its header expects.

Each file starts with one or more ``# expect: LINE:COL <substring of message>``
lines. JSON has no comments, so for ``.json`` cases the test blanks those
lines before parsing (line numbers stay the same).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from catalog.files import CatalogInvalid, load_catalog_text

MALFORMED = Path(__file__).resolve().parents[1] / "data" / "malformed"
CASES = sorted(p for p in MALFORMED.iterdir() if p.suffix in (".yaml", ".json"))
EXPECT = re.compile(r"# expect: (\d+):(\d+) (.+)")


def _expectations(text: str) -> list[tuple[int, int, str]]:
    found = []
    for line in text.splitlines():
        if not line.startswith("# expect:"):
            break
        match = EXPECT.fullmatch(line)
        assert match, f"bad expect line: {line!r}"
        found.append((int(match.group(1)), int(match.group(2)), match.group(3)))
    return found


def _source(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        text = "\n".join("" if line.startswith("#") else line for line in text.split("\n"))
    return text


def test_there_are_enough_malformed_cases() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_malformed_file_reports_every_expected_problem_at_its_position(path: Path) -> None:
    expected = _expectations(path.read_text(encoding="utf-8"))
    assert expected, f"{path.name} has no '# expect:' line"
    with pytest.raises(CatalogInvalid) as caught:
        load_catalog_text(_source(path), filename=path.name)
    problems = caught.value.problems
    reported = [f"{p.line}:{p.column} {p.message}" for p in problems]
    for line, column, text in expected:
        assert any(p.line == line and p.column == column and text in p.message for p in problems), (
            f"expected {line}:{column} {text!r}; reported: {reported}"
        )
    assert len(problems) == len(expected), f"unexpected extra problems: {reported}"
    assert all(p.file == path.name for p in problems)
    assert caught.value.reason == "catalog_invalid"


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_problem_lines_read_file_line_col_message(path: Path) -> None:
    with pytest.raises(CatalogInvalid) as caught:
        load_catalog_text(_source(path), filename=path.name)
    for problem in caught.value.problems:
        assert str(problem) == f"{path.name}:{problem.line}:{problem.column}: {problem.message}"
        if problem.field:  # the message names the field (its path, or the key itself at the top)
            assert problem.field.rsplit(".", 1)[-1].split("[")[0] in problem.message
