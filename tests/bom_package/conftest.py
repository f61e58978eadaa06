"""Fixtures of the bom tests: the test catalog and a complete configuration."""

from __future__ import annotations

import pytest

from bom_package.bom_testcatalog import BASE_CONFIG, make_catalog
from catalog.snapshot import Catalog


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return make_catalog()


@pytest.fixture
def config() -> dict[str, object]:
    return dict(BASE_CONFIG)
