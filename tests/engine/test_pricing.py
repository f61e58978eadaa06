"""Prices: exact arithmetic, rounding, tables, percentages, partial configurations."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from catalog.snapshot import Label, PriceRule, PriceTable, Product
from configurator import Configurator
from configurator.pricing import PriceModel, PriceRuleError, price, to_cents

from .conftest import bike_model, bike_product
from .fake_backend import ExhaustiveBackend


def with_prices(*rules: PriceRule) -> Product:
    return bike_product(rules)


@pytest.mark.parametrize(
    ("amount", "cents"),
    [(Fraction(1, 200), "0.01"), (Fraction(-1, 200), "-0.01"), (Fraction(2, 3), "0.67"), (Fraction(249, 100), "2.49"),
     (Fraction(0), "0.00")],
)
def test_amounts_round_half_up_to_cents(amount: Fraction, cents: str) -> None:
    assert to_cents(amount) == Decimal(cents)


def test_formula_with_decimals_is_exact_before_rounding() -> None:
    product = with_prices(PriceRule("g", Label("Gears"), add="gears * 0.35 / 3"))
    assert price(product, {"gears": 3}).lines[0].amount == Decimal("0.35")
    assert price(product, {"gears": 1}).lines[0].amount == Decimal("0.12")


def test_table_takes_the_first_matching_row_and_no_row_means_no_line() -> None:
    table = PriceTable(("frame", "gears"), (
        (("carbon", "9..10"), Decimal("200.00")),
        (("carbon", "*"), Decimal("100.00")),
        ((("steel", "aluminium"), 1), Decimal("5.00")),
    ))
    product = with_prices(PriceRule("t", Label("Table"), table=table))
    assert price(product, {"frame": "carbon", "gears": 9}).total == Decimal("1200.00")
    assert price(product, {"frame": "carbon", "gears": 11}).total == Decimal("1100.00")
    assert price(product, {"frame": "steel", "gears": 1}).total == Decimal("1005.00")
    assert price(product, {"frame": "steel", "gears": 2}).lines == ()


def test_percent_applies_to_base_plus_add_and_table_lines_only() -> None:
    product = with_prices(
        PriceRule("express", Label("Express"), percent="10"),
        PriceRule("carbon", Label("Carbon"), when="frame == carbon", add="500"),
        PriceRule("vat", Label("Second percent"), percent="1"),
    )
    got = price(product, {"frame": "carbon"})
    assert [(p.rule_id, p.amount) for p in got.lines] == [
        ("express", Decimal("150.00")), ("carbon", Decimal("500.00")), ("vat", Decimal("15.00"))
    ]
    assert got.total == Decimal("1665.00")


def test_partial_line_applies_only_when_every_remaining_combination_agrees() -> None:
    product = with_prices(PriceRule("g", Label("Big gears"), when="gears >= 9", add="20"))
    assert price(product, {}, candidates={"gears": (9, 10, 11)}).total == Decimal("1020.00")
    assert price(product, {}, candidates={"gears": (8, 9)}).lines == ()
    assert price(product, {}).lines == ()  # gears unknown


def test_condition_decided_by_fixed_values_alone_applies_early() -> None:
    product = with_prices(PriceRule("x", Label("Steel or rack"), when="frame == steel or rack", add="7"))
    assert price(product, {"frame": "steel"}).total == Decimal("1007.00")


def test_set_condition_on_a_partially_fixed_set() -> None:
    product = with_prices(PriceRule("l", Label("Lights"), when="has(acc, lights)", add="80"))
    subsets = (frozenset({"lights"}), frozenset({"lights", "bell"}))
    assert price(product, {}, candidates={"acc": subsets}).total == Decimal("1080.00")


def test_division_by_zero_in_a_formula_names_the_rule() -> None:
    product = with_prices(PriceRule("weird", Label("Weird"), add="100 / (gears - 1)"))
    with pytest.raises(PriceRuleError) as info:
        price(product, {"gears": 1})
    assert info.value.rule_id == "weird" and info.value.reason == "price_rule_error"


def test_separable_prices_give_unary_weights_and_others_do_not() -> None:
    separable = PriceModel.of(with_prices(PriceRule("c", Label("C"), when="frame == carbon", add="500"),
                                          PriceRule("p", Label("P"), percent="5")))
    expected: dict[str, dict[object, Fraction]] = {
        "frame": {"aluminium": Fraction(0), "steel": Fraction(0), "carbon": Fraction(500)}
    }
    assert separable.unary_weights() == expected
    joint = PriceModel.of(with_prices(PriceRule("j", Label("J"), when="frame == carbon and rack", add="1")))
    assert joint.unary_weights() is None
    conditional_percent = PriceModel.of(with_prices(PriceRule("p", Label("P"), when="rack", percent="5")))
    assert conditional_percent.unary_weights() is None


def test_lower_bound_never_exceeds_any_remaining_price() -> None:
    model = PriceModel.of(with_prices(
        PriceRule("g", Label("G"), add="gears * 10 - 50"),
        PriceRule("p", Label("P"), when="rack", percent="10"),
    ))
    candidates = {"gears": tuple(range(1, 13)), "rack": (False, True)}
    bound = model.lower_bound(candidates)
    assert bound is not None
    for g in range(1, 13):
        for r in (False, True):
            assert bound <= Fraction(model.breakdown({"gears": (g,), "rack": (r,)}).total)


def test_configurator_prices_in_its_currency() -> None:
    conf = Configurator(with_prices(), solver=ExhaustiveBackend(bike_model()), currency="EUR")
    assert conf.state([]).price.currency == "EUR"


def test_an_equal_product_held_as_another_object_finds_its_price_model_without_comparing(monkeypatch) -> None:
    """The catalog's product and the compiled model's copy are equal, not identical: the price
    model is shared and, once looked up, found by identity (no field-by-field comparison)."""
    import pickle

    product = with_prices(PriceRule("c", Label("C"), when="frame == carbon", add="500"))
    twin = pickle.loads(pickle.dumps(product))
    assert twin == product and twin is not product
    model = PriceModel.of(product)
    assert PriceModel.of(twin) is model
    compared: list[object] = []
    real_eq = Product.__eq__

    def counting_eq(self: Product, other: object) -> bool:
        compared.append(other)
        return real_eq(self, other)  # type: ignore[no-any-return]

    monkeypatch.setattr(Product, "__eq__", counting_eq)
    assert PriceModel.of(twin) is model and PriceModel.of(product) is model
    assert price(twin, {"frame": "carbon"}).total == price(product, {"frame": "carbon"}).total
    assert compared == []
