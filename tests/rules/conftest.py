"""Fixtures for the rule-language tests."""

from __future__ import annotations

import pytest

from catalog.snapshot import Attribute

from .bike_attributes import BIKE_ATTRIBUTES


@pytest.fixture
def bike() -> tuple[Attribute, ...]:
    return BIKE_ATTRIBUTES
