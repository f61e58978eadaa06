"""The demo catalogs shipped with the project pass every rule-language check."""

from __future__ import annotations

from pathlib import Path

import pytest

from configurator.rules import check_catalog

DEMO = Path(__file__).resolve().parents[2] / "catalog" / "demo"
DEMO_FILES = sorted(DEMO.glob("*.yaml"))


@pytest.mark.parametrize("path", DEMO_FILES, ids=[p.name for p in DEMO_FILES])
def test_demo_catalog_has_no_rule_problems(path: Path) -> None:
    # the file reader belongs to the catalog package; its internals may still move
    files = pytest.importorskip("catalog.files.positions", reason="catalog file reader not available")
    build = pytest.importorskip("catalog.files.build", reason="catalog file reader not available")
    repeat = pytest.importorskip("catalog.files.repeat", reason="catalog file reader not available")
    doc = files.parse_yaml(path.read_text(encoding="utf-8"), path.name)
    data = files.to_plain(doc.root)
    assert repeat.unroll_repeats(data, doc, []) == ([], True)  # repeated components, as loading unrolls them
    catalog = build.Builder(doc).catalog(data)
    assert sum(len(p.rules) + len(p.bom) + len(p.prices) for p in catalog.products) > 0
    assert check_catalog(catalog) == []
