"""Routing: the operations that build one exploded BOM, with exact times.

The product's routing and the operations of every module occurrence in the
BOM are selected by their ``when`` conditions (evaluated in the owner's
context: the product configuration, or the module occurrence's own
configuration) and timed: ``setup_min`` once, ``run_min`` per unit produced.
Units produced are the order quantity for the product's operations and the
module line's total quantity including scrap for a module's operations.

The sequence is the order of work: each module's operations come before the
operations of its parent (deepest assemblies first; siblings in position
order), and within one owner by operation number.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from bom.explode import product_of
from bom.formulas import CompiledCatalog, CompiledOwner, compiled, condition_holds, number
from bom.lines import Assignment, BillOfMaterials, BomItem, ItemKind, to_decimal
from catalog.snapshot import Catalog, Label


@dataclass(frozen=True, slots=True)
class RoutedOperation:
    """One operation to perform for an order.

    ``path`` is the BOM path of the module occurrence the operation builds
    (``""`` for the product itself), ``level`` its BOM level (0 for the
    product). Times are minutes: ``run_min`` per unit, ``run_total`` =
    ``run_min * quantity``, ``duration`` = ``setup_min + run_total``.
    """

    sequence: int
    level: int
    path: str
    item: str
    op: int
    name: Label
    work_center: str
    quantity: Decimal
    setup_min: Decimal
    run_min: Decimal
    run_total: Decimal
    duration: Decimal
    condition: str | None
    inputs: Assignment

    @property
    def key(self) -> tuple[str, int]:
        """``(path, op)``: what a BOM line's ``op`` link points at, seen from its parent path."""
        return (self.path, self.op)


def route(catalog: Catalog, bom: BillOfMaterials) -> tuple[RoutedOperation, ...]:
    """The selected, timed operations for ``bom`` in work order.

    >>> from decimal import Decimal
    >>> from catalog.snapshot import Catalog, Label, Operation, Product
    >>> cat = Catalog("c", Label("C"), "CNY", (), (), (Product("p", Label("P"), Decimal(0), (),
    ...     routing=(Operation(10, Label("Pack"), "PACK", setup_min="5", run_min="2"),)),))
    >>> from bom.explode import explode
    >>> [(o.op, str(o.duration)) for o in route(cat, explode(cat, "p", {}, quantity=3))]
    [(10, '11')]
    """
    comp = compiled(catalog)
    product = product_of(catalog, bom.product)
    env = _env(bom.configuration)
    ordered: list[tuple[CompiledOwner, dict[str, Any], Fraction, int, str]] = []
    # Post-order over module occurrences: children's work before their parent's.
    _collect(comp, bom.items, ordered)
    ordered.append((comp.product_owner(product.code), env, Fraction(bom.quantity), 0, ""))
    out: list[RoutedOperation] = []
    for owner, owner_env, qty, level, path in ordered:
        for cop in owner.operations:
            op = cop.operation
            if cop.when is not None and not condition_holds(
                cop.when, owner_env, owner=owner.code, pos=op.op, item=op.work_center
            ):
                continue
            where: dict[str, Any] = {"owner": owner.code, "pos": op.op, "item": op.work_center}
            setup = number(cop.setup, owner_env, what="setup time", **where)
            run = number(cop.run, owner_env, what="run time", **where)
            run_total = run * qty
            out.append(
                RoutedOperation(
                    sequence=len(out) + 1,
                    level=level,
                    path=path,
                    item=owner.code,
                    op=op.op,
                    name=op.name,
                    work_center=op.work_center,
                    quantity=to_decimal(qty),
                    setup_min=to_decimal(setup),
                    run_min=to_decimal(run),
                    run_total=to_decimal(run_total),
                    duration=to_decimal(setup + run_total),
                    condition=op.when,
                    inputs=tuple((c, _stored(owner_env[c])) for c in cop.refs if c in owner_env),
                )
            )
    return tuple(out)


def _collect(
    comp: CompiledCatalog,
    items: tuple[BomItem, ...],
    ordered: list[tuple[CompiledOwner, dict[str, Any], Fraction, int, str]],
) -> None:
    """Append module occurrences in post-order (items are in depth-first pre-order)."""
    open_modules: list[BomItem] = []

    def close(level: int) -> None:
        while open_modules and open_modules[-1].level >= level:
            done = open_modules.pop()
            module = comp.modules[done.item]
            ordered.append(
                (
                    comp.module_owner(module),
                    _env(done.configuration),
                    Fraction(done.total_with_scrap),
                    done.level,
                    done.path,
                )
            )

    for item in items:
        close(item.level)
        if item.kind is ItemKind.MODULE:
            open_modules.append(item)
    close(0)


def _env(values: Assignment) -> dict[str, Any]:
    return {k: frozenset(v) if isinstance(v, tuple) else v for k, v in values}


def _stored(value: Any) -> Any:
    return tuple(sorted(value)) if isinstance(value, frozenset) else value
