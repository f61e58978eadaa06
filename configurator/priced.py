"""The price as a sum of per-variable weights, for passes over a compiled model.

A storefront click needs, for every value, the total the buyer would see
after choosing it. With the price written as unary weights on solver
variables, that is one "least weight per value" pass over a compiled
diagram (:meth:`value_costs` of the decision-diagram and d-DNNF backends)
instead of one propagation per value.

Each price line becomes:

- nothing, when its amount is the same in every configuration (it goes into
  :attr:`PricedModel.constant_cents`);
- unary weights on the variable of the one (non-set) attribute it reads;
- otherwise an *auxiliary variable* whose value is the line's amount in
  cents, defined by a table over the solver variables of the attributes it
  reads (a function of them: counts and consistency do not change).

``percent`` lines are a percentage of the subtotal, not a sum. Their
percentage must be a constant; their condition becomes an auxiliary Boolean
("the line applies") and the engine runs one pass per combination of those
conditions (:attr:`PricedModel.flags`, at most :data:`MAX_FLAGS`), where the
total is a non-decreasing function of the additive sum (:meth:`PricedModel.total`).

:func:`priced_model` returns ``None`` when some line cannot be written this
way (a percentage that depends on attributes, a table over more than
:data:`MAX_LINE_COMBINATIONS` value combinations, too many conditional
percentages); the engine then prices value by value as before.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from catalog.snapshot import Attribute, AttributeKind, Product, Value
from configurator.model import Constraint, Model, Variable
from configurator.pricing import PriceModel, PriceRuleError, _Line, to_cents
from configurator.rules.evaluate import EvaluationError, evaluate, references

MAX_LINE_COMBINATIONS = 20_000
"""Largest Cartesian product of a price line's attributes that is tabulated into an auxiliary variable."""
MAX_FLAGS = 4
"""Most percent lines with a non-constant condition (one pass per combination of them)."""
PRICE_RULE_PREFIX = "price:"
"""Rule id prefix of the constraints that define price auxiliaries (never shown as rules)."""


@dataclass(frozen=True, slots=True)
class PricedModel:
    model: Model
    """The product's model plus the price auxiliaries (last, after every variable they read)."""
    weights: Mapping[str, Mapping[Value, int]]
    """Cents per value of a variable (attribute variables and amount auxiliaries)."""
    constant_cents: int
    """Sum of the lines whose amount is the same in every configuration."""
    base_cents: int
    flags: tuple[tuple[str, Fraction], ...]
    """Percent lines with a condition: (auxiliary Boolean variable, percentage)."""
    constant_percents: tuple[Fraction, ...]
    """Percent lines that always apply."""

    def total_cents(self, additive_cents: int, active: Sequence[bool]) -> int:
        """:meth:`total` in integer cents (integer arithmetic only: the engine calls it per value)."""
        subtotal = self.base_cents + self.constant_cents + additive_cents
        total = subtotal
        pcts = list(self.constant_percents) + [p for (_, p), on in zip(self.flags, active, strict=True) if on]
        for pct in pcts:
            # to_cents(subtotal / 100 * pct / 100) * 100, halves away from zero
            num = subtotal * pct.numerator
            den = 100 * pct.denominator
            cents = (2 * abs(num) + den) // (2 * den)
            total += cents if num >= 0 else -cents
        return total

    def total(self, additive_cents: int, active: Sequence[bool]) -> Decimal:
        """The total for a configuration whose weights sum to ``additive_cents``, with ``active`` flags on."""
        subtotal = Fraction(self.base_cents + self.constant_cents + additive_cents, 100)
        total = subtotal
        pcts = list(self.constant_percents) + [p for (_, p), on in zip(self.flags, active, strict=True) if on]
        for pct in pcts:
            total += Fraction(to_cents(subtotal * pct / 100))
        return (Decimal(total.numerator) / Decimal(total.denominator)).quantize(Decimal("0.01"))


def _cents(amount: Fraction | None) -> int:
    return 0 if amount is None else int(to_cents(amount) * 100)


AttrValue = Value | frozenset[str]


class _Unpriceable(Exception):
    """A price line that cannot be written as weights."""


def _domains(attrs: Sequence[Attribute]) -> list[list[AttrValue]]:
    out: list[list[AttrValue]] = []
    for a in attrs:
        if a.kind is AttributeKind.SET:
            codes = [c.code for c in a.choices]
            out.append([frozenset(s) for k in range(len(codes) + 1) for s in itertools.combinations(codes, k)])
        else:
            out.append(list(a.domain()))
    if math.prod(len(d) for d in out) > MAX_LINE_COMBINATIONS:
        raise _Unpriceable
    return out


