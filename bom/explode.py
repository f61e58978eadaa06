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

import math
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal, localcontext
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
    MEMO_LIMIT,
    CompiledCatalog,
    CompiledLine,
    CompiledOwner,
    Env,
    Num,
    compiled,
    condition_holds,
    number,
    value_of,
)
from bom.instances import instance_lines
from bom.lines import (
    EXACT,
    Assignment,
    BillOfMaterials,
    BomItem,
    ItemKind,
    PartRequirement,
    Provenance,
    to_decimal,
)
from bom.variants import is_variant, variant_code
from catalog.snapshot import Attribute, AttributeKind, Catalog, Module, Part, Product
from configurator.texts import check_texts

__all__ = ["explode", "product_of"]


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
    texts: Mapping[str, object] | None = None,
    rules_checked: bool = False,
) -> BillOfMaterials:
    """Explode the super BOM of ``product_code`` for a complete, valid configuration.

    ``rules_checked``: the caller has just checked the product's rules on this very
    configuration (placing an order validates it once, with the configurator);
    completeness and domains are still checked here, the product's rules not again.
    Configurable modules' own rules are always checked (no caller checks those).

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
    written = check_texts(product, texts or {})  # InvalidText names the field
    comp = compiled(catalog)
    if rules_checked:
        env = check_values(product.code, product.attributes, configuration, complete=True)
    else:
        env = check_product_configuration(comp, product, configuration)
    walker = _Walker(comp)
    with localcontext(EXACT):
        # Quantities and costs are multiplied and summed as Decimals: never round them.
        walker.walk(
            comp.product_owner(product.code), env, quantity, level=1, prefix="", chain=(product.code,)
        )
        parts = walker.flat_parts()
        total = sum((p.cost for p in parts), Decimal(0))
    items = _with_texts(tuple(walker.items), product, written)
    configured = assignment(product.attributes, env)
    items = instance_lines(product, dict(configured), items)
    return BillOfMaterials(
        catalog=catalog.code,
        currency=catalog.currency,
        product=product.code,
        product_name=product.name,
        quantity=quantity,
        configuration=configured,
        items=items,
        parts=parts,
        total_cost=total,
        texts=tuple(sorted(written.items())),
    )


def _with_texts(
    items: tuple[BomItem, ...], product: Product, written: Mapping[str, str]
) -> tuple[BomItem, ...]:
    """Put each text on the product's own line at its field's ``pos`` (the BOM keeps all of them too)."""
    by_pos: dict[int, list[tuple[str, str]]] = {}
    for field in product.texts:
        if field.pos is not None and field.code in written:
            by_pos.setdefault(field.pos, []).append((field.code, written[field.code]))
    if not by_pos:
        return items
    return tuple(
        replace(i, texts=tuple(by_pos[int(i.position)])) if i.level == 1 and int(i.position) in by_pos else i
        for i in items
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


_MISS = object()


class _LineFacts:
    """What one super-BOM line gives for one set of input values (memoized on the line)."""

    __slots__ = ("qty", "qty_dec", "provenance", "part", "module", "passed")

    def __init__(
        self,
        qty: int | Fraction,
        provenance: Provenance,
        part: Part | None,
        module: Module | None,
        passed: tuple[tuple[str, Any], ...],
    ) -> None:
        self.qty: Num = _reduce(qty) if isinstance(qty, Fraction) else qty
        self.qty_dec = to_decimal(qty)
        self.provenance = provenance
        self.part = part
        self.module = module
        self.passed = passed


COUNT_UNITS = frozenset({"pc", "set"})
"""Units counted in whole items. A part line in one of them needs whole items: its net quantity is
rounded up, then the scrap allowance is applied and rounded up again (docs/exports.md, "Whole
items"). Continuous units (m, mm, kg, g, l, m2) keep their exact decimals."""


class _Walker:
    """Depth-first explosion state: the lines so far and per-part sums.

    Quantities are ints while they stay integral and Fractions otherwise, so
    the common case runs on machine integers; Decimals are made once per line.
    """

    def __init__(self, comp: CompiledCatalog) -> None:
        self.comp = comp
        self.items: list[BomItem] = []
        # item code -> [total, total with scrap, paths]
        self._parts: dict[str, list[Any]] = {}

    def walk(
        self,
        owner: CompiledOwner,
        env: Env,
        parent_total: Num,
        *,
        level: int,
        prefix: str,
        chain: tuple[str, ...],
    ) -> Num:
        """Append the selected lines of ``owner`` (and their subtrees); return their rolled-up cost."""
        cost_sum: Num = 0
        items = self.items
        part_sums = self._parts
        get = env.get
        for cl in owner.lines:
            key = tuple(map(get, cl.refs))
            memo = cl.memo
            facts = memo.get(key, _MISS)
            if facts is _MISS:
                facts = self._facts(owner, cl, env)
                if len(memo) >= MEMO_LIMIT:
                    memo.clear()
                memo[key] = facts
            if facts is None:
                continue
            line = cl.line
            position = cl.position
            path = f"{prefix}/{position}" if prefix else position
            # Inline arithmetic (this loop runs once per BOM line); a TypeError means a
            # Fraction met a Decimal and the exact rational helpers take over.
            try:
                total = facts.qty * parent_total
                with_scrap = total if cl.scrap is None else total * cl.scrap
            except TypeError:
                total = _times(facts.qty, parent_total)
                with_scrap = total if cl.scrap is None else _times(total, cl.scrap)
            part = facts.part
            if part is not None:
                if part.uom in COUNT_UNITS and (type(total) is not int or type(with_scrap) is not int):
                    # Whole items: the net quantity, then the quantity with scrap, rounded up.
                    total = _ceil(total)
                    with_scrap = total if cl.scrap is None else _ceil(_times(total, cl.scrap))
                try:
                    cost = with_scrap * part.cost
                    cost_sum += cost
                except TypeError:
                    cost = _times(with_scrap, part.cost)
                    cost_sum = _plus(cost_sum, cost)
                sums = part_sums.get(part.code)
                if sums is None:
                    part_sums[part.code] = [total, with_scrap, [path]]
                else:
                    sums[0] = _plus(sums[0], total)
                    sums[1] = _plus(sums[1], with_scrap)
                    sums[2].append(path)
                items.append(
                    BomItem(
                        level,
                        position,
                        path,
                        part.code,
                        part.name,
                        ItemKind.PART,
                        facts.qty_dec,
                        total if type(total) is Decimal else to_decimal(total),
                        part.uom,
                        line.scrap_pct,
                        with_scrap if type(with_scrap) is Decimal else to_decimal(with_scrap),
                        cost if type(cost) is Decimal else to_decimal(cost),
                        line.op,
                        owner.code,
                        facts.provenance,
                        (),
                    )
                )
                continue
            module = facts.module
            assert module is not None
            if module.code in chain:
                raise BomCycle((*chain, module.code))
            sub_env, configuration = self._module_env(owner, module, facts.passed, path)
            slot = len(items)
            items.append(None)  # type: ignore[arg-type]  # filled once the subtree's cost is known
            cost = self.walk(
                self.comp.module_owner(module),
                sub_env,
                with_scrap,
                level=level + 1,
                prefix=path,
                chain=(*chain, module.code),
            )
            items[slot] = BomItem(
                level,
                position,
                path,
                module.code,
                module.name,
                ItemKind.MODULE,
                facts.qty_dec,
                _dec(total),
                module.uom,
                line.scrap_pct,
                _dec(with_scrap),
                _dec(cost),
                line.op,
                owner.code,
                facts.provenance,
                configuration,
            )
            cost_sum = _plus(cost_sum, cost)
        return cost_sum

    def _facts(self, owner: CompiledOwner, cl: CompiledLine, env: Env) -> _LineFacts | None:
        """Evaluate one line in ``env``: ``None`` when its condition fails or its quantity is zero."""
        line = cl.line
        where: dict[str, Any] = {"owner": owner.code, "pos": line.pos, "item": line.item}
        if cl.when is not None and not condition_holds(cl.when, env, **where):
            return None
        qty = number(cl.qty, env, what="quantity", **where)
        if qty == 0:
            # A formula such as ``if(rack, 2, 0)`` deselects the line.
            return None
        if line.op is not None and line.op not in owner.op_numbers:
            raise UnknownOperation(owner.code, line.pos, line.item, line.op)
        item = variant_code(line.item, env) if is_variant(line.item) else line.item
        part = self.comp.parts.get(item)
        module = self.comp.modules.get(item) if part is None else None
        if part is None and module is None:
            raise UnknownItem(owner.code, line.pos, item)
        passed: tuple[tuple[str, Any], ...] = ()
        if module is not None and module.configurable:
            passed = tuple(sorted((attr, value_of(f, env, **where)) for attr, f in cl.params))
        provenance = Provenance(
            condition=line.when,
            quantity_formula=line.qty,
            inputs=tuple((code, _stored(env[code])) for code in cl.refs if code in env),
        )
        return _LineFacts(qty, provenance, part, module, passed)

    def _module_env(
        self, owner: CompiledOwner, module: Module, passed: tuple[tuple[str, Any], ...], path: str
    ) -> tuple[dict[str, Any], Assignment]:
        """The module's own, checked configuration: the values passed, defaults for the rest."""
        if not module.configurable:
            return {}, ()
        cache = self.comp.module_envs
        key = (module.code, passed)
        hit = cache.get(key)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
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
        result = (sub_env, assignment(module.attributes, sub_env))
        if len(cache) >= MEMO_LIMIT:
            cache.clear()
        cache[key] = result
        return result

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
                    cost=to_decimal(_times(with_scrap, part.cost)),
                    lead_time_days=part.lead_time_days,
                    paths=tuple(paths),
                )
            )
        return tuple(out)


