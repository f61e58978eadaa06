"""BOM explosion: a complete configuration of a product → its exploded BOM.

The product's super BOM (150% BOM) lists every line any configuration might
need; each line carries a ``when`` condition and a ``qty`` formula. Explosion
keeps the lines whose condition holds, evaluates their quantities exactly and
recurses into modules. A configurable module gets its own attribute values
from the line's ``params`` (evaluated in the parent's context, falling back to
the module attribute's default); its components' conditions and formulas are
then evaluated in the module's context, and its own rules must hold.

>>> from catalog.snapshot import Catalog, Label, Part, Product, BomLine
>>> cat = Catalog("demo", Label("Demo"), "CNY",
...     parts=(Part("BOLT", Label("Bolt"), cost=Decimal("0.10")),), modules=(),
...     products=(Product("p", Label("P"), Decimal("1"), (), bom=(BomLine(10, "BOLT", "4"),)),))
>>> bom = explode(cat, "p", {}, quantity=3)
>>> [(i.path, i.item, str(i.total_quantity)) for i in bom.items]
[('0010', 'BOLT', '12')]
>>> str(bom.total_cost)
'1.2'
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from bom.configuration import assignment, check_values, rule_violations
from bom.errors import (
    BomCycle,
    InvalidConfiguration,
    InvalidQuantity,
    UnknownItem,
    UnknownOperation,
    UnknownProduct,
)
from bom.formulas import (
    CompiledCatalog,
    CompiledLine,
    CompiledOwner,
    Env,
    compiled,
    condition_holds,
    number,
    value_of,
)
from bom.lines import Assignment, BillOfMaterials, BomItem, ItemKind, PartRequirement, Provenance, to_decimal
from catalog.snapshot import Attribute, AttributeKind, Catalog, Module, Part, Product

__all__ = ["explode", "product_of"]

_HUNDRED = Fraction(100)


def product_of(catalog: Catalog, product_code: str) -> Product:
    """The product ``product_code`` or :class:`UnknownProduct`."""
    try:
        return catalog.product(product_code)
    except KeyError:
        raise UnknownProduct(product_code) from None


def explode(
    catalog: Catalog,
    product_code: str,
    configuration: Mapping[str, Any],
    *,
    quantity: int = 1,
) -> BillOfMaterials:
    """Explode the super BOM of ``product_code`` for a complete, valid configuration.

    ``configuration`` maps every attribute of the product to its value (set
    attributes: a frozenset of element codes). Raises
    :class:`~bom.errors.IncompleteConfiguration`,
    :class:`~bom.errors.InvalidConfiguration`,
    :class:`~bom.errors.BomFormulaError`, :class:`~bom.errors.UnknownItem`,
    :class:`~bom.errors.UnknownOperation` or :class:`~bom.errors.BomCycle`.
    """
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise InvalidQuantity(quantity)
    product = product_of(catalog, product_code)
    comp = compiled(catalog)
    env = check_product_configuration(comp, product, configuration)
    walker = _Walker(comp)
    walker.walk(
        comp.product_owner(product.code), env, Fraction(quantity), level=1, prefix="", chain=(product.code,)
    )
    items = tuple(walker.items)
    parts = walker.flat_parts()
    total = sum((p.cost for p in parts), Decimal(0))
    return BillOfMaterials(
        catalog=catalog.code,
        currency=catalog.currency,
        product=product.code,
        product_name=product.name,
        quantity=quantity,
        configuration=assignment(product.attributes, env),
        items=items,
        parts=parts,
        total_cost=total,
    )


def check_product_configuration(
    comp: CompiledCatalog, product: Product, configuration: Mapping[str, Any]
) -> dict[str, Any]:
    """Check a product configuration is complete, in its domains and valid; return the evaluation env."""
    env = check_values(product.code, product.attributes, configuration, complete=True)
    violations = rule_violations(comp, product, env)
    if violations:
        raise InvalidConfiguration(product.code, violations)
    return env


class _Walker:
    """Depth-first explosion state: the lines so far and per-part sums."""

    def __init__(self, comp: CompiledCatalog) -> None:
        self.comp = comp
        self.items: list[BomItem] = []
        # item code -> [total, total with scrap, paths]
        self._parts: dict[str, tuple[Fraction, Fraction, list[str]]] = {}
        self._module_envs: dict[tuple[str, Assignment], dict[str, Any]] = {}

    def walk(
        self,
        owner: CompiledOwner,
        env: Env,
        parent_total: Fraction,
        *,
        level: int,
        prefix: str,
        chain: tuple[str, ...],
    ) -> Fraction:
        """Append the selected lines of ``owner`` (and their subtrees); return their rolled-up cost."""
        cost_sum = Fraction(0)
        parts = self.comp.parts
        modules = self.comp.modules
        for cl in owner.lines:
            line = cl.line
            if cl.when is not None and not condition_holds(
                cl.when, env, owner=owner.code, pos=line.pos, item=line.item
            ):
                continue
            qty = number(cl.qty, env, owner=owner.code, pos=line.pos, item=line.item, what="quantity")
            if qty == 0:
                # A formula such as ``if(rack, 2, 0)`` deselects the line.
                continue
            if line.op is not None and line.op not in owner.op_numbers:
                raise UnknownOperation(owner.code, line.pos, line.item, line.op)
            position = f"{line.pos:04d}"
            path = f"{prefix}/{position}" if prefix else position
            total = qty * parent_total
            with_scrap = total if not line.scrap_pct else total * (1 + Fraction(line.scrap_pct) / _HUNDRED)
            part = parts.get(line.item)
            module = modules.get(line.item) if part is None else None
            if part is None and module is None:
                raise UnknownItem(owner.code, line.pos, line.item)
            provenance = Provenance(
                condition=line.when,
                quantity_formula=line.qty,
                inputs=tuple((code, _stored(env[code])) for code in cl.refs if code in env),
            )
            if part is not None:
                cost = with_scrap * Fraction(part.cost)
                self._add_part(part, total, with_scrap, path)
                self.items.append(
                    _item(
                        level,
                        position,
                        path,
                        part,
                        ItemKind.PART,
                        qty,
                        total,
                        with_scrap,
                        cost,
                        line.scrap_pct,
                        line.op,
                        owner.code,
                        provenance,
                        (),
                    )
                )
                cost_sum += cost
                continue
            assert module is not None
            if module.code in chain:
                raise BomCycle((*chain, module.code))
            sub_owner = self.comp.module_owner(module)
            sub_env = self._module_env(owner, cl, module, env, path)
            slot = len(self.items)
            self.items.append(None)  # type: ignore[arg-type]  # filled once the subtree's cost is known
            cost = self.walk(
                sub_owner, sub_env, with_scrap, level=level + 1, prefix=path, chain=(*chain, module.code)
            )
            self.items[slot] = _item(
                level,
                position,
                path,
                module,
                ItemKind.MODULE,
                qty,
                total,
                with_scrap,
                cost,
                line.scrap_pct,
                line.op,
                owner.code,
                provenance,
                assignment(module.attributes, sub_env),
            )
            cost_sum += cost
        return cost_sum

    def _module_env(
        self, owner: CompiledOwner, cl: CompiledLine, module: Module, env: Env, path: str
    ) -> dict[str, Any]:
        if not module.configurable:
            return {}
        passed: dict[str, Any] = {}
        for attr, formula in cl.params:
            passed[attr] = value_of(formula, env, owner=owner.code, pos=cl.line.pos, item=cl.line.item)
        key = (module.code, tuple(sorted((k, _stored(v)) for k, v in passed.items())))
        cached = self._module_envs.get(key)
        if cached is not None:
            return cached
        where = f"{owner.code} / {path} {module.code}"
        values = dict(passed)
        for a in module.attributes:
            if a.code not in values:
                default = _default(a)
                if default is not None:
                    values[a.code] = default
        sub_env = check_values(where, module.attributes, values, complete=True)
        violations = rule_violations(self.comp, module, sub_env)
        if violations:
            raise InvalidConfiguration(where, violations)
        self._module_envs[key] = sub_env
        return sub_env

    def _add_part(self, part: Part, total: Fraction, with_scrap: Fraction, path: str) -> None:
        seen = self._parts.get(part.code)
        if seen is None:
            self._parts[part.code] = (total, with_scrap, [path])
        else:
            seen[2].append(path)
            self._parts[part.code] = (seen[0] + total, seen[1] + with_scrap, seen[2])

    def flat_parts(self) -> tuple[PartRequirement, ...]:
        out = []
        for code in sorted(self._parts):
            total, with_scrap, paths = self._parts[code]
            part = self.comp.parts[code]
            out.append(
                PartRequirement(
                    item=code,
                    name=part.name,
                    unit=part.uom,
                    total_quantity=to_decimal(total),
                    total_with_scrap=to_decimal(with_scrap),
                    unit_cost=part.cost,
                    cost=to_decimal(with_scrap * Fraction(part.cost)),
                    lead_time_days=part.lead_time_days,
                    paths=tuple(paths),
                )
            )
        return tuple(out)


def _item(
    level: int,
    position: str,
    path: str,
    thing: Part | Module,
    kind: ItemKind,
    qty: Fraction,
    total: Fraction,
    with_scrap: Fraction,
    cost: Fraction,
    scrap_pct: Decimal,
    op: int | None,
    owner: str,
    provenance: Provenance,
    configuration: Assignment,
) -> BomItem:
    return BomItem(
        level=level,
        position=position,
        path=path,
        item=thing.code,
        name=thing.name,
        kind=kind,
        quantity_per=to_decimal(qty),
        total_quantity=to_decimal(total),
        unit=thing.uom,
        scrap_pct=scrap_pct,
        total_with_scrap=to_decimal(with_scrap),
        cost=to_decimal(cost),
        op=op,
        owner=owner,
        provenance=provenance,
        configuration=configuration,
    )


def _stored(value: Any) -> Any:
    """A value as kept in a BOM: sets become sorted tuples."""
    if isinstance(value, frozenset):
        return tuple(sorted(value))
    return value


def _default(attribute: Attribute) -> Any:
    if attribute.kind is AttributeKind.SET:
        return frozenset(attribute.default_set) if attribute.default_set is not None else None
    return attribute.default
