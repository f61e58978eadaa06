"""Golden files: a fixed configuration's BOM and production order, byte for byte.

The canonical JSON of each case is compared with ``tests/bom_package/golden/<case>.json``.
After an intended change, regenerate them and review the diff::

    C2M_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/bom/test_bom_golden.py
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from bom import canonical_json, create_production_order, explode
from bom_package.bom_testcatalog import BASE_CONFIG, make_catalog
from catalog.files import content_hash, load_catalog_file
from configurator import Configurator, Decision

GOLDEN = Path(__file__).resolve().parent / "golden"
DEMO = Path(__file__).resolve().parents[2] / "catalog" / "demo"
UPDATE = os.environ.get("C2M_UPDATE_GOLDEN") == "1"


def _check(name: str, data: bytes) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data + b"\n")
        return
    if not path.exists():
        pytest.fail(f"missing golden file {path}; create it with C2M_UPDATE_GOLDEN=1")
    expected = path.read_bytes()
    assert data + b"\n" == expected, (
        f"{name} differs from the golden file; if intended, regenerate with C2M_UPDATE_GOLDEN=1"
    )


def _demo_cases():
    cases = []
    for file in sorted(DEMO.glob("*.yaml")):
        catalog = load_catalog_file(file)
        for product in catalog.products:
            for test in product.tests:
                if test.expect == "accept":
                    cases.append(
                        pytest.param(
                            file, product.code, test.id, id=f"{catalog.code}-{product.code}-{test.id}"
                        )
                    )
    return cases


def test_own_catalog_bom_and_order_match_golden_files():
    catalog = make_catalog()
    bom = explode(catalog, "cargo-bike", BASE_CONFIG, quantity=2)
    _check("test-bikes--cargo-bike.bom.json", canonical_json(bom))
    order = create_production_order(
        catalog,
        "7",
        content_hash(catalog),
        "cargo-bike",
        BASE_CONFIG,
        quantity=2,
        due_date=date(2025, 3, 14),
        number="PO-GOLDEN-1",
        today=date(2025, 3, 3),
    )
    _check("test-bikes--cargo-bike.order.json", canonical_json(order))


@pytest.mark.parametrize(("file", "product_code", "test_id"), _demo_cases())
def test_demo_products_bom_and_order_match_golden_files(file, product_code, test_id):
    """The demo product's catalog test decisions, completed with defaults, give a fixed configuration."""
    catalog = load_catalog_file(file)
    product = catalog.product(product_code)
    test = next(t for t in product.tests if t.id == test_id)
    decisions = [Decision(a, frozenset(v) if isinstance(v, tuple) else v) for a, v in test.decisions]
    configuration = Configurator(product, catalog_key=content_hash(catalog)).complete(decisions)
    stem = f"{catalog.code}--{product_code}--{test_id}"
    _check(f"{stem}.bom.json", canonical_json(explode(catalog, product_code, configuration)))
    order = create_production_order(
        catalog,
        "demo",
        content_hash(catalog),
        product_code,
        configuration,
        quantity=1,
        due_date=date(2025, 6, 30),
        number=f"PO-{test_id}",
    )
    _check(f"{stem}.order.json", canonical_json(order))
