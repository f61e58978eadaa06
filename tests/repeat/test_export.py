"""Writing a catalog back out keeps its repeated components as written (``repeat:``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.files import content_hash, dump_catalog, load_catalog_file, load_catalog_text
from configurator.rules import expression_checker

ROOT = Path(__file__).resolve().parents[2]
REPEATED = sorted((ROOT / "catalog" / "demo").glob("*.yaml")) + sorted(Path(__file__).parent.glob("*.yaml"))


@pytest.mark.parametrize("path", REPEATED, ids=[p.name for p in REPEATED])
@pytest.mark.parametrize("format", ["yaml", "json"])
def test_load_dump_load_is_a_fixed_point(path: Path, format: str) -> None:
    catalog = load_catalog_file(path, expression_checker=expression_checker)
    text = dump_catalog(catalog, format)
    again = load_catalog_text(text, format=format, expression_checker=expression_checker)
    assert again == catalog
    assert content_hash(again) == content_hash(catalog)
    assert dump_catalog(again, format) == text
    written = any(p.repeats for p in catalog.products)
    assert ("repeat" in text) == written


def test_the_dump_holds_the_authored_component_not_the_generated_entries() -> None:
    catalog = load_catalog_file(Path(__file__).with_name("shelf.yaml"), expression_checker=expression_checker)
    text = dump_catalog(catalog)
    assert "repeat:" in text
    assert "count(bay, door == glass) <= 1" in text
    for generated in ("bay_count\n", "bay1_shelves", "bay3_door", "glass-shelves-2", "bay-3-unused", "pos: 1001"):
        assert generated not in text
    unit = catalog.product("unit")
    assert [r.code for r in unit.repeats] == ["bay"]
    assert [a.code for a in unit.repeats[0].attributes] == ["shelves", "door"]

