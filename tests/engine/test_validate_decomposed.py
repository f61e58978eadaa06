"""validate() must report rules that the model builder split into auxiliary variables."""

from __future__ import annotations

from decimal import Decimal

from catalog.snapshot import Attribute, AttributeKind, Label, Product, Rule
from configurator import Configurator

N = 14  # 2**15 tuples for the whole rule: above the decomposition threshold


def _product() -> Product:
    attributes = tuple(Attribute(f"f{i}", AttributeKind.BOOL, Label(f"F{i}")) for i in range(N))
    wide = " or ".join(f"f{i}" for i in range(N))
    return Product(
        code="wide",
        name=Label("Wide"),
        base_price=Decimal("1"),
        attributes=attributes,
        rules=(
            Rule("at-least-one", Label("Choose at least one option."), text=wide),
            Rule("f0-excludes-f1", Label("F0 and F1 exclude each other."), text="not (f0 and f1)"),
        ),
    )


def test_the_wide_rule_really_is_split_into_auxiliary_variables():
    configurator = Configurator(_product(), backend="sat")
    assert any(v.auxiliary for v in configurator.model.variables)
    assert configurator.count() == 2**N - 1 - 2 ** (N - 2)


def test_validate_reports_a_violated_split_rule_naming_only_catalog_attributes():
    configurator = Configurator(_product(), backend="sat")
    nothing = {f"f{i}": False for i in range(N)}
    violations = configurator.validate(nothing)
    assert [v.rule_id for v in violations] == ["at-least-one"]
    assert set(violations[0].attributes) <= {f"f{i}" for i in range(N)}


def test_validate_accepts_a_configuration_that_satisfies_the_split_rule():
    configurator = Configurator(_product(), backend="sat")
    only_last = {f"f{i}": i == N - 1 for i in range(N)}
    assert configurator.validate(only_last) == ()
    both = {f"f{i}": i in (0, 1) for i in range(N)}
    assert [v.rule_id for v in configurator.validate(both)] == ["f0-excludes-f1"]
