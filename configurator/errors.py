"""Errors of the configurator package. Every class has a stable machine ``reason``."""

from __future__ import annotations


class ConfiguratorError(Exception):
    """Root of every configurator error."""

    reason = "configurator_error"


class BudgetExceeded(ConfiguratorError):
    """A question needed more than its budget: compiling a model (``compile_budget``), an enumerating
    search (``search_limit``) or one storefront click (``click_budget``). Callers catch this one type;
    ``reason`` says which budget."""

    reason = "budget_exceeded"


class ClickBudgetExceeded(BudgetExceeded):
    """A state or decision query did not finish within its time budget (checked between passes)."""

    reason = "click_budget"

    def __init__(self, product: str, budget_ms: float) -> None:
        super().__init__(f"product {product!r}: the click did not finish within its budget of {budget_ms:g} ms")
        self.product = product
        self.budget_ms = budget_ms
