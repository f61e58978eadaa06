"""A product with price auxiliaries: the backend over its priced model is compiled with the model, stored as
the artifact's priced part, and loaded with it, so a new process's first click compiles nothing."""

from __future__ import annotations

import itertools
import logging

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker, undefer

from catalog.demo import demo_catalog_paths
from catalog.files import load_catalog_file
from catalog.snapshot import AttributeKind, Catalog
from configurator import Configurator, Decision, engine
from configurator.artifacts import ArtifactInvalid, dump, has_priced, load_priced
from usecases.catalogs import ModelCaches, get_configurator
from usecases.compile_guard import check_catalog_compiles
from usecases.compiled_models import ArtifactStore, model_key, prepare
from usecases.records import CompiledModelRecord

PRODUCT = "modular-wardrobe"


def _wardrobes() -> Catalog:
    path = next(p for p in demo_catalog_paths() if p.name == "wardrobes.yaml")
    return load_catalog_file(path)


def _decision_sets(conf: Configurator) -> list[list[Decision]]:
    """The empty configuration, then one and two decisions on the first attributes' last values."""
    firsts = [Decision(a.code, a.possible[-1]) for a in conf.state([]).attributes
              if a.kind is not AttributeKind.SET and a.possible][:4]
    return [[], *([d] for d in firsts), *(list(pair) for pair in itertools.combinations(firsts, 2))]


def _no_compiling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any compilation in the engine from here on fails the test."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("compiled a model on the request path")

    monkeypatch.setattr(engine, "_compiled", refuse)
    monkeypatch.setattr(engine, "_priced_backend", refuse)


def _row(factory: sessionmaker[Session], content_hash: str) -> CompiledModelRecord:
    with factory() as session:
        return session.scalars(select(CompiledModelRecord).where(
            CompiledModelRecord.model_key == model_key(content_hash, PRODUCT),
            CompiledModelRecord.backend == "mdd").options(undefer(CompiledModelRecord.artifact))).one()


