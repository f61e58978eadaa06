"""Compiled models as artifacts: a loaded model answers exactly as the compiled one; a bad one is refused."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from catalog.demo import demo_catalog_paths
from catalog.files import load_catalog_file
from catalog.snapshot import AttributeKind, Catalog
from configurator import Configurator, Decision
from configurator.artifacts import FORMAT_VERSION, MAGIC, ArtifactInvalid, dump, load, read_header
from configurator.backends import ddnnf
from configurator.build import build_model

BACKENDS = ["mdd", pytest.param("ddnnf", marks=pytest.mark.skipif(not ddnnf.available(), reason="d4 not installed"))]


def _demo() -> list[tuple[Catalog, str]]:
    out = []
    for path in demo_catalog_paths():
        catalog = load_catalog_file(path)
        out.extend((catalog, product.code) for product in catalog.products)
    return out


def _decision_sets(conf: Configurator) -> list[list[Decision]]:
    """The empty configuration, then one and two decisions on the first attributes' first values."""
    state = conf.state([])
    firsts = []
    for attr in [a for a in state.attributes if a.kind is not AttributeKind.SET][:4]:
        if attr.possible:
            firsts.append(Decision(attr.code, attr.possible[-1]))
    sets: list[list[Decision]] = [[]]
    sets.extend([d] for d in firsts)
    sets.extend(list(pair) for pair in itertools.combinations(firsts, 2))
    return sets


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("catalog", "product"), _demo(), ids=lambda x: getattr(x, "code", x))
def test_a_loaded_artifact_answers_like_the_compiled_model(catalog: Catalog, product: str, backend: str) -> None:
    key = f"artifact-{backend}"
    compiled = Configurator(catalog.product(product), catalog_key=key, backend=backend, currency=catalog.currency)
    data = dump(compiled.backend)
    model = build_model(catalog.product(product), key=compiled.model.key)
    solver = load(data, model, what=product)
    assert solver.name == backend
    loaded = Configurator(catalog.product(product), catalog_key=key, currency=catalog.currency, solver=solver)
    for decisions in _decision_sets(compiled):
        restrict = compiled._restrict(decisions)
        assert loaded.backend.propagate(restrict) == compiled.backend.propagate(restrict)
        assert loaded.backend.count(restrict) == compiled.backend.count(restrict)
        try:
            expected = compiled.state(decisions)
        except Exception as exc:  # an inconsistent pair answers the same error on both
            with pytest.raises(type(exc)):
                loaded.state(decisions)
            continue
        assert loaded.state(decisions) == expected


def _tiny_artifact() -> tuple[bytes, Configurator]:
    catalog = load_catalog_file(demo_catalog_paths()[0])
    product = catalog.products[0]
    conf = Configurator(product, catalog_key="tiny-artifact", backend="mdd", currency=catalog.currency)
    return dump(conf.backend), conf


def test_a_damaged_artifact_is_refused_naming_it() -> None:
    data, conf = _tiny_artifact()
    damaged = data[:-10] + bytes(b ^ 0xFF for b in data[-10:])
    with pytest.raises(ArtifactInvalid, match=r"compiled model record 7: payload digest does not match"):
        load(damaged, conf.model, what="record 7")
    with pytest.raises(ArtifactInvalid, match="bad magic"):
        load(b"not an artifact", conf.model, what="record 7")


def test_an_artifact_of_another_model_or_format_is_refused() -> None:
    data, conf = _tiny_artifact()
    other = build_model(conf.product, key="another-hash:" + conf.product.code)
    with pytest.raises(ArtifactInvalid, match="is for model"):
        load(data, other, what="record 1")
    newer = data.replace(f'"format": {FORMAT_VERSION}'.encode(), f'"format": {FORMAT_VERSION + 1}'.encode(), 1)
    assert newer.startswith(MAGIC) and newer != data
    with pytest.raises(ArtifactInvalid, match=f"format {FORMAT_VERSION + 1}, expected {FORMAT_VERSION}"):
        load(newer, conf.model, what="record 1")


# -- the d-DNNF's arrays: loaded, checked, refused when inconsistent; corpus models answer alike --------------

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "featureide"
needs_d4 = pytest.mark.skipif(not ddnnf.available(), reason="d4 not installed")


def _repack(data: bytes, model_key: str, change: Callable[[dict[str, np.ndarray], dict[str, Any]], None]) -> bytes:
    """``data`` with its payload arrays and meta changed by ``change`` and a matching digest (a well-formed
    artifact with inconsistent content, as a bug rather than damage would write)."""
    header, payload = read_header(data, what="test")
    with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    meta = dict(header["meta"])
    change(arrays, meta)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    body = buffer.getvalue()
    header = {**header, "meta": meta, "payload_sha256": hashlib.sha256(body).hexdigest(), "payload_size": len(body)}
    raw = json.dumps(header, sort_keys=True).encode()
    assert header["model_key"] == model_key
    return MAGIC + len(raw).to_bytes(8, "big") + raw + body


