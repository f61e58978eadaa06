"""The fast paths of reading a stored document give exactly what the general path gives.

``catalog_from_document`` copies plain data without building a position tree
(``positions.plain_document``) and lets marshmallow validate only the groups,
attributes and rules a cheap check cannot vouch for (``schema._validate``).
Both must change nothing: the same catalog, the same content hash, the same
problems in the same order.
"""

from __future__ import annotations

import copy
import json
import random
from decimal import Decimal
from pathlib import Path

import pytest

from catalog.files import catalog_from_document, content_hash, document_from_catalog, load_catalog_file
from catalog.files.limits import DEFAULT_LIMITS
from catalog.files.load import _validated
from catalog.files.positions import document_from_plain, plain_document, to_plain
from catalog.files.problems import CatalogInvalid
from catalog.files.schema import CatalogSchema, _validate, schema_problems

ROOT = Path(__file__).resolve().parents[2]
DEMOS = sorted((ROOT / "catalog" / "demo").glob("*.yaml"))
FULL = Path(__file__).resolve().parent / "full_catalog.yaml"
CORPUS = ROOT.parent / "shared" / "corpus" / "featureide"
CORPUS_MODELS = ("Automotive02_V4.xml", "E-Shop.xml", "BerkeleyDB.xml", "Car.xml")


def _general(document: object) -> object:
    """The path without the fast paths: the position tree, then marshmallow on everything."""
    return _validated(document_from_plain(document, "<document>"), None, DEFAULT_LIMITS)


def _documents() -> list[tuple[str, dict[str, object]]]:
    out = [(p.name, json.loads(json.dumps(document_from_catalog(load_catalog_file(p)), default=str)))
           for p in [*DEMOS, FULL]]
    return out


def _corpus_document(name: str) -> dict[str, object]:
    if not (CORPUS / name).exists():
        pytest.skip(f"{CORPUS / name} is absent (the shared corpus sits beside the repository)")
    from catalog.featuremodels import load_feature_model
    from catalog.services import document_text

    return json.loads(document_text(load_feature_model(CORPUS / name)))


@pytest.mark.parametrize("name", [p.name for p in [*DEMOS, FULL]])
def test_demo_documents_read_the_same_as_through_the_general_path(name: str) -> None:
    document = dict(_documents())[name]
    fast, general = catalog_from_document(copy.deepcopy(document)), _general(copy.deepcopy(document))
    assert fast == general
    assert content_hash(fast) == content_hash(general)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", CORPUS_MODELS)
def test_corpus_models_read_the_same_as_through_the_general_path(name: str) -> None:
    document = _corpus_document(name)
    fast = catalog_from_document(document)
    general = _general(document)
    assert fast == general
    assert content_hash(fast) == content_hash(general)  # type: ignore[arg-type]


def test_a_demo_stored_hash_is_the_one_of_the_file() -> None:
    """The stored document of a demo reads back to the catalog of its file, hash included."""
    for path in DEMOS:
        catalog = load_catalog_file(path)
        stored = json.loads(json.dumps(document_from_catalog(catalog), ensure_ascii=False, default=str))
        assert content_hash(catalog_from_document(stored)) == content_hash(catalog)


# --- the plain copy ------------------------------------------------------------


ODD_DOCUMENTS: list[object] = [
    None,
    "text",
    [1, 2.5, (3, 4)],
    {"format": "c2m-catalog/1", 1: "x", "nested": {2: "y", "z": [{"a": object()}, 1.25, None, True]}},
    {"code": "x", "products": ({"code": "p", "rules": [{"id": "r", "rule": b"bytes"}]},)},
    {"a": Decimal("1.50"), "b": -3, "c": {"d": [set()]}},
]


@pytest.mark.parametrize("data", ODD_DOCUMENTS, ids=range(len(ODD_DOCUMENTS)))
def test_plain_copy_gives_the_tree_s_data_and_problems(data: object) -> None:
    tree = document_from_plain(data, "f.json")
    doc, copied = plain_document(data, "f.json")
    assert copied == to_plain(tree.root)  # type: ignore[arg-type]
    assert doc.problems == tree.problems
    # the tree is built on demand, equal to the eager one where problems are described
    for path in [(), ("nested",), ("nested", "z", 0), ("products", 0, "rules", 0, "rule"), ("missing", 3)]:
        a, b = doc.node_at(path), tree.node_at(path)
        assert (a is None) == (b is None)
        if a is not None and b is not None:
            assert to_plain(a) == to_plain(b)
        assert doc.position(path) == tree.position(path) == (0, 0)