def _percentage(line: _Line) -> Fraction | None:
    """A percent line's constant percentage (``None`` when a constant condition never holds)."""
    assert line.percent is not None
    if references(line.percent):
        raise _Unpriceable  # a percentage that depends on attributes is not a weight
    value = evaluate(line.percent, {})
    if isinstance(value, bool) or not isinstance(value, int | Fraction):
        raise _Unpriceable
    if line.when is None and line.outcome({}) is None:
        return None
    return Fraction(value)


class _Builder:
    def __init__(self, product: Product, model: Model) -> None:
        self.product = product
        self.model = model
        self.by_code = {a.code: a for a in product.attributes}
        self.names = {v.name for v in model.variables}
        self.weights: dict[str, dict[Value, int]] = {}
        self.extra_vars: list[Variable] = []
        self.extra_constraints: list[Constraint] = []
        self.constant = 0
        self.flags: list[tuple[str, Fraction]] = []
        self.constant_percents: list[Fraction] = []

    def line(self, number: int, line: _Line) -> None:
        attrs = [self.by_code[a] for a in line.reads]
        domains = _domains(attrs)
        if line.percent is not None:
            self.percent(number, line, attrs, domains)
            return
        amounts = [(combo, _cents(line.outcome(dict(zip(line.reads, combo, strict=True)))))
                   for combo in itertools.product(*domains)]
        distinct = sorted({c for _, c in amounts})
        if len(distinct) == 1:
            self.constant += distinct[0]
        elif len(attrs) == 1 and attrs[0].kind is not AttributeKind.SET and attrs[0].code in self.names:
            row = self.weights.setdefault(attrs[0].code, {})
            for (v,), c in amounts:
                assert not isinstance(v, frozenset)
                row[v] = row.get(v, 0) + c
        else:
            aux = f"price#{number}"
            self.define(aux, tuple(distinct), attrs, amounts, line.rule.id)
            self.weights[aux] = {c: c for c in distinct}

    def percent(self, number: int, line: _Line, attrs: Sequence[Attribute], domains: list[list[AttrValue]]) -> None:
        pct = _percentage(line)
        if pct is None:
            return
        if line.when is None:
            self.constant_percents.append(pct)
            return
        table = [(combo, line.outcome(dict(zip(line.reads, combo, strict=True))) is not None)
                 for combo in itertools.product(*domains)]
        outcomes = {on for _, on in table}
        if outcomes == {True}:
            self.constant_percents.append(pct)
        elif outcomes == {True, False}:
            aux = f"price?{number}"
            self.define(aux, (False, True), attrs, table, line.rule.id)
            self.flags.append((aux, pct))

    def define(
        self, aux: str, domain: tuple[Value, ...], attrs: Sequence[Attribute],
        table: Sequence[tuple[tuple[AttrValue, ...], Value]], rule_id: str,
    ) -> None:
        """An auxiliary variable equal to the table's value for the attributes' solver values."""
        scope: list[str] = []
        for a in attrs:
            scope.extend(self.model.set_elements.get(a.code, ()) if a.kind is AttributeKind.SET else (a.code,))
        allowed: set[tuple[Value, ...]] = set()
        for combo, value in table:
            row: list[Value] = []
            for a, v in zip(attrs, combo, strict=True):
                if isinstance(v, frozenset):
                    row.extend(c.code in v for c in a.choices)
                else:
                    row.append(v)
            allowed.add((*row, value))
        frozen = frozenset(allowed)
        self.extra_vars.append(Variable(aux, domain, "", auxiliary=True))
        self.extra_constraints.append(
            Constraint(f"{PRICE_RULE_PREFIX}{rule_id}", (*scope, aux), lambda *v: v in frozen, frozen)
        )


def priced_model(product: Product, model: Model, pricing: PriceModel) -> PricedModel | None:
    """The price of ``product`` as weights over ``model`` plus auxiliaries; ``None`` when not expressible."""
    b = _Builder(product, model)
    try:
        for number, line in enumerate(pricing.lines):
            b.line(number, line)
    except (_Unpriceable, PriceRuleError, EvaluationError, KeyError):
        return None
    if len(b.flags) > MAX_FLAGS:
        return None
    priced = model
    if b.extra_vars:
        priced = Model(
            f"{model.key}#priced",
            model.variables + tuple(b.extra_vars),
            model.constraints + tuple(b.extra_constraints),
            model.set_elements,
        )
    return PricedModel(
        priced, b.weights, b.constant, int(product.base_price * 100), tuple(b.flags), tuple(b.constant_percents)
    )
