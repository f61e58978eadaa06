"""Semantic diff of catalog versions: exact counts checked against enumeration, examples, prices, CLI."""

from __future__ import annotations

import itertools
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from catalog.files import load_catalog_file
from catalog.snapshot import Attribute, AttributeKind, Choice, Label, PriceRule, Product, Rule
from configurator.decisions import AttributeValue
from configurator.diff import diff_products, embed, reasons_not_in
from configurator.engine import Configurator
from configurator.rules.catalog_check import expression_checker
from web.cli import main

DATA = Path(__file__).parent / "data"


def enum(code: str, *values: str, default: str | None = None) -> Attribute:
    return Attribute(
        code,
        AttributeKind.ENUM,
        Label(code),
        choices=tuple(Choice(v, Label(v)) for v in values),
        default=default,
    )


def boolean(code: str, default: bool | None = None) -> Attribute:
    return Attribute(code, AttributeKind.BOOL, Label(code), default=default)


def integer(code: str, low: int, high: int, step: int = 1) -> Attribute:
    return Attribute(code, AttributeKind.INT, Label(code), minimum=low, maximum=high, step=step)


def setattr_(code: str, *values: str, default: tuple[str, ...] | None = None) -> Attribute:
    return Attribute(
        code,
        AttributeKind.SET,
        Label(code),
        choices=tuple(Choice(v, Label(v)) for v in values),
        default_set=default,
    )


def rule(rule_id: str, text: str) -> Rule:
    return Rule(rule_id, Label(rule_id), text=text)


def product(attributes: tuple[Attribute, ...], *rules: Rule, prices: tuple[PriceRule, ...] = ()) -> Product:
    return Product("p", Label("P"), Decimal("100"), attributes, rules=rules, prices=prices)


def space(p: Product) -> list[dict[str, AttributeValue]]:
    """Every valid configuration, by enumeration (the reference the diff is checked against)."""
    domains: list[list[AttributeValue]] = []
    for a in p.attributes:
        if a.kind is AttributeKind.SET:
            codes = [c.code for c in a.choices]
            domains.append(
                [frozenset(s) for k in range(len(codes) + 1) for s in itertools.combinations(codes, k)]
            )
        else:
            domains.append(list(a.domain()))
    conf = Configurator(p, backend="sat")
    out = []
    for values in itertools.product(*domains):
        configuration = dict(zip([a.code for a in p.attributes], values, strict=True))
        if not conf.validate(configuration):
            out.append(configuration)
    return out


def key(configuration: dict[str, AttributeValue]) -> tuple[tuple[str, Any], ...]:
    return tuple(
        sorted((k, tuple(sorted(v)) if isinstance(v, frozenset) else v) for k, v in configuration.items())
    )


FRAME = enum("frame", "alu", "steel", "carbon")
RACK = boolean("rack")
GEARS = integer("gears", 1, 8)
EXTRAS = setattr_("extras", "bell", "lock", "light")

PAIRS = {
    "rule added": (
        product((FRAME, RACK, GEARS)),
        product((FRAME, RACK, GEARS), rule("carbon-no-rack", "frame == carbon -> not rack")),
    ),
    "rule changed": (
        product((FRAME, RACK, GEARS), rule("g", "frame == alu -> gears <= 6")),
        product((FRAME, RACK, GEARS), rule("g", "frame == alu -> gears <= 4")),
    ),
    "value removed and added, int range changed": (
        product((FRAME, RACK, integer("gears", 1, 8)), rule("r", "rack -> gears >= 3")),
        product(
            (enum("frame", "alu", "steel", "titanium"), RACK, integer("gears", 2, 10, 2)),
            rule("r", "rack -> gears >= 3"),
        ),
    ),
    "attribute added with default, attribute removed": (
        product((FRAME, RACK, boolean("bell", default=True)), rule("x", "frame == carbon -> not rack")),
        product(
            (FRAME, RACK, enum("color", "red", "blue", default="blue")),
            rule("x", "color == red -> frame != carbon"),
        ),
    ),
    "set elements changed": (
        product((FRAME, setattr_("extras", "bell", "lock")), rule("s", "has(extras, lock) -> frame != alu")),
        product((FRAME, EXTRAS), rule("s", "has(extras, light) -> frame == carbon")),
    ),
    "identical": (
        product((FRAME, RACK), rule("x", "frame == carbon -> not rack")),
        product((FRAME, RACK), rule("x", "frame == carbon -> not rack")),
    ),
}


