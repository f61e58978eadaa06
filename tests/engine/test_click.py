"""The click (``Configurator.state``) on the demo catalogs: what it shows is a complete configuration's
price, every delta is exactly the change the buyer sees after clicking, and every backend agrees."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from catalog.files import load_catalog_file
from catalog.snapshot import AttributeKind
from configurator import Configurator, Decision, SetElement, load_product
from configurator.backends.select import available_backends
from configurator.rules import expression_checker

DEMO = Path(__file__).resolve().parents[2] / "catalog" / "demo"


def _conf(name: str, backend: str) -> Configurator:
    catalog = load_catalog_file(DEMO / name, expression_checker=expression_checker)
    return load_product(catalog, catalog.products[0].code, catalog_key=f"test-click-{name}", backend=backend)


def _click(attr_kind: AttributeKind, code: str, value: object) -> Decision | SetElement:
    return SetElement(code, str(value), True) if attr_kind is AttributeKind.SET else Decision(code, value)


@pytest.mark.parametrize("name", ["city-bikes.yaml", "wardrobes.yaml"])
@pytest.mark.parametrize("backend", [b for b in available_backends() if b in ("mdd", "ddnnf")])
def test_every_delta_is_the_change_of_the_total_after_the_click(name: str, backend: str) -> None:
    conf = _conf(name, backend)
    rng = random.Random(7)
    decisions: list[Decision | SetElement] = []
    for _ in range(3):
        state = conf.state(decisions)
        assert state.conflict is None
        # The shown values extend to a complete valid configuration priced at the shown total.
        shown = {a.code: a.value for a in state.attributes if a.value is not None}
        completion = conf.complete([Decision(c, v) for c, v in shown.items()])
        assert not conf.validate(completion)
        offered = [(attr, v) for attr in state.attributes for v in attr.values]
        for _attr, v in offered:
            if v.price_delta is None or v.selected:
                assert v.price_delta is None or v.price_delta == 0
        # A bounded sample of the offered values (each check recomputes a whole state).
        priced = [(attr, v) for attr, v in offered if v.price_delta is not None and not v.selected]
        for attr, v in rng.sample(priced, k=min(12, len(priced))):
            after = conf.state([*decisions, _click(attr.kind, attr.code, v.value)])
            assert after.conflict is None, (attr.code, v.value)
            assert after.price.total - state.price.total == v.price_delta, (attr.code, v.value)
        attr = rng.choice([a for a in state.attributes if any(v.possible and not v.selected for v in a.values)])
        value = rng.choice([v for v in attr.values if v.possible and not v.selected])
        decisions.append(_click(attr.kind, attr.code, value.value))


# SAT answers a click with one weighted solve per value (seconds on the bike, minutes on the
# wardrobe): it is compared on the bike only, over two clicks; the compiled backends on both.
@pytest.mark.parametrize(
    ("name", "backends", "clicks"),
    [
        ("city-bikes.yaml", ("mdd", "ddnnf"), 3),
        ("wardrobes.yaml", ("mdd", "ddnnf"), 3),
        pytest.param("city-bikes.yaml", ("mdd", "sat"), 2, marks=pytest.mark.slow),
    ],
)
def test_compiled_backends_show_the_same_state_as_sat(name: str, backends: tuple[str, ...], clicks: int) -> None:
    present = [b for b in backends if b in available_backends()]
    if len(present) < 2:
        pytest.skip(f"needs the backends {backends}; present: {present}")
    confs = [_conf(name, b) for b in present]
    state = confs[0].state([])
    rng = random.Random(3)
    decisions: list[Decision | SetElement] = []
    for _ in range(clicks):
        states = [c.state(decisions) for c in confs]
        for other in states[1:]:
            assert other.price == states[0].price
            assert other.attributes == states[0].attributes
            assert other.count == states[0].count
        state = states[0]
        attr = rng.choice([a for a in state.attributes if any(v.possible and not v.selected for v in a.values)])
        value = rng.choice([v for v in attr.values if v.possible and not v.selected])
        decisions.append(_click(attr.kind, attr.code, value.value))


@pytest.mark.parametrize("backend", [b for b in available_backends() if b in ("mdd", "ddnnf")])
def test_a_click_over_its_budget_raises_and_the_configurator_keeps_answering(backend: str) -> None:
    from configurator.errors import BudgetExceeded, ClickBudgetExceeded

    conf = _conf("wardrobes.yaml", backend)
    decisions = [Decision("door_count", 6)]
    with pytest.raises(ClickBudgetExceeded) as info:
        conf.state(decisions, budget_ms=0)
    assert isinstance(info.value, BudgetExceeded)
    assert info.value.reason == "click_budget"
    assert "wardrobe" in str(info.value) and "0 ms" in str(info.value)
    # The same configurator (shared by the workers) answers the next click in full.
    assert conf.state(decisions, budget_ms=60_000) == conf.state(decisions)
    with pytest.raises(ClickBudgetExceeded):
        conf.explain(decisions, "door_count", 2, budget_ms=0)