@pytest.mark.parametrize("data", ODD_DOCUMENTS, ids=range(len(ODD_DOCUMENTS)))
def test_odd_documents_fail_alike(data: object) -> None:
    with pytest.raises(CatalogInvalid) as fast:
        catalog_from_document(data)
    with pytest.raises(CatalogInvalid) as general:
        _general(data)
    assert fast.value.problems == general.value.problems


# --- the schema fast path --------------------------------------------------------


BAD_VALUES: list[object] = [
    None, "", "  ", 1, True, 2.5, Decimal("1"), [], {}, "and", "not a code!", "Bad-Code", "x" * 3, "in",
    {"en": ""}, {"en": "ok", "zh-CN": 3}, {"en": "ok", "fr": "x"}, {"zh-CN": "只"}, {"en": "ok", "zh-CN": None},
    ["a"], {"table": ["a"], "rows": []}, "0.5", 7, "enum", "widget",
]


def _mutations(document: dict[str, object], rng: random.Random, count: int) -> list[dict[str, object]]:
    """Copies of ``document`` with one group, attribute or rule changed: a key set to an odd value,
    removed, or an unknown key added."""
    out = []
    products = [p for p in document["products"] if p.get("attributes") or p.get("rules")]  # type: ignore[union-attr]
    for _ in range(count):
        changed = copy.deepcopy(document)
        product = rng.choice([p for p in changed["products"] if p["code"] in {q["code"] for q in products}])  # type: ignore[index, union-attr]
        key = rng.choice([k for k in ("groups", "attributes", "rules") if product.get(k)])
        items = product[key]
        index = rng.randrange(len(items))
        item = items[index]
        how = rng.randrange(4)
        if how == 0 and isinstance(item, dict) and item:
            del item[rng.choice(list(item))]
        elif how == 1:
            item["unknown_key"] = 1
        elif how == 2:
            items[index] = rng.choice(BAD_VALUES)
        else:
            field = rng.choice(
                ["code", "name", "type", "group", "description", "values", "default", "min", "places", "unit",
                 "derived", "id", "rule", "message", "table", "allow", "min_count"]
            )
            item[field] = rng.choice(BAD_VALUES)
        out.append(changed)
    return out


def test_schema_fast_path_gives_marshmallow_s_errors_on_mutated_demos() -> None:
    rng = random.Random(31)
    for _name, document in _documents():
        assert _validate(document) == CatalogSchema().validate(document) == {}
        for changed in _mutations(document, rng, 60):
            assert _validate(changed) == CatalogSchema().validate(changed)
            fast = schema_problems(changed, document_from_plain(changed, "x"))
            general_doc = document_from_plain(changed, "x")
            assert fast == _marshmallow_problems(changed, general_doc)


def _marshmallow_problems(data: dict[str, object], doc: object) -> object:
    import catalog.files.schema as schema

    original = schema._validate
    schema._validate = lambda d: CatalogSchema().validate(d)  # type: ignore[assignment]
    try:
        return schema_problems(data, doc)  # type: ignore[arg-type]
    finally:
        schema._validate = original


def test_schema_fast_path_gives_marshmallow_s_errors_on_a_mutated_feature_model() -> None:
    document = _corpus_document("E-Shop.xml")
    rng = random.Random(19)
    assert _validate(document) == CatalogSchema().validate(document) == {}
    failing = 0
    for changed in _mutations(document, rng, 40):
        expected = CatalogSchema().validate(changed)
        failing += bool(expected)
        assert _validate(changed) == expected
    assert failing >= 20  # most mutations are errors, or the comparison would prove little


def test_schema_fast_path_keeps_odd_shapes_to_marshmallow() -> None:
    for data in [None, [], {"products": None}, {"products": [None, 3, {"rules": "x"}, {"attributes": [1, {}]}]}]:
        assert _validate(data) == CatalogSchema().validate(data)  # type: ignore[arg-type]


# --- the collector pause ---------------------------------------------------------


def test_gc_pause_nests_and_restores_the_collector_once() -> None:
    import gc
    import threading

    from catalog.gcpause import gc_paused

    assert gc.isenabled()
    entered, release = threading.Event(), threading.Event()

    def other() -> None:
        with gc_paused():
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=other)
    thread.start()
    entered.wait(10)
    with gc_paused():
        with gc_paused():
            assert not gc.isenabled()
    assert not gc.isenabled()  # the other thread still builds
    release.set()
    thread.join(10)
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # off before: left off
    finally:
        gc.enable()
    try:
        with gc_paused():
            raise ValueError("boom")
    except ValueError:
        pass
    assert gc.isenabled()
