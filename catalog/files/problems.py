"""Problems found in a catalog file and the error that carries all of them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from catalog.errors import CatalogError

Path = tuple[str | int, ...]
"""Where a value sits in a document: keys and list indexes, from the root."""


def format_path(path: Path) -> str:
    """Spell a document path the way problems name fields.

    >>> format_path(("products", 0, "attributes", 3, "default"))
    'products[0].attributes[3].default'
    >>> format_path(())
    ''
    """
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a catalog file, at a 1-based line and column.

    Line and column are 0 when the position is unknown (documents that did not
    come from text). ``field`` is the path of the offending key or value and
    ``message`` already names it.

    >>> str(Problem("bikes.yaml", 3, 7, "currency", "currency: 'yuan' is not a 3-letter ISO 4217 code"))
    "bikes.yaml:3:7: currency: 'yuan' is not a 3-letter ISO 4217 code"
    """

    file: str
    line: int
    column: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


def sorted_problems(problems: Iterable[Problem]) -> tuple[Problem, ...]:
    """Problems in reading order, without exact repeats."""
    unique = dict.fromkeys(problems)
    return tuple(sorted(unique, key=lambda p: (p.file, p.line, p.column, p.field, p.message)))


class CatalogInvalid(CatalogError):
    """A catalog file or document has problems; ``problems`` lists every one."""

    reason = "catalog_invalid"

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted_problems(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in catalog"
        super().__init__("\n".join([head, *(str(p) for p in self.problems)]))
