"""Prices of full and partial configurations, with one line per price rule that applies.

Arithmetic is exact: formulas are evaluated with ``Fraction`` by the rule
language's evaluator, and every line amount is rounded once to cents
(``ROUND_HALF_UP``, i.e. halves away from zero). The total is the base price
plus the rounded lines.

Kinds of price rules (``catalog.snapshot.PriceRule``):

- ``add``: a fixed amount or a formula over int and bool attributes;
- ``table``: an amount looked up by the values of some attributes (first
  matching row; no matching row means no line);
- ``percent``: a percentage of the base price plus every ``add`` and
  ``table`` line that applies.

Partial configurations are priced from *candidates*: for every attribute,
the values it may still take (one value when fixed). A line applies when its
condition holds and its amount is the same for every remaining combination
of the attributes it reads; a line that reads an attribute with no
candidates does not apply yet.

>>> from catalog.snapshot import Attribute, AttributeKind, Label, PriceRule, Product
>>> bike = Product("bike", Label("Bike"), Decimal("1000.00"),
...     (Attribute("gears", AttributeKind.INT, Label("Gears"), minimum=1, maximum=12),),
...     prices=(PriceRule("g", Label("Gears"), add="gears * 12.5"),))
>>> print(price(bike, {"gears": 3}).total)
1037.50
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

from catalog.snapshot import AttributeKind, Label, PriceRule, PriceTable, Product, Value
from configurator.derived import plain_product
from configurator.errors import ConfiguratorError
from configurator.rules import check_expression, parse_cell, parse_expression
from configurator.rules.ast import Expr
from configurator.rules.evaluate import EvaluationError, evaluate, references

AttrValue = Value | frozenset[str]

MAX_COMBINATIONS = 4096
"""Remaining value combinations of one line's attributes examined before giving up on it."""


@dataclass(frozen=True, slots=True)
class PriceLine:
    """One applied price rule: its amount and the attributes that caused it."""

    rule_id: str
    label: Label
    amount: Decimal
    decisions: tuple[str, ...]
    """Attributes the rule reads (condition, formula, table columns), in product order."""


@dataclass(frozen=True, slots=True)
class PriceBreakdown:
    currency: str
    base: Decimal
    lines: tuple[PriceLine, ...]
    total: Decimal


class PriceRuleError(ConfiguratorError):
    """A price rule's formula could not be evaluated (e.g. division by zero, wrong type)."""

    reason = "price_rule_error"

    def __init__(self, rule_id: str, detail: str) -> None:
        super().__init__(f"price rule {rule_id!r}: {detail}")
        self.rule_id = rule_id
        self.detail = detail


def to_cents(amount: Fraction) -> Decimal:
    """Round an exact amount to cents, halves away from zero (``ROUND_HALF_UP``).

    >>> to_cents(Fraction(1, 200)), to_cents(Fraction(-1, 200)), to_cents(Fraction(1, 3))
    (Decimal('0.01'), Decimal('-0.01'), Decimal('0.33'))
    """
    sign = -1 if amount < 0 else 1
    cents = (abs(amount) * 100 + Fraction(1, 2)).__floor__()
    return (Decimal(sign * cents) / 100).quantize(Decimal("0.01"))


def table_rows(table: PriceTable, product: Product) -> tuple[tuple[tuple[frozenset[Value], ...], Fraction], ...]:
    """A price table's rows as per-column value sets (cells parsed by the rule language)."""
    columns = [product.attribute(c) for c in table.columns]
    return tuple(
        (tuple(parse_cell(cell, a) for cell, a in zip(cells, columns, strict=True)), Fraction(amount))
        for cells, amount in table.rows
    )


def table_amount(
    rows: Sequence[tuple[tuple[frozenset[Value], ...], Fraction]], columns: Sequence[str], env: Mapping[str, AttrValue]
) -> Fraction | None:
    """The amount of the first row matching ``env`` (``KeyError`` if a column is missing).

    >>> table_amount([((frozenset({"S"}),), Fraction(0)), ((frozenset({"S", "XL"}),), Fraction(50))], ["size"],
    ...              {"size": "XL"})
    Fraction(50, 1)
    """
    values = [env[c] for c in columns]
    for cells, amount in rows:
        if all(v in cell for cell, v in zip(cells, values, strict=True)):
            return amount
    return None


