"""Compiled models as artifacts: a loaded model answers exactly as the compiled one; a bad one is refused."""

from __future__ import annotations

import itertools

import pytest

from catalog.demo import demo_catalog_paths
from catalog.files import load_catalog_file
from catalog.snapshot import AttributeKind, Catalog
from configurator import Configurator, Decision
from configurator.artifacts import FORMAT_VERSION, MAGIC, ArtifactInvalid, dump, load
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
