"""The Configurator facade over a hand-built model and an exhaustive backend."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

import pytest

from catalog.snapshot import Label, PriceRule, PriceTable, Product
from configurator.decisions import AnyDecision, Decision, InvalidValue, SetElement, UnknownAttribute
from configurator.engine import (
    Configurator,
    ConflictError,
    NoValidConfiguration,
    UnknownObjective,
    ValueImpossible,
)
from configurator.model import Constraint, Model
from configurator.pricing import price

from .conftest import bike_model, bike_product
from .fake_backend import ExhaustiveBackend

CARBON = Decision("frame", "carbon")


def consistent(backend: ExhaustiveBackend, conf: Configurator, decisions: Sequence[AnyDecision]) -> bool:
    return backend.propagate(conf._restrict(decisions)) is not None


# ----------------------------------------------------------------------------- state


def test_empty_state_fills_defaults_without_making_them_decisions(conf: Configurator) -> None:
    state = conf.state([])
    frame = state.attribute("frame")
    assert (frame.value, frame.source) == ("aluminium", "default")
    assert state.attribute("rack").source == "default"
    assert state.attribute("gears").value is None
    assert state.attribute("acc").value == frozenset({"bell"})
    assert state.attribute("acc").source == "default"
    assert state.complete is False
    assert state.missing == ("frame", "rack", "gears", "acc")
    assert state.decisions == ()


def test_count_is_the_number_of_valid_completions(conf: Configurator, backend: ExhaustiveBackend) -> None:
    assert conf.state([]).count == len(backend._solutions) == conf.count([])
    assert conf.count([CARBON]) == len([s for s in backend._solutions if s["frame"] == "carbon"])


def test_choosing_carbon_implies_no_rack_and_restricts_gears(conf: Configurator) -> None:
    state = conf.state([CARBON])
    rack = state.attribute("rack")
    assert (rack.value, rack.source) == (False, "implied")
    assert state.attribute("gears").possible == (9, 10, 11)
    assert state.attribute("frame").source == "user"


def test_possible_values_are_exactly_those_that_extend(conf: Configurator, backend: ExhaustiveBackend) -> None:
    decisions: list[AnyDecision] = [SetElement("acc", "lights"), Decision("gears", 9)]
    state = conf.state(decisions)
    for attr in ("rack",):
        for v in state.attribute(attr).values:
            assert v.possible == consistent(backend, conf, [*decisions, Decision(attr, v.value)])


def test_user_fixed_attribute_still_offers_the_values_it_could_switch_to(conf: Configurator) -> None:
    state = conf.state([CARBON, Decision("gears", 9)])
    frame = state.attribute("frame")
    assert [v.value for v in frame.values if v.possible] == ["aluminium", "carbon"]
    assert [v.value for v in frame.values if v.selected] == ["carbon"]


def test_a_default_that_is_no_longer_possible_is_not_applied(conf: Configurator) -> None:
    # gears 11 is carbon-only: the aluminium default gives way and carbon is implied.
    frame = conf.state([Decision("gears", 11)]).attribute("frame")
    assert (frame.value, frame.source) == ("carbon", "implied")


def test_defaults_are_applied_in_attribute_order_when_they_clash(product: Product) -> None:
    # aluminium (frame default) excludes lights; a default set with lights gives way to it.
    acc = replace(product.attributes[3], default_set=("lights",))
    clash = replace(product, attributes=(*product.attributes[:3], acc))
    conf = Configurator(clash, solver=ExhaustiveBackend(bike_model()))
    state = conf.state([])
    assert state.attribute("frame").value == "aluminium"
    lights = next(v for v in state.attribute("acc").values if v.value == "lights")
    assert lights.selected is False and lights.possible is True


def test_set_element_decision_fixes_one_element_and_leaves_the_others_to_defaults(conf: Configurator) -> None:
    state = conf.state([SetElement("acc", "lock")])
    acc = {v.value: v for v in state.attribute("acc").values}
    assert (acc["lock"].selected, acc["lock"].source) == (True, "user")
    assert (acc["bell"].selected, acc["bell"].source) == (True, "default")
    assert state.attribute("frame").value == "steel"
    assert state.attribute("frame").source == "implied"


def test_set_element_states_report_in_and_out_separately(conf: Configurator) -> None:
    # lights and lock together are impossible (lock needs steel... lights forbid aluminium: steel works),
    # but with aluminium chosen lights cannot go in while it can stay out.
    acc = {v.value: v for v in conf.state([Decision("frame", "aluminium")]).attribute("acc").values}
    assert (acc["lights"].possible, acc["lights"].possible_out) == (False, True)
    assert (acc["bell"].possible, acc["bell"].possible_out) == (True, True)


def test_count_limit_on_sets_shows_up_as_impossible_elements(conf: Configurator) -> None:
    acc = {v.value: v for v in conf.state([Decision("acc", frozenset({"bell", "lights"}))]).attribute("acc").values}
    assert acc["lock"].possible is False
    assert acc["bell"].possible_out is True


def test_state_degrades_a_conflict_by_dropping_the_oldest_decision(conf: Configurator) -> None:
    state = conf.state([Decision("rack", True), Decision("gears", 3), CARBON])
    assert state.conflict is not None
    assert state.conflict.decisions == (Decision("rack", True), CARBON)
    assert [r.rule_id for r in state.conflict.rules] == ["carbon-no-rack"]
    assert state.conflict.rules[0].message.zh_CN == "碳纤维车架不能安装货架。"
    # gears 3 also conflicts with carbon: both older decisions go, the newest stays.
    assert state.conflict.dropped == (Decision("rack", True), Decision("gears", 3))
    assert state.decisions == (CARBON,)
    assert state.attribute("frame").value == "carbon"


def test_state_rejects_unknown_attributes_and_invalid_values(conf: Configurator) -> None:
    with pytest.raises(UnknownAttribute):
        conf.state([Decision("colour", "red")])
    with pytest.raises(InvalidValue):
        conf.state([Decision("gears", 13)])


# ----------------------------------------------------------------------------- explain


def test_explain_names_the_decision_and_rule(conf: Configurator) -> None:
    why = conf.explain([Decision("gears", 9), CARBON], "rack", True)
    assert why.possible is False
    assert why.decisions == (CARBON,)
    assert [r.rule_id for r in why.rules] == ["carbon-no-rack"]


def test_explain_combines_several_decisions_and_rules(conf: Configurator, backend: ExhaustiveBackend) -> None:
    decisions: list[AnyDecision] = [Decision("gears", 9), SetElement("acc", "lights")]
    why = conf.explain(decisions, "rack", True)
    assert why.decisions == tuple(decisions)
    assert {r.rule_id for r in why.rules} == {"carbon-no-rack", "gears-by-frame", "lights-not-aluminium"}
    target = Decision("rack", True)
    for i in range(len(why.decisions)):
        smaller = [*why.decisions[:i], *why.decisions[i + 1:], target]
        assert consistent(backend, conf, smaller), "explanation must be minimal"


def test_explained_rules_are_minimal(conf: Configurator) -> None:
    decisions: list[AnyDecision] = [Decision("gears", 9), SetElement("acc", "lights")]
    why = conf.explain(decisions, "rack", True)
    restrict = conf._restrict([*why.decisions, Decision("rack", True)])
    ids = frozenset(r.rule_id for r in why.rules)
    assert not conf._satisfiable(ids, restrict)
    for rule_id in ids:
        assert conf._satisfiable(ids - {rule_id}, restrict)


def test_explain_prefers_the_oldest_decisions(conf: Configurator) -> None:
    # Both gears 11 and frame carbon exclude the rack; either alone explains it.
    why = conf.explain([Decision("gears", 11), CARBON], "rack", True)
    assert why.decisions == (Decision("gears", 11),)


def test_explain_of_a_possible_value_says_so(conf: Configurator) -> None:
    why = conf.explain([CARBON], "gears", 10)
    assert why.possible is True and why.decisions == () and why.rules == ()


def test_explain_treats_the_value_as_replacing_the_decision_on_its_attribute(conf: Configurator) -> None:
    assert conf.explain([CARBON], "frame", "steel").possible is True


def test_explain_of_a_dead_value_names_only_rules(conf: Configurator) -> None:
    why = conf.explain([], "gears", 12)
    assert why.possible is False and why.decisions == ()
    assert [r.rule_id for r in why.rules] == ["gears-by-frame"]


def test_explain_set_element(conf: Configurator) -> None:
    why = conf.explain([Decision("frame", "aluminium")], "acc", "lights")
    assert why.decisions == (Decision("frame", "aluminium"),)
    assert [r.rule_id for r in why.rules] == ["lights-not-aluminium"]


def test_explain_rules_include_the_set_count_limit(conf: Configurator) -> None:
    why = conf.explain([SetElement("acc", "bell"), SetElement("acc", "lights")], "acc", "lock")
    assert "acc:count" in {r.rule_id for r in why.rules}


# ----------------------------------------------------------------------------- repair


@pytest.mark.parametrize(
    ("decisions", "dropped"),
    [
        ([Decision("gears", 9), SetElement("acc", "lights")], (Decision("gears", 9),)),
        ([SetElement("acc", "lights"), Decision("gears", 9)], (SetElement("acc", "lights"),)),
    ],
)
def test_repair_drops_the_oldest_decision(
    conf: Configurator, decisions: list[AnyDecision], dropped: tuple[AnyDecision]
) -> None:
    fix = conf.repair(decisions, "rack", True)
    assert fix.drop == dropped
    assert fix.decisions[-1] == Decision("rack", True)
    assert conf.state(fix.decisions).conflict is None


def test_repair_is_minimal(conf: Configurator, backend: ExhaustiveBackend) -> None:
    decisions: list[AnyDecision] = [
        Decision("gears", 3), SetElement("acc", "lock"), Decision("rack", False), SetElement("acc", "bell")
    ]
    fix = conf.repair(decisions, "frame", "carbon")
    assert set(fix.drop) == {Decision("gears", 3), SetElement("acc", "lock")}
    for d in fix.drop:
        assert not consistent(backend, conf, [*fix.keep, d, CARBON])


def test_repair_keeps_everything_when_the_value_is_already_possible(conf: Configurator) -> None:
    fix = conf.repair([Decision("rack", True)], "gears", 4)
    assert fix.drop == () and fix.keep == (Decision("rack", True),)


def test_repair_of_a_dead_value_raises(conf: Configurator) -> None:
    with pytest.raises(ValueImpossible) as info:
        conf.repair([CARBON], "gears", 12)
    assert info.value.reason == "value_impossible"
    assert [r.rule_id for r in info.value.rules] == ["gears-by-frame"]


# ----------------------------------------------------------------------------- complete, validate


def test_complete_with_defaults_keeps_defaults_then_takes_first_values(conf: Configurator) -> None:
    assert conf.complete([]) == {"frame": "aluminium", "rack": False, "gears": 1, "acc": frozenset({"bell"})}
    done = conf.complete([Decision("gears", 11)])
    assert done["frame"] == "carbon" and done["gears"] == 11
    assert conf.validate(done) == ()


def test_complete_raises_on_conflicting_decisions(conf: Configurator) -> None:
    with pytest.raises(ConflictError) as info:
        conf.complete([Decision("rack", True), CARBON])
    assert info.value.reason == "conflict"
    assert info.value.conflict.decisions == (Decision("rack", True), CARBON)


def test_complete_rejects_an_unknown_objective(conf: Configurator) -> None:
    with pytest.raises(UnknownObjective):
        conf.complete([], objective="fastest")


def test_validate_lists_every_violated_rule(conf: Configurator) -> None:
    bad = {"frame": "carbon", "rack": True, "gears": 3, "acc": frozenset({"lock", "lights", "bell"})}
    ids = [v.rule_id for v in conf.validate(bad)]
    assert ids == ["carbon-no-rack", "gears-by-frame", "lock-needs-steel", "acc:count"]


def test_validate_reports_missing_unknown_and_invalid_values(conf: Configurator) -> None:
    problems = conf.validate({"frame": "titanium", "gears": 3, "colour": "red", "acc": ["bell"]})
    ids = [v.rule_id for v in problems]
    assert ids == ["colour:unknown", "frame:domain", "rack:missing"]
    assert "titanium" in problems[1].message.en


def test_validate_accepts_every_solution(conf: Configurator, backend: ExhaustiveBackend) -> None:
    for s in backend._solutions[:50]:
        config = {"frame": s["frame"], "rack": s["rack"], "gears": s["gears"],
                  "acc": frozenset(e for e in ("bell", "lights", "lock") if s[f"acc[{e}]"])}
        assert conf.validate(config) == ()


# ----------------------------------------------------------------------------- prices

PRICES = (
    PriceRule("carbon", Label("Carbon frame", "碳纤维车架"), when="frame == carbon", add="500.00"),
    PriceRule("gears", Label("Gears", "变速"), add="gears * 10"),
    PriceRule("lights", Label("Lights", "车灯"), when="has(acc, lights)", add="80"),
    PriceRule("steel-rack", Label("Steel rack"), table=PriceTable(
        ("frame", "rack"), (((("steel",), True), Decimal("30.00")), (("*", "*"), Decimal("0")))
    )),
    PriceRule("rack-service", Label("Rack fitting"), when="rack", percent="10"),
)


@pytest.fixture
def priced() -> Configurator:
    return Configurator(bike_product(PRICES), solver=ExhaustiveBackend(bike_model()))


def test_the_shown_price_is_the_price_of_a_complete_configuration(priced: Configurator) -> None:
    state = priced.state([])
    # aluminium and no rack by default; gears has no default and changes the price: the cheapest
    # completion shows 1 gear (source "cheapest") and the total is that complete configuration's.
    gears = state.attribute("gears")
    assert (gears.value, gears.source) == (1, "cheapest")
    assert [(p.rule_id, p.amount) for p in state.price.lines] == [
        ("gears", Decimal("10.00")), ("steel-rack", Decimal("0.00"))
    ]
    assert state.price.total == Decimal("1010.00")
    # The accessories' default (bell) still fits; lights would cost more, so they stay out.
    assert state.attribute("acc").value == frozenset({"bell"})
    # Shown values are not decisions: nothing is complete yet.
    assert state.complete is False and "gears" in state.missing


def test_a_default_ruled_out_by_a_decision_is_re_chosen_as_the_cheapest_compatible_value(
    priced: Configurator,
) -> None:
    # Lights rule out aluminium (the frame's default); steel and carbon remain, steel is cheaper.
    state = priced.state([SetElement("acc", "lights")])
    frame = state.attribute("frame")
    assert (frame.value, frame.source) == ("steel", "cheapest")
    assert next(v for v in frame.values if v.selected).source == "cheapest"
    # rack keeps its default (no rack), still compatible.
    assert (state.attribute("rack").value, state.attribute("rack").source) == (False, "default")
    # Choosing carbon instead costs exactly what the total will show.
    carbon = next(v for v in frame.values if v.value == "carbon")
    after = priced.state([SetElement("acc", "lights"), Decision("frame", "carbon")])
    assert carbon.price_delta == after.price.total - state.price.total


def test_full_price_has_every_applicable_line(priced: Configurator) -> None:
    state = priced.state([Decision("frame", "steel"), Decision("rack", True), Decision("gears", 5),
                          SetElement("acc", "lights")])
    lines = {p.rule_id: p.amount for p in state.price.lines}
    assert lines == {"gears": Decimal("50.00"), "lights": Decimal("80.00"), "steel-rack": Decimal("30.00"),
                     "rack-service": Decimal("116.00")}
    assert state.price.total == Decimal("1276.00")
    assert next(p for p in state.price.lines if p.rule_id == "steel-rack").decisions == ("frame", "rack")


def test_price_delta_includes_forced_consequences(priced: Configurator) -> None:
    state = priced.state([])
    gears = {v.value: v for v in state.attribute("gears").values}
    # The shown configuration has 1 gear (10.00); gears 11 forces carbon (+500) on top of 11 * 10.
    assert gears[11].price_delta == Decimal("600.00")
    assert gears[3].price_delta == Decimal("20.00")
    assert gears[12].price_delta is None
    # The delta is exactly the change of the total the buyer sees after the click.
    for value, shown in gears.items():
        if shown.price_delta is not None:
            after = priced.state([Decision("gears", value)])
            assert after.price.total - state.price.total == shown.price_delta


def test_price_delta_of_a_set_element_and_of_the_selected_value(priced: Configurator) -> None:
    state = priced.state([Decision("frame", "steel")])
    acc = {v.value: v for v in state.attribute("acc").values}
    assert acc["lights"].price_delta == Decimal("80.00")
    assert acc["bell"].price_delta == Decimal("0.00")
    assert next(v for v in state.attribute("frame").values if v.selected).price_delta == Decimal("0.00")


def all_configurations(conf: Configurator, backend: ExhaustiveBackend) -> list[dict[str, object]]:
    return [{"frame": s["frame"], "rack": s["rack"], "gears": s["gears"],
             "acc": frozenset(e for e in ("bell", "lights", "lock") if s[f"acc[{e}]"])} for s in backend._solutions]


@pytest.mark.parametrize("decisions", [[], [Decision("rack", True)], [SetElement("acc", "lights")]])
def test_cheapest_matches_exhaustive_minimum_for_non_separable_prices(
    priced: Configurator, decisions: list[Decision | SetElement]
) -> None:
    backend = priced.backend
    assert isinstance(backend, ExhaustiveBackend)
    restrict = priced._restrict(decisions)
    best = min(
        price(priced.product, c).total  # type: ignore[arg-type]
        for c, s in zip(all_configurations(priced, backend), backend._solutions, strict=True)
        if all(s[n] in vals for n, vals in restrict.items())
    )
    got = priced.complete(decisions, objective="cheapest")
    assert price(priced.product, got).total == best
    assert priced.validate(got) == ()


def test_cheapest_with_separable_prices_uses_weights() -> None:
    separable = bike_product(PRICES[:2])
    conf = Configurator(separable, solver=ExhaustiveBackend(bike_model()))
    assert conf.pricing.unary_weights() is not None
    got = conf.complete([SetElement("acc", "lights")], objective="cheapest")
    assert got["gears"] == 1 and got["frame"] == "steel"
    assert price(separable, got).total == Decimal("1010.00")


def test_model_without_solutions_is_reported(product: Product) -> None:
    model = bike_model()
    dead = Model(model.key, model.variables, (*model.constraints, Constraint("never", ("rack",), lambda r: False)),
                 model.set_elements)
    conf = Configurator(product, solver=ExhaustiveBackend(dead))
    with pytest.raises(NoValidConfiguration):
        conf.state([])


def test_every_possible_value_is_a_step_towards_a_complete_configuration(conf: Configurator) -> None:
    """No dead ends: picking any possible value, repeatedly, always ends complete and valid."""
    firsts = [(a.code, v.value) for a in conf.state([]).attributes for v in a.values
              if v.possible and a.kind.value != "set"]
    assert len(firsts) == 16
    for first in firsts:
        decisions: list[Decision | SetElement] = [Decision(*first)]
        state = conf.state(decisions)
        while not state.complete:
            attr = next(a for a in state.attributes if a.code in state.missing)
            if attr.kind.value == "set":
                v = next(v for v in attr.values if v.source not in ("user", "implied"))
                decisions.append(SetElement(attr.code, str(v.value), not v.possible_out))
            else:
                decisions.append(Decision(attr.code, [v for v in attr.values if v.possible][-1].value))
            state = conf.state(decisions)
            assert state.conflict is None
        assert conf.validate(state.values()) == ()
