"""A tiny bike product, its hand-built model, and a configurator over an exhaustive backend."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.snapshot import Attribute, AttributeKind, Choice, Label, Product, Rule
from configurator.engine import Configurator
from configurator.model import Constraint, Model, Variable, element_var

from .fake_backend import ExhaustiveBackend

TABLE = {"aluminium": range(1, 11), "steel": range(1, 9), "carbon": range(9, 12)}


def _choices(*codes: str) -> tuple[Choice, ...]:
    return tuple(Choice(c, Label(c.title())) for c in codes)


def bike_product(prices: tuple[object, ...] = ()) -> Product:
    return Product(
        code="bike",
        name=Label("Bike", "自行车"),
        base_price=Decimal("1000.00"),
        attributes=(
            Attribute("frame", AttributeKind.ENUM, Label("Frame", "车架"),
                      choices=_choices("aluminium", "steel", "carbon"), default="aluminium"),
            Attribute("rack", AttributeKind.BOOL, Label("Rack", "货架"), default=False),
            Attribute("gears", AttributeKind.INT, Label("Gears", "变速"), minimum=1, maximum=12),
            Attribute("acc", AttributeKind.SET, Label("Accessories", "配件"),
                      choices=_choices("bell", "lights", "lock"), max_count=2, default_set=("bell",)),
        ),
        rules=(
            Rule("carbon-no-rack", Label("Carbon frames cannot carry a rack.", "碳纤维车架不能安装货架。"),
                 text="frame == carbon -> not rack"),
            Rule("gears-by-frame", Label("Gears depend on the frame.", "变速取决于车架。"),
                 columns=("frame", "gears"), rows=(("aluminium", "1..10"), ("steel", "1..8"), ("carbon", "9..11"))),
            Rule("lock-needs-steel", Label("A lock needs a steel frame.", "锁需要钢车架。"),
                 text="has(acc, lock) -> frame == steel"),
            Rule("lights-not-aluminium", Label("No lights on aluminium.", "铝车架不能装灯。"),
                 text="has(acc, lights) -> frame != aluminium"),
        ),
        prices=prices,  # type: ignore[arg-type]
    )


def bike_model() -> Model:
    acc = tuple(element_var("acc", e) for e in ("bell", "lights", "lock"))
    variables = (
        Variable("frame", ("aluminium", "steel", "carbon"), "frame"),
        Variable("rack", (False, True), "rack"),
        Variable("gears", tuple(range(1, 13)), "gears"),
        *(Variable(n, (False, True), "acc", e) for n, e in zip(acc, ("bell", "lights", "lock"), strict=True)),
    )
    constraints = (
        Constraint("carbon-no-rack", ("frame", "rack"), lambda f, r: not (f == "carbon" and r)),
        Constraint("gears-by-frame", ("frame", "gears"), lambda f, g: g in TABLE[f]),
        Constraint("lock-needs-steel", ("acc[lock]", "frame"), lambda lock, f: not lock or f == "steel"),
        Constraint("lights-not-aluminium", ("acc[lights]", "frame"), lambda li, f: not li or f != "aluminium"),
        Constraint("acc:count", acc, lambda *xs: sum(xs) <= 2),
    )
    return Model("test:bike", variables, constraints, {"acc": acc})


@pytest.fixture
def product() -> Product:
    return bike_product()


@pytest.fixture
def backend() -> ExhaustiveBackend:
    return ExhaustiveBackend(bike_model())


@pytest.fixture
def conf(product: Product, backend: ExhaustiveBackend) -> Configurator:
    return Configurator(product, solver=backend)
