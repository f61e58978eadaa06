"""A product's hash is computed once and kept, without changing equality, repr or the document."""

from __future__ import annotations

import copy
import pickle
from dataclasses import fields, replace
from pathlib import Path

import pytest

from catalog.files import canonical_json, content_hash, load_catalog_file
from catalog.snapshot import Catalog, Label, Product, SourceLoc

FULL = Path(__file__).resolve().parent / "full_catalog.yaml"


@pytest.fixture()
def full() -> Catalog:
    return load_catalog_file(FULL)


def _equality_key(product: Product) -> tuple[object, ...]:
    return tuple(getattr(product, f.name) for f in fields(product) if f.compare)


def test_hash_is_the_hash_of_the_equality_fields_and_is_kept(full: Catalog) -> None:
    bike = full.product("city-bike")
    assert "_hash" not in vars(bike)
    assert hash(bike) == hash(_equality_key(bike))
    assert vars(bike)["_hash"] == hash(bike)
    # Kept: changing what the hash was computed from (never done to a real, frozen product)
    # does not change it, which shows that it is not computed again.
    object.__setattr__(bike, "attributes", ())
    assert hash(bike) == vars(bike)["_hash"] != hash(_equality_key(bike))


def test_the_kept_hash_takes_no_part_in_equality_repr_or_document(full: Catalog) -> None:
    fresh = load_catalog_file(FULL)
    before = canonical_json(full)
    hashed, unhashed = full.product("city-bike"), fresh.product("city-bike")
    text = repr(hashed)
    hash(hashed)
    assert "_hash" in vars(hashed) and "_hash" not in vars(unhashed)
    assert hashed == unhashed and hash(hashed) == hash(unhashed)
    assert repr(hashed) == text and "_hash" not in text
    assert canonical_json(full) == before
    assert content_hash(full) == content_hash(fresh)
    assert "_hash" not in {f.name for f in fields(Product)}
    moved = replace(hashed, loc=SourceLoc("elsewhere.yaml", 9, 9))
    assert "_hash" not in vars(moved) and moved == hashed and hash(moved) == hash(hashed)
    renamed = replace(hashed, name=Label("Another bike"))
    assert renamed != hashed and hash(renamed) == hash(_equality_key(renamed))


def test_pickled_and_copied_products_leave_the_kept_hash_behind(full: Catalog) -> None:
    bike = full.product("city-bike")
    hash(bike)
    for other in (pickle.loads(pickle.dumps(bike)), copy.copy(bike), copy.deepcopy(bike)):
        assert "_hash" not in vars(other)  # a string hash is only valid in the process that computed it
        assert other == bike and hash(other) == hash(bike)