def _assert_loaded_answers_like_compiled(factory: sessionmaker[Session], catalog: Catalog, content_hash: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    product = catalog.product(PRODUCT)
    compiled = Configurator(product, catalog_key=content_hash, backend="mdd", currency=catalog.currency)
    expected = [compiled.state(d) for d in _decision_sets(compiled)]
    assert compiled.priced_backend() is not None  # the product has price auxiliaries
    caches = ModelCaches(artifacts=ArtifactStore(factory))  # a new process: nothing cached
    with monkeypatch.context() as patched:
        _no_compiling(patched)
        loaded = get_configurator(catalog, PRODUCT, content_hash, backend="mdd", caches=caches)
        states = [loaded.state(d) for d in _decision_sets(compiled)]
    assert (caches.artifact_loads, caches.compiles, caches.artifact_rejects) == (1, 0, 0)
    assert states == expected
    assert [s.price for s in states] == [s.price for s in expected]


def test_a_prepared_priced_model_is_stored_and_the_first_click_compiles_nothing(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = _wardrobes()
    with factory() as session:
        prepared = prepare(session, catalog, "priced-prepare", backend="mdd")
    assert {(m.product, m.status) for m in prepared} >= {(PRODUCT, "ready")}
    assert has_priced(_row(factory, "priced-prepare").artifact or b"", what="test")
    _assert_loaded_answers_like_compiled(factory, catalog, "priced-prepare", monkeypatch)


def test_the_compile_guard_stores_the_priced_part_too(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    from catalog.files import content_hash as hash_of
    from usecases.compile_guard import CompileBudget

    catalog = _wardrobes()
    with factory() as session:
        report = check_catalog_compiles(catalog, CompileBudget(backend="mdd"), session=session)
    assert PRODUCT in report.compiled
    _assert_loaded_answers_like_compiled(factory, catalog, hash_of(catalog), monkeypatch)


def test_a_damaged_priced_part_is_refused_naming_it_and_compiled_again(
    factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    catalog = _wardrobes()
    with factory() as session:
        prepare(session, catalog, "priced-damaged", backend="mdd")
    row = _row(factory, "priced-damaged")
    good = row.artifact
    assert good is not None
    # The priced part is the artifact's last bytes: damage them, not the model's.
    damaged = good[:-8] + bytes(b ^ 0xFF for b in good[-8:])
    product = catalog.product(PRODUCT)
    conf = Configurator(product, catalog_key="priced-damaged", backend="mdd", currency=catalog.currency)
    priced = conf.priced_model()
    assert priced is not None
    with pytest.raises(ArtifactInvalid, match=r"record 5 \(priced part\): payload digest does not match"):
        load_priced(damaged, priced.model, what="record 5")
    with factory() as session:
        session.execute(update(CompiledModelRecord).where(CompiledModelRecord.id == row.id).values(artifact=damaged))
        session.commit()
    caches = ModelCaches(artifacts=ArtifactStore(factory))
    with caplog.at_level(logging.ERROR, logger="usecases.catalogs"):
        loaded = get_configurator(catalog, PRODUCT, "priced-damaged", backend="mdd", caches=caches)
    assert f"compiled model record {row.id} (priced-damaged:{PRODUCT}) (priced part)" in caplog.text
    assert "digest does not match" in caplog.text
    assert (caches.artifact_rejects, caches.artifact_loads, caches.compiles) == (1, 0, 1)
    assert loaded.state([]) == conf.state([])
    replaced = _row(factory, "priced-damaged").artifact
    assert replaced is not None and replaced != damaged and has_priced(replaced, what="test")
    # The replacement loads, priced part included.
    fresh = ModelCaches(artifacts=ArtifactStore(factory))
    get_configurator(catalog, PRODUCT, "priced-damaged", backend="mdd", caches=fresh)
    assert (fresh.artifact_loads, fresh.compiles) == (1, 0)


def test_an_artifact_without_a_priced_part_is_used_and_its_first_click_compiles_it(
    factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    # As a tool that stores the backend alone writes it (dump(backend)): same answers, compiled on the click.
    catalog = _wardrobes()
    product = catalog.product(PRODUCT)
    compiled = Configurator(product, catalog_key="priced-absent", backend="mdd", currency=catalog.currency)
    data = dump(compiled.backend)
    priced = compiled.priced_model()
    assert priced is not None and not has_priced(data, what="test")
    with pytest.raises(ArtifactInvalid, match=r"record 2 \(priced part\): the artifact holds no priced part"):
        load_priced(data, priced.model, what="record 2")
    ArtifactStore(factory).save_artifact("priced-absent", PRODUCT, "mdd", data, "mdd", 0.0)
    caches = ModelCaches(artifacts=ArtifactStore(factory))
    with caplog.at_level(logging.WARNING, logger="usecases.compiled_models"):
        loaded = get_configurator(catalog, PRODUCT, "priced-absent", backend="mdd", caches=caches)
    assert "holds no priced part; the first click compiles it" in caplog.text
    assert (caches.artifact_loads, caches.compiles, caches.artifact_rejects) == (1, 0, 0)
    assert loaded.state([]) == compiled.state([])


PRICED_NODE_BUDGET = 20_000
"""Enough decision-diagram nodes for modular-wardrobe's model (about 5,400), not for its priced part
(about 50,000): the priced part is held to the model's budget."""


def test_the_priced_part_compiles_within_the_configurators_budget() -> None:
    from configurator import ModelNotCompiled

    product = _wardrobes().product(PRODUCT)
    conf = Configurator(product, catalog_key="priced-budget", backend="mdd", node_budget=PRICED_NODE_BUDGET)
    assert conf.backend.name == "mdd"  # the model itself fits
    with pytest.raises(ModelNotCompiled, match=r"did not compile the model's priced part .*node budget of 20000"):
        conf.priced_backend()


def test_prepare_stores_a_model_whose_priced_part_is_over_the_budget_failed_naming_the_priced_part(
    factory: sessionmaker[Session],
) -> None:
    catalog = _wardrobes()
    with factory() as session:
        prepared = {m.product: m for m in prepare(session, catalog, "priced-over", backend="mdd",
                                                  node_budget=PRICED_NODE_BUDGET)}
    assert prepared["pax-system"].status == "ready"  # its priced part fits
    failed = prepared[PRODUCT]
    assert failed.status == "failed" and "priced part" in (failed.detail or "")
    assert "node budget of 20000" in (failed.detail or "")
    assert _row(factory, "priced-over").status == "failed"


@pytest.mark.parametrize("path", ["guard", "job"])
def test_the_capped_child_compiles_the_priced_part_within_the_budget(
    factory: sessionmaker[Session], path: str
) -> None:
    """The publish guard (the app's budget) and a compile job (the job's budget) compile the priced part
    in their child under the same budget as the model: over it, the model is refused or stored failed,
    naming the priced part and the limit."""
    from usecases.compile_guard import CatalogTooComplex, CompileBudget, prepare_capped

    catalog = _wardrobes()
    budget = CompileBudget(backend="mdd", nodes=PRICED_NODE_BUDGET)
    limit = "node budget of 20,000 nodes"
    with factory() as session:
        if path == "guard":
            with pytest.raises(CatalogTooComplex, match=f"product '{PRODUCT}'.*{limit}.*priced part") as caught:
                check_catalog_compiles(catalog, budget, session=session)
            assert caught.value.limit == limit
            return
        # A content hash of its own: the database may hold this catalog's artifacts from other tests.
        out = {m.product: m for m in prepare_capped(session, catalog, "priced-capped", budget, owner="job:x")}
    assert out["pax-system"].status == "ready"
    failed = out[PRODUCT]
    assert failed.status == "failed" and failed.model_key == model_key("priced-capped", PRODUCT)
    assert limit in (failed.detail or "") and failed.model_key in (failed.detail or "")
    assert "priced part" in (failed.detail or "")