def _ddnnf_demo() -> tuple[bytes, Configurator]:
    catalog = load_catalog_file(demo_catalog_paths()[0])
    product = catalog.products[0]
    conf = Configurator(product, catalog_key="ddnnf-arrays", backend="ddnnf", currency=catalog.currency)
    return dump(conf.backend), conf


@needs_d4
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a, m: a.update(circuit_child=a["circuit_child"] + 10**6), "an arc ends outside"),
        (lambda a, m: a.update(circuit_height=a["circuit_height"] + 1), "heights do not match"),
        (lambda a, m: a.update(circuit_parent=a["circuit_parent"][::-1].copy(),
                               circuit_child=a["circuit_child"][::-1].copy()), "heights do not match|not sorted"),
        (lambda a, m: a.update(circuit_lit_ptr=a["circuit_lit_ptr"][:-1]), "lit_ptr does not delimit"),
        (lambda a, m: a.update(circuit_lits=a["circuit_lits"] * 10**5), "not a variable of the"),
        (lambda a, m: a.update(circuit_is_or=a["circuit_is_or"].astype(np.int32)), "'is_or' has shape"),
        (lambda a, m: m.update(root=-1), "root -1 outside"),
        (lambda a, m: a.update(value_counts=a["value_counts"][:-1]), "literals announced"),
        (lambda a, m: a.pop("circuit_gap_ptr"), "KeyError"),
    ],
)
def test_an_inconsistent_ddnnf_payload_is_refused_naming_what(
    change: Callable[[dict[str, np.ndarray], dict[str, Any]], None], message: str
) -> None:
    data, conf = _ddnnf_demo()
    bad = _repack(data, conf.model.key, change)
    with pytest.raises(ArtifactInvalid, match=rf"compiled model record 9: ddnnf payload is inconsistent: .*({message})"):
        load(bad, conf.model, what="record 9")


@needs_d4
def test_a_ddnnf_artifact_of_the_previous_format_is_refused_not_misread() -> None:
    # Format 1 stored d4's text; this release stores arrays. The header's version is checked before any array.
    data, conf = _ddnnf_demo()
    assert FORMAT_VERSION == 3
    older = data.replace(b'"format": 3', b'"format": 1', 1)
    with pytest.raises(ArtifactInvalid, match="format 1, expected 3"):
        load(older, conf.model, what="record 3")


@needs_d4
def test_a_loaded_ddnnf_keeps_its_clauses_packed_and_dumps_again() -> None:
    data, conf = _ddnnf_demo()
    solver = load(data, build_model(conf.product, key=conf.model.key), what="demo")
    cnf = solver._d.cnf  # type: ignore[attr-defined]
    assert isinstance(cnf.clauses, ddnnf.PackedClauses)
    assert cnf.clauses == conf.backend._d.cnf.clauses  # type: ignore[attr-defined]
    again = load(dump(solver), conf.model, what="demo again")
    assert again.count({}) == conf.backend.count({})


def _corpus_cases() -> list[Any]:
    return [
        pytest.param(name, marks=pytest.mark.skipif(
            not (CORPUS / name).exists(), reason=f"the shared corpus is absent ({CORPUS / name} not found)"))
        for name in ("E-Shop.xml", "Automotive01.xml")
    ]


@needs_d4
@pytest.mark.parametrize("name", _corpus_cases())
def test_a_loaded_corpus_ddnnf_answers_like_the_compiled_one(name: str) -> None:
    from catalog.featuremodels import load_feature_model

    catalog = load_feature_model(CORPUS / name)
    product = catalog.products[0]
    compiled = Configurator(product, catalog_key=f"corpus-{name}", backend="ddnnf", currency=catalog.currency)
    data = dump(compiled.backend)
    solver = load(data, build_model(product, key=compiled.model.key), what=name)
    loaded = Configurator(product, catalog_key=f"corpus-{name}", currency=catalog.currency, solver=solver)
    state = compiled.state([])
    assert loaded.state([]) == state
    open_ = [a for a in state.attributes if a.kind is not AttributeKind.SET and len(a.possible) > 1]
    decisions: list[Decision] = []
    for attr in open_[:: max(1, len(open_) // 6)][:6]:
        decisions.append(Decision(attr.code, attr.possible[0]))
        restrict = compiled._restrict(decisions)
        assert loaded.backend.count(restrict) == compiled.backend.count(restrict)
        assert loaded.backend.propagate_each(restrict) == compiled.backend.propagate_each(restrict)  # type: ignore[attr-defined]
        assert loaded.state(decisions) == compiled.state(decisions)