def _ceil(a: Num) -> int:
    """The smallest whole number of items covering ``a`` (exact for ints, Decimals and Fractions).

    >>> _ceil(Fraction(306, 10)), _ceil(Decimal("65.28")), _ceil(Decimal("64.00")), _ceil(3)
    (31, 66, 64, 3)
    """
    return a if type(a) is int else math.ceil(a)


def _times(a: Num, b: Num) -> Num:
    """Exact product: ints and Decimals multiply exactly (60 digits), mixed with a Fraction goes rational."""
    try:
        return a * b  # type: ignore[operator]
    except TypeError:
        return _reduce(Fraction(a) * Fraction(b))


def _plus(a: Num, b: Num) -> Num:
    try:
        return a + b  # type: ignore[operator]
    except TypeError:
        return _reduce(Fraction(a) + Fraction(b))


def _dec(value: Num) -> Decimal:
    """A quantity or cost as a Decimal; Decimals are kept as computed (exact, maybe with trailing zeros)."""
    if type(value) is Decimal:
        return value
    return to_decimal(value)


def _reduce(value: Fraction) -> Num:
    """A Fraction as the cheapest exact type: int, terminating Decimal, or itself."""
    if value.denominator == 1:
        return int(value)
    d = value.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    return to_decimal(value) if d == 1 else value


def _stored(value: Any) -> Any:
    """A value as kept in a BOM: sets become sorted tuples."""
    if isinstance(value, frozenset):
        return tuple(sorted(value))
    return value


def _default(attribute: Attribute) -> Any:
    if attribute.kind is AttributeKind.SET:
        return frozenset(attribute.default_set) if attribute.default_set is not None else None
    return attribute.default
