"""Every feature model of the shared corpus imports, counts and propagates; published figures match."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest

from catalog.featuremodels import Conversion, convert_feature_model, dump_uvl, parse_feature_model, to_catalog
from configurator.backends.base import Backend
from configurator.backends.select import make_backend
from configurator.build import build_model
from configurator.rules import parse_expression

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"

pytestmark = pytest.mark.corpus


def _path(rel: str) -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"../shared/corpus not present: {CORPUS} (the feature-model corpus lives outside the repository)")
    return CORPUS / rel


def _backend(conv: Conversion, prefer: str = "mdd") -> Backend:
    product = conv.catalog.products[0]
    # Backends cache compiled models by key: the key must identify the content.
    key = "test:" + hashlib.sha256(repr(product).encode()).hexdigest()[:24]
    return make_backend(build_model(product, key=key), prefer=prefer)


def _core_dead(conv: Conversion, backend: Backend) -> tuple[set[str], set[str]]:
    domains = backend.propagate({})
    assert domains is not None
    core = {c for c in conv.order if domains[c] == frozenset({True})}
    dead = {c for c in conv.order if domains[c] == frozenset({False})}
    return core, dead


# Published figures (SOURCES.md): configurations, core features, dead features (None: not published).
PUBLISHED = [
    ("flamapy/Pizzas.uvl", 42, 4, 0),
    ("flamapy/Truck.uvl", 234, 8, 1),
    ("flamapy/JHipster.uvl", 26_256, 7, 0),
    ("featureide/BerkeleyDB.xml", 4_025_968_128, None, None),
    ("splot/printers.sxfm", 1_139_120_554_181_660_919_987_300_000, None, None),
]


@pytest.mark.parametrize(("rel", "count", "core", "dead"), PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_count_core_and_dead_features_match_the_published_figures(
    rel: str, count: int, core: int | None, dead: int | None
) -> None:
    conv = convert_feature_model(_path(rel))
    backend = _backend(conv)
    assert backend.count({}) == count
    found_core, found_dead = _core_dead(conv, backend)
    if core is not None:
        assert len(found_core) == core
    if dead is not None:
        assert len(found_dead) == dead


def test_berkeleydb_has_the_published_76_features_and_20_constraints() -> None:
    conv = convert_feature_model(_path("featureide/BerkeleyDB.xml"))
    product = conv.catalog.products[0]
    assert len(conv.order) == 76
    assert sum(r.id.startswith("ctc-") for r in product.rules) == 20


SMALL = [
    "flamapy/MobilePhone.uvl",
    "featureide/Car.xml",
    "featureide/SortingLine.xml",
    "featureide/PPU.xml",
    "featureide/UVLAttributedSandwich.uvl",
    "featureide/UVLSparseAttributesSandwich.uvl",
    "uvl_parser/Sundermann2024_Pizza.uvl",
    "uvl_parser/Horcas2026_Pizza.uvl",
    "uvl_parser/bike.uvl",
    "splot/smartwatch.sxfm",
    "splot/bamboobike_splot.sxfm",
    "splot/REAL-FM-16.splx",
    "splot/REAL-FM-11.splx",
    "splot/DELL.splx",
    "featureide/E-Shop.xml",
]


@pytest.mark.parametrize("rel", SMALL)
def test_corpus_model_counts_on_the_diagram_and_agrees_with_sat(rel: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    conv = convert_feature_model(_path(rel))
    mdd = _backend(conv)
    count = mdd.count({})
    assert count > 0
    sat = _backend(conv, prefer="sat")
    assert sat.propagate({}) == mdd.propagate({})
    if count < 5_000:
        assert sat.count({}) == count


@pytest.mark.parametrize("rel", [*(p[0] for p in PUBLISHED), *SMALL])
def test_generated_rule_texts_parse_in_the_rule_language(rel: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    conv = convert_feature_model(_path(rel))
    for rule in conv.catalog.products[0].rules:
        assert rule.text is not None
        parse_expression(rule.text, rule_id=rule.id)


@pytest.mark.parametrize("rel", [*(p[0] for p in PUBLISHED), *SMALL])
def test_uvl_round_trip_keeps_the_count(rel: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    first = convert_feature_model(_path(rel))
    text = dump_uvl(first.catalog)
    second = to_catalog(parse_feature_model(text.encode(), "roundtrip.uvl"))
    assert len(second.order) == len(first.order)
    assert _backend(second).count({}) == _backend(first).count({})
    # A second pass keeps the count too (the text itself may differ: nested or/and are flattened).
    third = to_catalog(parse_feature_model(dump_uvl(second.catalog).encode(), "roundtrip2.uvl"))
    assert _backend(third).count({}) == _backend(first).count({})


def test_attribute_sums_become_scaled_integer_rules() -> None:
    conv = convert_feature_model(_path("uvl_parser/Horcas2026_Pizza.uvl"))
    rule = next(r for r in conv.catalog.products[0].rules if r.id == "ctc-3")
    assert rule.text == (
        "if(CheesyCrust, 2, 0) + if(Anchovies, 1, 0) + if(Normal, 16, 0) + if(Big, 24, 0) + if(Sicilian, 1, 0) < 24"
    )
    assert [str(s.loc.line) for s in conv.skipped if s.loc] == ["26", "27", "28", "29"]


@pytest.mark.parametrize(
    ("rel", "features", "constraints"),
    [("featureide/Automotive01.xml", 2_513, 2_833), ("featureide/Automotive02_V4.xml", 18_616, 1_369)],
)
def test_automotive_models_import_with_the_published_sizes(rel: str, features: int, constraints: int) -> None:
    conv = convert_feature_model(_path(rel))
    assert len(conv.order) == features
    assert sum(r.id.startswith("ctc-") for r in conv.catalog.products[0].rules) == constraints
    assert not conv.skipped


@pytest.mark.slow
@pytest.mark.parametrize("rel", ["featureide/Automotive01.xml", "featureide/Automotive02_V4.xml"])
def test_automotive_models_propagate_through_the_sat_fallback(rel: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    conv = convert_feature_model(_path(rel))
    sat = _backend(conv, prefer="sat")
    domains = sat.propagate({})
    assert domains is not None
    root = conv.order[0]
    assert domains[root] == frozenset({True})
    # Globally consistent: a dead feature cannot be selected, and a selectable leaf propagates.
    dead = [c for c in conv.order if domains[c] == frozenset({False})]
    if dead:
        assert sat.propagate({dead[0]: frozenset({True})}) is None
    leaf = next(c for c in reversed(conv.order) if True in domains[c] and False in domains[c])
    selected = sat.propagate({leaf: frozenset({True})})
    assert selected is not None and selected[leaf] == frozenset({True}) and selected[root] == frozenset({True})