@dataclass(frozen=True, slots=True)
class _Line:
    rule: PriceRule
    when: Expr | None
    add: Expr | None
    percent: Expr | None
    reads: tuple[str, ...]
    table: tuple[tuple[tuple[frozenset[Value], ...], Fraction], ...] | None
    _sets: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)
    _single: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)
    _extents: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def outcome(self, env: Mapping[str, AttrValue]) -> Fraction | None:
        """Amount (add/table) or percentage (percent) when the line applies, else ``None``.

        ``KeyError`` when a needed attribute is not in ``env``.
        """
        try:
            if self.when is not None and evaluate(self.when, env) is not True:
                return None
            if self.rule.table is not None and self.table is not None:
                return table_amount(self.table, self.rule.table.columns, env)
            expr = self.add if self.add is not None else self.percent
            assert expr is not None
            value = evaluate(expr, env)
        except EvaluationError as exc:
            raise PriceRuleError(self.rule.id, str(exc)) from exc
        if isinstance(value, bool) or not isinstance(value, int | Fraction):
            raise PriceRuleError(self.rule.id, f"formula gives {value!r}, not a number")
        return Fraction(value)

    def outcomes(self, candidates: Mapping[str, Sequence[AttrValue]]) -> set[Fraction | None] | None:
        """Every outcome over the remaining combinations, or ``None`` when undetermined.

        Memoised per remaining value sets and per combination: a search prices
        the same few value sets of a line at many nodes.
        """
        known = tuple(a for a in self.reads if a in candidates)
        key = (known, tuple(tuple(candidates[a]) for a in known))
        cached = self._sets.get(key, _MISSING)
        if cached is not _MISSING:
            return None if cached is None else set(cached)
        size = 1
        for values in key[1]:
            size *= len(values)
        if size == 0 or size > MAX_COMBINATIONS:
            self._remember(self._sets, key, None)
            return None
        found: set[Fraction | None] = set()
        single = self._single
        for combo in itertools.product(*key[1]):
            ckey = (known, combo)
            amount = single.get(ckey, _MISSING)
            if amount is _MISSING:
                try:
                    amount = self.outcome(dict(zip(known, combo, strict=True)))
                except KeyError:
                    amount = _UNDETERMINED
                self._remember(single, ckey, amount)
            if amount is _UNDETERMINED:
                self._remember(self._sets, key, None)
                return None
            found.add(amount)
        self._remember(self._sets, key, frozenset(found))
        return found

    def extent(self, candidates: Mapping[str, Sequence[AttrValue]]) -> tuple[Fraction, Fraction] | None:
        """Smallest and largest outcome over the remaining combinations (a line that does not
        apply counts 0; ``add``/``table`` amounts rounded to cents, percentages as they are), or
        ``None`` when undetermined. Memoised like :meth:`outcomes`."""
        known = tuple(a for a in self.reads if a in candidates)
        key = (known, tuple(tuple(candidates[a]) for a in known))
        cached = self._extents.get(key, _MISSING)
        if cached is not _MISSING:
            return cached  # type: ignore[no-any-return]
        found = self.outcomes(candidates)
        extent: tuple[Fraction, Fraction] | None = None
        if found is not None:
            amounts = [Fraction(0) if a is None else a for a in found]
            lo, hi = min(amounts), max(amounts)
            extent = (lo, hi) if self.percent is not None else (Fraction(to_cents(lo)), Fraction(to_cents(hi)))
        self._remember(self._extents, key, extent)
        return extent

    @staticmethod
    def _remember(memo: dict[Any, Any], key: Any, value: Any) -> None:
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()
        memo[key] = value


_MISSING = object()
_UNDETERMINED = object()
_MEMO_LIMIT = 200_000
"""Entries kept per line and memo before it starts over (bounds the memory of long searches)."""


def _compile(product: Product, rule: PriceRule, text: str, kind: str) -> Expr:
    expr = parse_expression(text, rule_id=rule.id)
    return check_expression(expr, product.attributes, kind=kind, rule_id=rule.id)