@pytest.mark.parametrize("backend", ["sat", "auto"])
@pytest.mark.parametrize("name", list(PAIRS))
def test_counts_are_exact_against_enumeration(name: str, backend: str) -> None:
    a, b = PAIRS[name]
    # The reference: A's configurations embedded into B's attributes (see configurator.diff).
    in_a = {key({**embed(c, a, b), **c}) for c in space(a)}
    in_b = {key({**embed(c, b, a), **c}) for c in space(b)}
    d = diff_products(a, b, backend=backend)
    assert (d.count_a, d.count_b) == (len(space(a)), len(space(b)))
    assert d.both == len(in_a & in_b), name
    assert (d.only_a, d.only_b) == (len(in_a - in_b), len(in_b - in_a))
    conf_a, conf_b = Configurator(a, backend="sat"), Configurator(b, backend="sat")
    if d.only_a:
        assert d.example_only_a is not None and d.example_only_a.reasons
        example = dict(d.example_only_a.configuration)
        assert not conf_a.validate(example)  # a real configuration of A ...
        assert reasons_not_in(example, a, b, conf_b)  # ... that B does not have
    else:
        assert d.example_only_a is None
    if d.only_b:
        assert d.example_only_b is not None
        example = dict(d.example_only_b.configuration)
        assert not conf_b.validate(example)
        assert reasons_not_in(example, b, a, conf_a)


def test_rule_example_names_the_new_rule() -> None:
    a, b = PAIRS["rule added"]
    d = diff_products(a, b, backend="sat")
    assert d.example_only_a is not None
    assert d.example_only_a.reasons == ("breaks rule carbon-no-rack of B",)
    assert dict(d.example_only_a.configuration)["frame"] == "carbon"


def test_largest_price_changes_first() -> None:
    prices_a = (PriceRule("gears", Label("gears"), add="gears * 10"),)
    prices_b = (PriceRule("gears", Label("gears"), add="gears * 12"),)
    a = product((FRAME, GEARS), prices=prices_a)
    b = product((FRAME, GEARS), prices=prices_b)
    d = diff_products(a, b, backend="sat")
    assert d.both == 24 and d.only_a == d.only_b == 0
    deltas = [c.delta for c in d.price_changes]
    assert deltas == sorted(deltas, key=abs, reverse=True)
    assert deltas[0] == Decimal(16)  # gears = 8: 96 - 80
    assert d.price_changes[0].lines == ("gears 80.00 -> 96.00",)


def test_cli_diff_of_two_files_text_and_json() -> None:
    runner = CliRunner()
    v1, v2 = str(DATA / "shop-v1.yaml"), str(DATA / "shop-v2.yaml")
    result = runner.invoke(main, ["catalog", "diff", v1, v2])
    assert result.exit_code == 0, result.output
    assert "desk: 16 -> 38 configurations; 14 in both, 2 only in A, 24 only in B" in result.output
    assert "breaks rule pine-narrow of B" in result.output
    assert "oak 400.00 -> 450.00" in result.output
    assert runner.invoke(main, ["catalog", "diff", "--exit-code", v1, v2]).exit_code == 1
    assert runner.invoke(main, ["catalog", "diff", "--exit-code", v1, v1]).exit_code == 0
    data = json.loads(runner.invoke(main, ["catalog", "diff", "--json", v1, v2]).stdout)
    (desk,) = data["products"]
    assert (desk["only_in_a"], desk["only_in_b"], desk["in_both"]) == (2, 24, 14)
    assert desk["example_only_in_b"]["configuration"]["wood"] == "walnut"
    assert desk["price_changes"][0]["delta"] == "+50.00"


def test_cli_diff_of_stored_versions_lists_affected_orders(migrated_url: str) -> None:
    from sqlalchemy.orm import Session

    from catalog.db import make_engine
    from catalog.services import import_catalog

    engine = make_engine(migrated_url)
    v1 = load_catalog_file(DATA / "shop-v1.yaml", expression_checker=expression_checker)
    with Session(engine) as session:
        import_catalog(session, v1, publish=True)
        session.commit()
    _seed_configuration_and_order(engine)
    engine.dispose()
    result = CliRunner().invoke(
        main, ["catalog", "diff", "desks@1", str(DATA / "shop-v2.yaml"), "--url", migrated_url]
    )
    assert result.exit_code == 0, result.output
    assert "saved configurations on A not valid in B: 1 of 2; open orders: 1 of 1" in result.output
    assert "order SO-1 (desk, accepted): breaks rule pine-narrow of B" in result.output


def _seed_configuration_and_order(engine: Any) -> None:
    from datetime import UTC, datetime

    from sqlalchemy.orm import Session

    from usecases.records import ConfigurationRecord, OrderRecord

    now = datetime.now(UTC)
    common = {"catalog_code": "desks", "version_number": 1, "content_hash": "0" * 64, "product_code": "desk"}
    with Session(engine) as session:
        session.add_all(
            [
                ConfigurationRecord(
                    id="c-wide-pine",
                    share_token="t1",
                    decisions=json.dumps(
                        [{"attribute": "wood", "value": "pine"}, {"attribute": "width", "value": 1400}]
                    ),
                    created_at=now,
                    updated_at=now,
                    **common,
                ),
                ConfigurationRecord(
                    id="c-oak",
                    share_token="t2",
                    decisions=json.dumps([{"attribute": "wood", "value": "oak"}]),
                    created_at=now,
                    updated_at=now,
                    **common,
                ),
                OrderRecord(
                    number="SO-1",
                    decisions="[]",
                    configuration=json.dumps({"wood": "pine", "width": 1400, "drawer": False}),
                    currency="CNY",
                    price_total=Decimal("1100"),
                    price_breakdown="{}",
                    bom="{}",
                    bom_hash="0" * 64,
                    status="accepted",
                    created_at=now,
                    **common,
                ),
            ]
        )
        session.commit()


CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"


def _corpus_product(rel: str) -> Product:
    if not CORPUS.is_dir():
        pytest.skip(f"../shared/corpus not present: {CORPUS} (the feature-model corpus lives outside the repository)")
    from catalog.featuremodels import load_feature_model

    return load_feature_model(CORPUS / rel).products[0]


@pytest.mark.corpus
@pytest.mark.slow
@pytest.mark.parametrize("rel, published", [("flamapy/JHipster.uvl", 26_256), ("featureide/E-Shop.xml", None)])
def test_dropping_a_constraint_of_a_real_model_only_adds_configurations(rel: str, published: int | None) -> None:
    import dataclasses

    a = _corpus_product(rel)
    cross_tree = [r for r in a.rules if r.id.startswith("ctc")] or list(a.rules)
    dropped = cross_tree[-1]
    b = dataclasses.replace(a, rules=tuple(r for r in a.rules if r.id != dropped.id))
    d = diff_products(a, b)
    assert d.error is None
    if published is not None:
        assert d.count_a == published
    # Removing a rule can only add configurations: every one of A is in both, exactly.
    assert d.both == d.count_a and d.only_a == 0
    assert d.count_b is not None and d.count_b >= d.count_a
    if d.only_b:
        assert d.example_only_b is not None
        assert d.example_only_b.reasons == (f"breaks rule {dropped.id} of A",)


def test_a_rule_split_into_auxiliaries_still_gets_examples() -> None:
    digits = tuple(integer(f"d{i}", 0, 9) for i in range(6))
    total = " + ".join(f"d{i}" for i in range(6))
    a = product(digits, rule("digits", f"{total} == 27"))
    b = product(digits, rule("digits", f"{total} == 26"))
    d = diff_products(a, b)
    assert (d.count_a, d.count_b, d.both) == (55252, 54747, 0)
    assert d.example_only_a is not None and d.example_only_a.reasons == ("breaks rule digits of B",)
    assert sum(v for _, v in d.example_only_a.configuration if isinstance(v, int)) == 27
    assert d.example_only_b is not None and d.example_only_b.reasons == ("breaks rule digits of A",)
    assert d.error is None


def test_auto_does_not_repeat_on_b_a_backend_that_failed_on_a(monkeypatch: pytest.MonkeyPatch) -> None:
    import configurator.diff as diff_module
    from configurator.backends.sat import SatBackend

    asked: list[str] = []
    real = diff_module.make_backend

    def make_backend(model: Any, *, prefer: str = "auto", **kw: Any) -> Any:
        asked.append(prefer)
        # as if the decision diagram exceeded its budget: "auto" ends on SAT
        return SatBackend(model) if prefer == "auto" else real(model, prefer=prefer, **kw)

    monkeypatch.setattr(diff_module, "make_backend", make_backend)
    digits = tuple(integer(f"d{i}", 0, 3) for i in range(3))
    a = product(digits, rule("sum", "d0 + d1 + d2 == 4"))
    b = product(digits, rule("sum", "d0 + d1 + d2 == 5"))
    d = diff_products(a, b)
    assert (d.count_a, d.count_b, d.both) == (12, 12, 0)
    # A, then B and the combined model on the backend "auto" settled on for A
    assert asked[:3] == ["auto", "sat", "sat"]


@pytest.mark.corpus
@pytest.mark.slow
def test_diff_counts_a_model_the_decision_diagram_cannot_hold() -> None:
    """Automotive01 (2,513 features, 2,833 cross-tree constraints, about 5.28e210 configurations) with
    one constraint dropped: "auto" gives up on the decision diagram and counts through the d-DNNF,
    exactly, on A, on B and on the model of both."""
    import dataclasses

    pytest.importorskip("configurator.backends.ddnnf", reason="the d-DNNF backend is not installed")
    pytest.importorskip("py_d4", reason="the d4 compiler (PyPI d4solver) is not installed")
    a = _corpus_product("featureide/Automotive01.xml")
    dropped = next(r for r in a.rules if r.id == "ctc-1")
    b = dataclasses.replace(a, rules=tuple(r for r in a.rules if r.id != dropped.id))
    d = diff_products(a, b)
    assert d.error is None
    assert d.count_a is not None and d.count_b is not None and d.both is not None
    assert d.count_a > 10**200  # far beyond any enumeration
    # Dropping a constraint only adds configurations: all of A are in both, exactly.
    assert d.both == d.count_a and d.only_a == 0
    assert d.only_b == d.count_b - d.count_a
    if d.only_b:
        assert d.example_only_b is not None
        assert d.example_only_b.reasons == (f"breaks rule {dropped.id} of A",)
