"""The configurator: rule language, compiled product models, and the engine facade.

The facade is :class:`Configurator`. A configuration is an ordered sequence
of decisions (oldest first); every call takes the decisions and answers from
the compiled model, so one instance serves every buyer of a product.

A walk through a tiny product:

>>> from configurator import Configurator, Decision
>>> from decimal import Decimal
>>> from catalog.snapshot import Attribute, AttributeKind, Choice, Label, PriceRule, Product, Rule
>>> bike = Product(
...     code="bike", name=Label("Bike"), base_price=Decimal("1000.00"),
...     attributes=(
...         Attribute("frame", AttributeKind.ENUM, Label("Frame"), default="steel",
...                   choices=(Choice("steel", Label("Steel")), Choice("carbon", Label("Carbon")))),
...         Attribute("rack", AttributeKind.BOOL, Label("Rack")),
...         Attribute("gears", AttributeKind.INT, Label("Gears"), minimum=1, maximum=3),
...     ),
...     rules=(Rule("carbon-no-rack", Label("Carbon frames cannot carry a rack.", "碳纤维车架不能安装货架。"),
...                 text="frame == carbon -> not rack"),),
...     prices=(PriceRule("carbon", Label("Carbon frame"), when="frame == carbon", add="800"),),
... )
>>> conf = Configurator(bike, backend="brute")
>>> state = conf.state([Decision("frame", "carbon")])
>>> rack = state.attribute("rack")
>>> rack.value, rack.source, rack.possible
(False, 'implied', (False,))
>>> str(state.price.total), state.count, state.complete
('1800.00', 3, False)
>>> why = conf.explain([Decision("gears", 2), Decision("frame", "carbon")], "rack", True)
>>> [str(d) for d in why.decisions], [r.message.get("zh-CN") for r in why.rules]
(['frame=carbon'], ['碳纤维车架不能安装货架。'])
>>> fix = conf.repair([Decision("frame", "carbon"), Decision("gears", 2)], "rack", True)
>>> [str(d) for d in fix.drop], [str(d) for d in fix.decisions]
(['frame=carbon'], ['gears=2', 'rack=true'])
>>> conf.complete(fix.decisions)
{'frame': 'steel', 'rack': True, 'gears': 2}
>>> conf.count([Decision("rack", True)])
3
>>> conf.validate({"frame": "carbon", "rack": True, "gears": 2})[0].rule_id
'carbon-no-rack'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from configurator.errors import ConfiguratorError

if TYPE_CHECKING:
    from catalog.snapshot import Catalog
    from configurator.decisions import (
        AnyDecision,
        AttributeValue,
        Decision,
        InvalidDecisionText,
        InvalidValue,
        SetElement,
        UnknownAttribute,
        check_value,
        effective_decisions,
        format_value,
        parse_decision,
        parse_value,
    )
    from configurator.engine import (
        AttributeState,
        Configurator,
        Conflict,
        ConflictError,
        Explanation,
        ModelNotCompiled,
        ModelStats,
        NoValidConfiguration,
        OptimizationLimitExceeded,
        Repair,
        RuleRef,
        State,
        UnknownObjective,
        ValueImpossible,
        ValueState,
        Violation,
    )
    from configurator.pricing import PriceBreakdown, PriceLine, PriceRuleError, price
    from configurator.progress import Progress

# The facade's names are imported on first use (PEP 562), so importing a light
# submodule such as ``configurator.rules`` does not load the engine and its solvers.
_LAZY: dict[str, str] = {
    **dict.fromkeys(
        (
            "AnyDecision AttributeValue Decision InvalidDecisionText InvalidValue SetElement UnknownAttribute "
            "check_value effective_decisions format_value parse_decision parse_value"
        ).split(),
        "configurator.decisions",
    ),
    **dict.fromkeys(
        (
            "AttributeState Configurator Conflict ConflictError Explanation ModelNotCompiled ModelStats "
            "NoValidConfiguration "
            "OptimizationLimitExceeded Repair RuleRef State UnknownObjective ValueImpossible ValueState Violation"
        ).split(),
        "configurator.engine",
    ),
    **dict.fromkeys(("PriceBreakdown", "PriceLine", "PriceRuleError", "price"), "configurator.pricing"),
    "Progress": "configurator.progress",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


class UnknownProduct(ConfiguratorError):
    """The catalog has no product with this code."""

    reason = "unknown_product"

    def __init__(self, code: str, catalog: str, known: tuple[str, ...]) -> None:
        import difflib

        self.code = code
        self.catalog = catalog
        self.suggestions = tuple(difflib.get_close_matches(code, list(known), n=3))
        hint = f"; did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        listing = f" (products: {', '.join(known)})" if known and not self.suggestions else ""
        super().__init__(f"catalog {catalog!r} has no product {code!r}{hint}{listing}")


def load_product(
    catalog: Catalog,
    product_code: str,
    *,
    catalog_key: str = "",
    backend: str = "auto",
    node_budget: int | None = None,
    time_budget_s: float | None = None,
    progress: Progress | None = None,
) -> Configurator:
    """A :class:`Configurator` for one product of a catalog, priced in the catalog's currency.

    ``catalog_key`` (e.g. the published version's content hash) keys the
    compiled-model cache. ``node_budget`` and ``time_budget_s`` bound the
    compilation (:class:`ModelNotCompiled` naming the product, the backend
    and the budget; "auto" moves on from the decision diagram to the d-DNNF,
    then to SAT). ``progress`` is called about once a second while a long
    d-DNNF compilation runs. Reading catalog *files* belongs to
    ``catalog.files.load_catalog_file`` (pass ``configurator.rules.expression_checker``
    so rules are checked with file positions); the engine never parses files,
    so it stays free of the serialization layer.

    >>> from decimal import Decimal
    >>> from catalog.snapshot import Attribute, AttributeKind, Catalog, Label, Product
    >>> shop = Catalog("shop", Label("Shop"), "EUR", (), (), (Product(
    ...     "lamp", Label("Lamp"), Decimal("20.00"), (Attribute("dimmable", AttributeKind.BOOL, Label("Dim")),)),))
    >>> load_product(shop, "lamp", backend="brute").count([])
    2
    >>> load_product(shop, "lmap")
    Traceback (most recent call last):
    ...
    configurator.UnknownProduct: catalog 'shop' has no product 'lmap'; did you mean lamp?
    """
    from configurator.engine import Configurator

    try:
        product = catalog.product(product_code)
    except KeyError:
        raise UnknownProduct(product_code, catalog.code, tuple(p.code for p in catalog.products)) from None
    return Configurator(
        product,
        catalog_key=catalog_key,
        backend=backend,
        currency=catalog.currency,
        node_budget=node_budget,
        time_budget_s=time_budget_s,
        progress=progress,
    )


__all__ = [
    "AnyDecision",
    "AttributeState",
    "AttributeValue",
    "Configurator",
    "Conflict",
    "ConflictError",
    "ConfiguratorError",
    "Decision",
    "Explanation",
    "InvalidDecisionText",
    "InvalidValue",
    "ModelNotCompiled",
    "ModelStats",
    "NoValidConfiguration",
    "OptimizationLimitExceeded",
    "PriceBreakdown",
    "PriceLine",
    "PriceRuleError",
    "Repair",
    "RuleRef",
    "SetElement",
    "State",
    "UnknownAttribute",
    "UnknownObjective",
    "UnknownProduct",
    "ValueImpossible",
    "ValueState",
    "Violation",
    "check_value",
    "effective_decisions",
    "format_value",
    "load_product",
    "parse_decision",
    "parse_value",
    "price",
]
