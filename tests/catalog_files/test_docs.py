"""docs/catalog-format.md: full examples load, snippets parse, every key is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from marshmallow import Schema, fields

from catalog.files import load_catalog_text
from catalog.files.schema import CatalogSchema

DOC = Path(__file__).resolve().parents[2] / "docs" / "catalog-format.md"
FENCE = re.compile(r"(<!-- example: full -->\n)?```yaml\n(.*?)```", re.DOTALL)


def _examples() -> list[tuple[bool, int, str]]:
    text = DOC.read_text(encoding="utf-8")
    return [(bool(m.group(1)), text.count("\n", 0, m.start(2)) + 1, m.group(2)) for m in FENCE.finditer(text)]


EXAMPLES = _examples()
FULL = [(line, body) for full, line, body in EXAMPLES if full]
SNIPPETS = [(line, body) for full, line, body in EXAMPLES if not full]


def test_doc_has_full_examples_and_snippets() -> None:
    assert FULL and len(SNIPPETS) >= 10


@pytest.mark.parametrize(("line", "body"), FULL, ids=[f"line-{line}" for line, _ in FULL])
def test_full_example_is_a_valid_catalog(line: int, body: str) -> None:
    catalog = load_catalog_text(body, filename=f"{DOC.name}:{line}")
    assert catalog.products


@pytest.mark.parametrize(("line", "body"), SNIPPETS, ids=[f"line-{line}" for line, _ in SNIPPETS])
def test_snippet_parses_as_yaml(line: int, body: str) -> None:
    assert yaml.safe_load(body) is not None


def _keys(schema: Schema, seen: set[str]) -> set[str]:
    keys: set[str] = set()
    name = type(schema).__name__
    if name in seen:
        return keys
    seen.add(name)
    for attr, field in schema.fields.items():
        keys.add(field.data_key or attr)
        while isinstance(field, fields.List):
            field = field.inner
        if isinstance(field, fields.Nested) and isinstance(field.schema, Schema):
            keys |= _keys(field.schema, seen)
    return keys


def test_every_key_of_the_schema_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = sorted(k for k in _keys(CatalogSchema(), set()) if f"`{k}`" not in text)
    assert not missing, f"undocumented keys: {missing}"
