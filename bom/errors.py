"""Errors of the bom package. Every class has a stable machine ``reason``.

Each leaf carries the data an integrator needs to point at the problem (the
product, the BOM line position, the item, the formula text), not just a
message.
"""

from __future__ import annotations

from collections.abc import Sequence


class BomError(Exception):
    """Root of every bom error."""

    reason = "bom_error"


class UnknownProduct(BomError):
    """The catalog has no product with this code."""

    reason = "unknown_product"

    def __init__(self, product: str) -> None:
        super().__init__(f"unknown product {product!r}")
        self.product = product


class InvalidQuantity(BomError):
    """The order quantity is not a positive integer."""

    reason = "invalid_quantity"

    def __init__(self, quantity: object) -> None:
        super().__init__(f"order quantity must be a positive integer, got {quantity!r}")
        self.quantity = quantity


class IncompleteConfiguration(BomError):
    """Some attributes have no value; ``missing`` lists their codes.

    ``where`` is the product code, or ``"<product> / <line path> <module>"`` for
    a configurable module whose attributes were neither passed down by
    ``params`` nor defaulted.
    """

    reason = "incomplete_configuration"

    def __init__(self, where: str, missing: Sequence[str]) -> None:
        self.where = where
        self.missing = tuple(missing)
        super().__init__(f"{where}: configuration is incomplete, missing: {', '.join(self.missing)}")


class InvalidConfiguration(BomError):
    """The configuration breaks rules or gives values outside an attribute's domain.

    ``violations`` are ``(rule id or attribute code, message)`` pairs, every
    violation found (not just the first).
    """

    reason = "invalid_configuration"

    def __init__(self, where: str, violations: Sequence[tuple[str, str]]) -> None:
        self.where = where
        self.violations = tuple(violations)
        details = "; ".join(f"{rule}: {message}" for rule, message in self.violations)
        super().__init__(f"{where}: configuration is invalid: {details}")

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(rule for rule, _ in self.violations)


class UnknownItem(BomError):
    """A BOM line refers to an item that is neither a part nor a module."""

    reason = "unknown_item"

    def __init__(self, owner: str, pos: int, item: str) -> None:
        super().__init__(f"{owner}: BOM line {pos}: unknown item {item!r} (neither a part nor a module)")
        self.owner = owner
        self.pos = pos
        self.item = item


class UnknownOperation(BomError):
    """A BOM line links (``op``) to an operation its owner's routing does not have."""

    reason = "unknown_operation"

    def __init__(self, owner: str, pos: int, item: str, op: int) -> None:
        super().__init__(f"{owner}: BOM line {pos} ({item}): operation {op} is not in the routing of {owner}")
        self.owner = owner
        self.pos = pos
        self.item = item
        self.op = op


class BomCycle(BomError):
    """A module contains itself, directly or through other modules."""

    reason = "bom_cycle"

    def __init__(self, chain: Sequence[str]) -> None:
        self.chain = tuple(chain)
        super().__init__(f"module cycle: {' -> '.join(self.chain)}")


class BomFormulaError(BomError):
    """A condition, quantity, time or parameter formula cannot be used.

    Raised for a syntax or reference error, an evaluation error (division by
    zero), a non-numeric or negative quantity, or a condition that is not
    true/false. ``owner`` is the product or module code, ``pos`` the BOM line
    position or operation number, ``item`` the line's item (or the operation's
    work centre), ``formula`` the text.
    """

    reason = "bom_formula_error"

    def __init__(self, owner: str, pos: int, item: str, formula: str, problem: str) -> None:
        super().__init__(f"{owner}: line {pos} ({item}): formula {formula!r}: {problem}")
        self.owner = owner
        self.pos = pos
        self.item = item
        self.formula = formula
        self.problem = problem


class SchedulingError(BomError):
    """A work calendar is unusable or a schedule cannot be computed."""

    reason = "scheduling_error"
