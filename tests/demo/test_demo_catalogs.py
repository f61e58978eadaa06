"""The shipped demo catalogs: they load cleanly, are rich enough to exercise every
feature of the catalog format, are fully translated, and behave as their own
golden tests say.

Every size threshold below is computed from the loaded snapshot; nothing about
the files' content is hard-coded except the minimums the demo promises.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from catalog.demo import demo_catalog_paths
from catalog.snapshot import AttributeKind, Catalog, Label, Module, Product

try:
    from catalog.files import load_catalog_file
except ImportError as exc:  # pragma: no cover - only while the loader is being built
    pytest.skip(
        f"catalog.files is not importable yet ({exc}); demo catalogs cannot be loaded",
        allow_module_level=True,
    )

try:
    from configurator.rules.catalog_check import check_catalog, expression_checker
except ImportError:  # pragma: no cover - the loader then checks structure only
    check_catalog = None
    expression_checker = None

PATHS = demo_catalog_paths()
PATH_IDS = [p.name for p in PATHS]

MIN_ATTRIBUTES, MAX_ATTRIBUTES = 12, 25
MAX_DOMAIN = 50
MIN_RULES = 20
MIN_TABLE_RULES = 2
MIN_PARTS = 40
MIN_MODULE_DEPTH = 3
MIN_OPERATIONS = 6
MIN_GOLDEN_TESTS = 4


@cache
def load(path: Path) -> Catalog:
    return load_catalog_file(path, expression_checker=expression_checker)


def products() -> list[tuple[Path, str]]:
    return [(path, product.code) for path in PATHS for product in load(path).products]


PRODUCTS = products()
PRODUCT_IDS = [f"{path.name}:{code}" for path, code in PRODUCTS]


def product_of(path: Path, code: str) -> tuple[Catalog, Product]:
    catalog = load(path)
    return catalog, catalog.product(code)


def module_depth(catalog: Catalog, item: str, seen: frozenset[str] = frozenset()) -> int:
    """How many modules deep ``item`` goes: 0 for a part, 1 for a module of parts only."""
    module = catalog.module(item)
    if module is None or item in seen:
        return 0
    below = [module_depth(catalog, line.item, seen | {item}) for line in module.components]
    return 1 + max(below, default=0)


def reachable(catalog: Catalog, product: Product) -> tuple[set[str], list[Module]]:
    """Parts and modules any configuration of ``product`` may use (conditions ignored)."""
    parts: set[str] = set()
    modules: dict[str, Module] = {}
    todo = [line.item for line in product.bom]
    while todo:
        item = todo.pop()
        module = catalog.module(item)
        if module is None:
            parts.add(item)
        elif item not in modules:
            modules[item] = module
            todo.extend(line.item for line in module.components)
    return parts, list(modules.values())


def labels(obj: Any, where: str = "") -> Iterator[tuple[str, Label]]:
    """Every Label inside a snapshot object, with a readable path."""
    if isinstance(obj, Label):
        yield where, obj
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            if f.name != "loc":
                name = getattr(obj, "code", None) or getattr(obj, "id", None)
                yield from labels(getattr(obj, f.name), f"{where}/{name or type(obj).__name__}.{f.name}")
    elif isinstance(obj, tuple):
        for i, item in enumerate(obj):
            yield from labels(item, f"{where}[{i}]")


# --------------------------------------------------------------------- loading


def test_demo_catalog_paths_lists_at_least_two_files() -> None:
    assert len(PATHS) >= 2
    assert all(p.is_file() for p in PATHS)


@pytest.mark.parametrize("path", PATHS, ids=PATH_IDS)
def test_demo_catalog_loads_without_problems(path: Path) -> None:
    catalog = load(path)
    assert catalog.products
    if check_catalog is not None:
        assert check_catalog(catalog) == []


def test_demo_catalogs_have_distinct_codes_and_industries() -> None:
    codes = [load(p).code for p in PATHS]
    assert len(set(codes)) == len(codes)
    parts = [{part.code for part in load(p).parts} for p in PATHS]
    for a, b in itertools.combinations(parts, 2):
        assert not a & b, "demo catalogs should come from different industries"


@pytest.mark.parametrize("path", PATHS, ids=PATH_IDS)
def test_every_label_has_a_chinese_text(path: Path) -> None:
    missing = [
        where for where, label in labels(load(path)) if not label.zh_CN.strip() or not label.en.strip()
    ]
    assert missing == []


# ------------------------------------------------------------------- richness


@pytest.mark.parametrize(("path", "code"), PRODUCTS, ids=PRODUCT_IDS)
def test_product_has_enough_attributes_of_every_kind(path: Path, code: str) -> None:
    _, product = product_of(path, code)
    assert MIN_ATTRIBUTES <= len(product.attributes) <= MAX_ATTRIBUTES
    # every kind of choice the storefront renders (decimal values render like ints; the richer
    # attribute kinds are shown by the desk catalog in tests/richer and docs/catalog-format.md)
    assert {a.kind for a in product.attributes} >= set(AttributeKind) - {AttributeKind.DECIMAL}
    for a in product.attributes:
        assert a.group in {g.code for g in product.groups}, f"{a.code} is in no storefront step"
        if a.kind is AttributeKind.SET:
            assert a.default_set is not None and a.max_count is not None
        else:
            assert a.default is not None, f"{a.code} has no default"
            assert len(a.domain()) <= MAX_DOMAIN, f"{a.code} has {len(a.domain())} values"
    assert any(a.kind is AttributeKind.INT and a.step > 1 for a in product.attributes)


@pytest.mark.parametrize(("path", "code"), PRODUCTS, ids=PRODUCT_IDS)
def test_product_rules_include_allow_and_forbid_tables_and_arithmetic(path: Path, code: str) -> None:
    from configurator.rules.ast import ARITHMETIC, Binary
    from configurator.rules.parser import parse_expression

    _, product = product_of(path, code)
    tables = [r for r in product.rules if r.is_table]
    assert len(product.rules) >= MIN_RULES
    assert len(tables) >= MIN_TABLE_RULES
    assert {r.allow for r in tables} == {True, False}

    def arithmetic(node: Any) -> bool:
        if isinstance(node, Binary) and node.op in ARITHMETIC:
            return True
        if dataclasses.is_dataclass(node):
            return any(arithmetic(getattr(node, f.name)) for f in dataclasses.fields(node))
        if isinstance(node, tuple):
            return any(arithmetic(n) for n in node)
        return False

    assert any(arithmetic(parse_expression(r.text)) for r in product.rules if r.text is not None)
    assert all(r.message.en and r.message.zh_CN for r in product.rules)


@pytest.mark.parametrize(("path", "code"), PRODUCTS, ids=PRODUCT_IDS)
def test_product_bom_reaches_enough_parts_through_nested_configurable_modules(path: Path, code: str) -> None:
    catalog, product = product_of(path, code)
    parts, modules = reachable(catalog, product)
    assert len(parts) >= MIN_PARTS
    assert max(module_depth(catalog, line.item) for line in product.bom) >= MIN_MODULE_DEPTH
    configurable = [m for m in modules if m.configurable]
    assert configurable and any(m.rules for m in configurable)
    assert any(line.params for line in product.bom if catalog.module(line.item) in configurable)
    assert any(line.when for line in product.bom)
    assert any(line.scrap_pct > 0 for m in modules for line in m.components) or any(
        line.scrap_pct > 0 for line in product.bom
    )
    assert any(not line.qty.strip().replace(".", "").isdigit() for line in product.bom), "no quantity formula"


@pytest.mark.parametrize(("path", "code"), PRODUCTS, ids=PRODUCT_IDS)
def test_product_routing_and_op_links(path: Path, code: str) -> None:
    _, product = product_of(path, code)
    ops = {op.op for op in product.routing}
    assert len(ops) >= MIN_OPERATIONS
    assert len({op.work_center for op in product.routing}) >= MIN_OPERATIONS
    assert any(op.when for op in product.routing)
    assert any(not op.run_min.strip().isdigit() for op in product.routing), "no run-time formula"
    linked = {line.op for line in product.bom if line.op is not None}
    assert linked and linked <= ops


@pytest.mark.parametrize(("path", "code"), PRODUCTS, ids=PRODUCT_IDS)
def test_product_prices_use_every_kind_of_price_rule(path: Path, code: str) -> None:
    _, product = product_of(path, code)
    ints = {a.code for a in product.attributes if a.kind is AttributeKind.INT}
    assert product.base_price > 0
    assert any(p.percent for p in product.prices)
    assert any(p.table for p in product.prices)
    assert any(p.add and p.when for p in product.prices)
    assert any(p.add and any(code in p.add for code in ints) for p in product.prices), (
        "no formula over an int"
    )


@pytest.mark.parametrize(("path", "code"), PRODUCTS, ids=PRODUCT_IDS)
def test_product_has_accept_and_reject_golden_tests(path: Path, code: str) -> None:
    _, product = product_of(path, code)
    assert len(product.tests) >= MIN_GOLDEN_TESTS
    assert {t.expect for t in product.tests} == {"accept", "reject"}
    rule_ids = {r.id for r in product.rules}
    for t in product.tests:
        if t.expect == "reject":
            assert t.reason in rule_ids, f"{t.id}: reason {t.reason!r} is not a rule of {code}"


# ---------------------------------------------------------------- behaviour


@cache
def configurator_for(path: Path, code: str) -> Any:
    engine = pytest.importorskip("configurator.engine", reason="configurator.engine is not available yet")
    _, product = product_of(path, code)
    return engine.Configurator(product, catalog_key=f"demo:{path.name}")


def decisions_of(product: Product, pairs: tuple[tuple[str, Any], ...]) -> list[Any]:
    from configurator.decisions import Decision

    return [Decision(a, frozenset(v) if isinstance(v, tuple) else v) for a, v in pairs]


def defaults_of(product: Product) -> dict[str, Any]:
    return {
        a.code: frozenset(a.default_set or ()) if a.kind is AttributeKind.SET else a.default
        for a in product.attributes
    }


@pytest.mark.parametrize(("path", "code"), PRODUCTS, ids=PRODUCT_IDS)
def test_defaults_form_a_valid_configuration(path: Path, code: str) -> None:
    conf = configurator_for(path, code)
    assert conf.count() >= 1
    assert conf.validate(defaults_of(conf.product)) == ()
    assert conf.complete() == defaults_of(conf.product)


@pytest.mark.parametrize(("path", "code"), PRODUCTS, ids=PRODUCT_IDS)
def test_every_choice_is_offered_at_the_start(path: Path, code: str) -> None:
    # Enum values, bools and set elements are buyer-facing choices: none may be
    # dead. Int ranges are exempt (a range may step over values no rule allows).
    conf = configurator_for(path, code)
    state = conf.state()
    dead = [
        (a.code, v.value)
        for a in state.attributes
        if a.kind is not AttributeKind.INT
        for v in a.values
        if not v.possible and not (a.kind is AttributeKind.SET and v.possible_out)
    ]
    assert dead == []
    for a in conf.product.attributes:
        if a.kind is AttributeKind.INT:
            possible = state.attribute(a.code).possible
            assert a.minimum in possible and a.maximum in possible, a.code


GOLDEN = [(path, code, t.id) for path, code in PRODUCTS for t in product_of(path, code)[1].tests]


@pytest.mark.parametrize(("path", "code", "test_id"), GOLDEN, ids=[f"{c}:{t}" for _, c, t in GOLDEN])
def test_golden_test_gives_its_expected_outcome(path: Path, code: str, test_id: str) -> None:
    conf = configurator_for(path, code)
    (t,) = [t for t in conf.product.tests if t.id == test_id]
    state = conf.state(decisions_of(conf.product, t.decisions))
    if t.expect == "accept":
        assert state.conflict is None, f"rejected by {[r.rule_id for r in state.conflict.rules]}"
        assert state.count >= 1
    else:
        assert state.conflict is not None, "expected a conflict"
        assert t.reason in [r.rule_id for r in state.conflict.rules]


@pytest.mark.parametrize(("path", "code"), PRODUCTS, ids=PRODUCT_IDS)
def test_accepted_golden_configurations_explode_into_a_bom(path: Path, code: str) -> None:
    explode_mod = pytest.importorskip("bom.explode", reason="bom.explode is not available yet")
    catalog, product = product_of(path, code)
    conf = configurator_for(path, code)
    for t in product.tests:
        if t.expect != "accept":
            continue
        values = conf.complete(decisions_of(product, t.decisions))
        bom = explode_mod.explode(catalog, code, values)
        assert bom.items, t.id
        assert bom.total_cost > 0, t.id