class PriceModel:
    """A product's price rules, parsed and checked once (:meth:`of` caches per product)."""

    def __init__(self, product: Product) -> None:
        product = plain_product(product)  # derived attributes read their definitions
        self.product = product
        order = {a.code: i for i, a in enumerate(product.attributes)}
        lines: list[_Line] = []
        for rule in product.prices:
            when = _compile(product, rule, rule.when, "condition") if rule.when else None
            add = _compile(product, rule, rule.add, "formula") if rule.add is not None else None
            percent = _compile(product, rule, rule.percent, "formula") if rule.percent is not None else None
            reads: set[str] = set()
            for expr in (when, add, percent):
                if expr is not None:
                    reads |= references(expr)
            if rule.table is not None:
                reads |= set(rule.table.columns)
            table = table_rows(rule.table, product) if rule.table is not None else None
            reads_in_order = tuple(sorted(reads, key=lambda a: order.get(a, 0)))
            lines.append(_Line(rule, when, add, percent, reads_in_order, table))
        self.lines = tuple(lines)

    @staticmethod
    def of(product: Product) -> PriceModel:
        """The price model of ``product``, built once per product.

        Looked up by identity first: an equal product held as another object (the catalog's
        and the compiled model's copies) would otherwise be compared field by field with the
        cached one at every lookup. An entry keeps its product alive, so its id is never
        another object's.
        """
        hit = _MODELS_BY_IDENTITY.get(id(product))
        if hit is not None and hit[0] is product:
            return hit[1]
        model = _price_model(product)
        if len(_MODELS_BY_IDENTITY) >= _MODELS_KEPT:
            _MODELS_BY_IDENTITY.clear()
        _MODELS_BY_IDENTITY[id(product)] = (product, model)
        return model

    def breakdown(self, candidates: Mapping[str, Sequence[AttrValue]], *, currency: str = "CNY") -> PriceBreakdown:
        """The price of a (partial) configuration given each attribute's remaining values."""
        base = self.product.base_price
        applied: list[PriceLine] = []
        subtotal = Fraction(base)
        for line in self.lines:
            if line.percent is not None:
                continue
            found = line.outcomes(candidates)
            if found is not None and len(found) == 1:
                (amount,) = found
                if amount is not None:
                    cents = to_cents(amount)
                    applied.append(PriceLine(line.rule.id, line.rule.label, cents, line.reads))
                    subtotal += Fraction(cents)
        for line in self.lines:
            if line.percent is None:
                continue
            found = line.outcomes(candidates)
            if found is not None and len(found) == 1:
                (pct,) = found
                if pct is not None:
                    cents = to_cents(subtotal * pct / 100)
                    applied.append(PriceLine(line.rule.id, line.rule.label, cents, line.reads))
        # Keep the catalog's order of price rules in the breakdown.
        position = {line.rule.id: i for i, line in enumerate(self.lines)}
        applied.sort(key=lambda p: position[p.rule_id])
        total = (base + sum((p.amount for p in applied), Decimal("0"))).quantize(Decimal("0.01"))
        return PriceBreakdown(currency, base, tuple(applied), total)

    def lower_bound(self, candidates: Mapping[str, Sequence[AttrValue]]) -> Fraction | None:
        """A lower bound of the total over every remaining combination, ``None`` when unknown."""
        lo = hi = Fraction(self.product.base_price)
        percents: list[tuple[Fraction, Fraction]] = []
        for line in self.lines:
            extent = line.extent(candidates)
            if extent is None:
                return None
            if line.percent is not None:
                percents.append(extent)
            else:
                lo += extent[0]
                hi += extent[1]
        bound = lo
        for plo, phi in percents:
            # Rounding is monotone, so rounding the smallest corner bounds the rounded amount.
            bound += Fraction(to_cents(min(s * p / 100 for s in (lo, hi) for p in (plo, phi))))
        return bound

    def unary_weights(self) -> dict[str, dict[Value, Fraction]] | None:
        """Per-attribute price weights when the total is a sum of one-attribute terms.

        That holds when every ``add``/``table`` rule reads at most one
        (non-set) attribute and every ``percent`` rule is a constant,
        non-negative percentage with a constant condition: then the total is
        a non-decreasing function of the sum of the weights, so minimizing the
        sum minimizes the price exactly. ``None`` otherwise.
        """
        weights: dict[str, dict[Value, Fraction]] = {}
        for line in self.lines:
            if line.percent is not None:
                if line.reads:
                    return None
                pct = line.outcome({})
                if pct is not None and pct < 0:
                    return None
                continue
            if not line.reads:
                continue
            if len(line.reads) > 1:
                return None
            attr = self.product.attribute(line.reads[0])
            if attr.kind is AttributeKind.SET:
                return None
            per_value = weights.setdefault(attr.code, {})
            for v in attr.domain():
                amount = line.outcome({attr.code: v})
                per_value[v] = per_value.get(v, Fraction(0)) + (Fraction(to_cents(amount)) if amount else 0)
        return weights


_MODELS_KEPT = 64
_MODELS_BY_IDENTITY: dict[int, tuple[Product, PriceModel]] = {}


@lru_cache(maxsize=_MODELS_KEPT)
def _price_model(product: Product) -> PriceModel:
    """The price model of ``product``, one per equal product (see :meth:`PriceModel.of`)."""
    return PriceModel(product)


def price(
    product: Product,
    assignment: Mapping[str, AttrValue],
    *,
    candidates: Mapping[str, Sequence[AttrValue]] | None = None,
    currency: str = "CNY",
) -> PriceBreakdown:
    """Price a full or partial configuration.

    ``assignment`` holds the fixed attribute values; ``candidates`` may add,
    for open attributes, the values they may still take (a line reading an
    open attribute applies only if it comes out the same for all of them).
    """
    merged: dict[str, Sequence[AttrValue]] = dict(candidates or {})
    for code, value in assignment.items():
        merged[code] = (value,)
    return PriceModel.of(product).breakdown(merged, currency=currency)
