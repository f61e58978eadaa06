"""Configurable modules inside a product's model: one model of the whole product.

A product's super BOM reaches modules (at any depth); a configurable module
has attributes and rules of its own, and each BOM line that uses it passes
``params``: expressions over the line owner's attributes. Explosion gives the
module the values passed (defaults for the rest), checks them against the
module's attributes and checks its rules, and refuses the order when any
fails. So that the configurator never offers such a configuration, every
configurable module *use* (a chain of BOM lines from the product down to the
module) is compiled into constraints of the product's model:

- **values**: for each module attribute, "when the chain is active, the value
  passed is in the attribute's domain" (range and step, choices, a set's
  min/max count); an attribute neither passed nor defaulted can never be
  given a value, so its use is forbidden. Rule id ``"<use>.<attribute>"``.
- **rules**: each module rule (text or table) holds whenever the chain is
  active. Rule id ``"<use>/<rule id>"``, explained with the rule's own message.

A chain is *active* when every line on it is selected the way explosion
selects it: its ``when`` holds and its quantity is not zero. A chain whose
condition, quantity or parameters cannot be evaluated (division by zero, a
negative quantity, a value of the wrong type) breaks explosion, so it breaks
these constraints too.

Module attributes are *functions* of the product's attributes (the parameter
expressions, composed along the chain), so they are compiled by substitution
and add no solver variable: counts stay exact, nothing needs a canonical
value when the line is inactive, and the buyer is never asked to choose them.
``<use>`` is the module code, or ``CODE@PATH`` (BOM path such as
``0020/0010``) when the product uses the module on several lines.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from catalog.snapshot import Attribute, AttributeKind, BomLine, Label, Module, Product, Rule, Value
from configurator.decisions import InvalidValue, allowed_text, check_value
from configurator.derived import plain_product
from configurator.rules import (
    EvaluationError,
    RuleError,
    RuleSetInvalid,
    check_expression,
    evaluate,
    parse_expression,
    references,
    row_matches,
    row_sets,
)
from configurator.rules.ast import Binary, Call, Dec, Expr, Int, Name, Unary

__all__ = [
    "ACTIVE",
    "BROKEN",
    "GUARD_PREFIX",
    "INACTIVE",
    "Guard",
    "ModuleConstraint",
    "ModuleUse",
    "module_constraints",
    "module_labels",
    "module_uses",
]


@dataclass(frozen=True, slots=True)
class Step:
    """One BOM line on the way down: selected when ``when`` holds and ``qty`` is not zero."""

    owner: str
    line: BomLine
    module: Module
    when: Expr | None
    qty: Expr
    params: Mapping[str, Expr]
    """Module attribute -> expression over the owner's attributes (configurable modules only)."""
    counted: bool = False
    """The quantity is positive for every value of the owner's attributes (proved by intervals),
    so only ``when`` decides whether the line is selected."""


@dataclass(frozen=True, slots=True)
class ModuleUse:
    """A configurable module reached through ``steps`` (the last one names the module)."""

    name: str
    path: str
    steps: tuple[Step, ...]

    @property
    def module(self) -> Module:
        return self.steps[-1].module


@dataclass(frozen=True, slots=True)
class ModuleConstraint:
    """A constraint over product attributes (and the use's guard): ``holds(env)``.

    ``env`` holds ``attributes`` and, when ``guard`` is set, the guard's state
    under the guard's name: the constraint binds only while that state is
    :data:`ACTIVE` and fails when it is :data:`BROKEN`.
    """

    rule_id: str
    attributes: tuple[str, ...]
    holds: Callable[[Mapping[str, Any]], bool]
    guard: str | None = None


@dataclass(frozen=True, slots=True)
class Guard:
    """Whether a module use is selected: a function of product attributes with three values.

    Compiled as an auxiliary variable defined by ``state`` (structural, rule id
    ``GUARD_PREFIX + name``), so the use's constraints do not each repeat the
    conditions and quantities of every line on the way down.
    """

    name: str
    attributes: tuple[str, ...]
    state: Callable[[Mapping[str, Any]], int]


INACTIVE, ACTIVE, BROKEN = 0, 1, 2
"""Guard states: a line on the way is not selected; all are; one cannot be evaluated."""
GUARD_PREFIX = "module-line:"
"""Rule id prefix of guard definitions: structure, not rules (never named in explanations)."""


class _Broken(Exception):
    """Explosion would fail on this chain (an error, not an inactive line)."""


def module_uses(product: Product) -> tuple[ModuleUse, ...]:
    """Every use of a configurable module in ``product``'s super BOM, depth first in BOM order.

    Raises the rule language's errors (with ``where``) for a condition, quantity or parameter
    text on the way that does not parse or check.
    """
    reached = product.modules
    product = plain_product(product)  # texts naming derived attributes read their definitions
    by_code = {m.code: m for m in reached}
    found: list[tuple[str, tuple[Step, ...]]] = []

    def walk(
        owner: str,
        attributes: Sequence[Attribute],
        lines: Sequence[BomLine],
        prefix: str,
        chain: tuple[Step, ...],
        seen: tuple[str, ...],
    ) -> None:
        for line in sorted(lines, key=lambda ln: ln.pos):
            module = by_code.get(line.item)
            if module is None or module.code in seen:
                continue  # a part, an unknown item or a cycle: explosion reports those itself
            path = f"{prefix}/{line.pos:04d}" if prefix else f"{line.pos:04d}"
            step = _step(owner, attributes, line, module)
            here = (*chain, step)
            if module.configurable:
                found.append((path, here))
            walk(module.code, module.attributes, module.components, path, here, (*seen, module.code))

    walk(product.code, product.attributes, product.bom, "", (), (product.code,))
    uses_of: dict[str, int] = {}
    for _, steps in found:
        code = steps[-1].module.code
        uses_of[code] = uses_of.get(code, 0) + 1
    return tuple(
        ModuleUse(
            steps[-1].module.code
            if uses_of[steps[-1].module.code] == 1
            else f"{steps[-1].module.code}@{path}",
            path,
            steps,
        )
        for path, steps in found
    )


def module_constraints(product: Product) -> tuple[list[Guard], list[ModuleConstraint]]:
    """The guards and constraints that make every configurable module use valid whenever it is active."""
    guards: list[Guard] = []
    out: list[ModuleConstraint] = []
    for use in module_uses(product):
        guard = _guard(use)
        broken = False
        if guard is not None and not guard.attributes:
            state = guard.state({})
            if state == INACTIVE:
                continue  # never selected: nothing to require
            broken = state == BROKEN
            guard = None
        if guard is not None:
            guards.append(guard)
        module = use.module
        passed = use.steps[-1].params
        name = guard.name if guard is not None else None
        for a in module.attributes:
            if a.code not in passed and _default_ok(a):
                continue  # the default, always in the domain: nothing to require
            out.append(_value_constraint(use, f"{use.name}.{a.code}", (a.code,), _in_domain(a), name, broken))
        attrs = {a.code: a for a in module.attributes}
        for rule in module.rules:
            test, reads = _rule_test(use, rule, attrs)
            out.append(_value_constraint(use, f"{use.name}/{rule.id}", reads, test, name, broken))
    return guards, out


def module_labels(product: Product) -> dict[str, Label]:
    """Buyer-facing messages of the module constraints, by rule id (en, zh-CN)."""
    labels: dict[str, Label] = {}
    for use in module_uses(product):
        module = use.module
        for a in module.attributes:
            allowed = allowed_text(a)
            unit = f" {a.unit}" if a.unit and a.kind is AttributeKind.INT else ""
            labels[f"{use.name}.{a.code}"] = Label(
                f"{module.name.en}: {a.label.en} must be {allowed}{unit}.",
                f"{module.name.zh_CN or module.name.en}：{a.label.zh_CN or a.label.en}须为 {allowed}{unit}。",
            )
        for rule in module.rules:
            labels[f"{use.name}/{rule.id}"] = rule.message
    return labels


# --------------------------------------------------------------------------- compiling


def _step(owner: str, attributes: Sequence[Attribute], line: BomLine, module: Module) -> Step:
    where = f"BOM line {line.pos} ({line.item}) of {owner}"

    def checked(text: str, kind: str, target: Attribute | None = None) -> Expr:
        try:
            parsed = parse_expression(text)
            return check_expression(parsed, attributes, kind=kind, target=target)
        except RuleError as err:
            err.where = where
            err.source = line.loc
            raise
        except RuleSetInvalid as err:
            for e in err.errors:
                e.where = where
                e.source = line.loc
            raise

    when = checked(line.when, "condition") if line.when is not None else None
    qty = checked(line.qty, "formula")
    params: dict[str, Expr] = {}
    if module.configurable:
        targets = {a.code: a for a in module.attributes}
        for attr, text in line.params:
            if attr not in targets:
                known = ", ".join(targets)
                raise RuleError(
                    f"module {module.code} has no attribute {attr!r} (it has {known})",
                    where=where,
                    source=line.loc,
                )
            params[attr] = checked(text, "param", targets[attr])
    low = _lower_bound(qty, {a.code: a for a in attributes})
    return Step(owner, line, module, when, qty, params, counted=low is not None and low > 0)


def _default_ok(a: Attribute) -> bool:
    default: object = (
        frozenset(a.default_set) if a.kind is AttributeKind.SET and a.default_set is not None else a.default
    )
    return default is not None and _in_domain(a)({a.code: default})


def _in_domain(a: Attribute) -> Callable[[Mapping[str, Any]], bool]:
    """The check explosion makes on one module attribute's value."""

    def test(env: Mapping[str, Any]) -> bool:
        try:
            value = check_value(a, env[a.code])
        except InvalidValue:
            return False
        if isinstance(value, frozenset):
            return a.min_count <= len(value) and (a.max_count is None or len(value) <= a.max_count)
        return True

    return test


def _rule_test(
    use: ModuleUse, rule: Rule, attrs: Mapping[str, Attribute]
) -> tuple[Callable[[Mapping[str, Any]], bool], tuple[str, ...]]:
    """A module rule as a test on the module's values, and the module attributes it reads."""
    module = use.module
    if rule.text is not None:
        try:
            expr = check_expression(
                parse_expression(rule.text, rule_id=rule.id), module.attributes, kind="rule", rule_id=rule.id
            )
        except RuleError as err:
            err.where = f"rule {rule.id} of module {module.code}"
            err.source = rule.text_loc or rule.loc
            raise

        def holds(env: Mapping[str, Any]) -> bool:
            return evaluate(expr, env) is True

        return holds, tuple(sorted(references(expr)))
    columns = tuple(dict.fromkeys(rule.columns))
    rows = row_sets(
        rule, [attrs[c] for c in columns] if all(c in attrs for c in columns) else module.attributes
    )
    allow = rule.allow
    order = rule.columns

    def matches(env: Mapping[str, Any]) -> bool:
        values = tuple(env[c] for c in order)
        return any(row_matches(row, values) for row in rows) == allow

    return matches, columns


def _needs(
    steps: Sequence[Step], reads: Sequence[str], *, selection: bool
) -> tuple[list[frozenset[str]], tuple[str, ...]]:
    """What each step must compute (the module attributes needed below it), and the product
    attributes read: for the module's values ``reads`` (and, with ``selection``, for every
    line's condition and quantity on the way)."""
    needs: list[frozenset[str]] = [frozenset()] * len(steps)
    wanted = frozenset(reads)
    for k in range(len(steps) - 1, -1, -1):
        needs[k] = wanted
        step = steps[k]
        owner_reads: set[str] = set()
        if selection:
            if not step.counted:
                owner_reads |= references(step.qty)
            if step.when is not None:
                owner_reads |= references(step.when)
        for a in wanted:
            if a in step.params:
                owner_reads |= references(step.params[a])
        wanted = frozenset(owner_reads)
    return needs, tuple(sorted(wanted))


def _guard(use: ModuleUse) -> Guard | None:
    """The use's selection as a guard; ``None`` when every line on the way is always selected."""
    steps = use.steps
    if all(s.when is None and s.counted for s in steps):
        return None
    needs, reads = _needs(steps, (), selection=True)
    defaults = [{a.code: _default(a) for a in step.module.attributes} for step in steps]

    def state(env: Mapping[str, Any]) -> int:
        try:
            return INACTIVE if _descend(steps, needs, defaults, env, selection=True) is None else ACTIVE
        except (_Broken, EvaluationError, KeyError):
            return BROKEN

    return Guard(f"{GUARD_PREFIX}{use.name}", reads, state)


def _lower_bound(expr: Expr, attributes: Mapping[str, Attribute]) -> Fraction | None:
    """A lower bound of a quantity formula over the attributes' declared domains, or ``None``
    when interval arithmetic cannot bound it (or it may fail: a divisor that may be zero).

    Sound for explosion: a line's formulas are evaluated on its owner's values, which are
    checked against those domains first.

    >>> from catalog.snapshot import Label
    >>> w = Attribute("w", AttributeKind.INT, Label("w"), minimum=600, maximum=2400, step=50)
    >>> _lower_bound(parse_expression("(ceil(w / 1000) - 1) * w + 2 * w"), {"w": w})
    Fraction(1200, 1)
    >>> _lower_bound(parse_expression("w / (w - 600)"), {"w": w}) is None
    True
    """
    bounds = _interval(expr, attributes)
    return None if bounds is None else bounds[0]


Interval = tuple[Fraction, Fraction]


def _interval(expr: Expr, attributes: Mapping[str, Attribute]) -> Interval | None:
    if isinstance(expr, Int):
        return Fraction(expr.value), Fraction(expr.value)
    if isinstance(expr, Dec):
        value = Fraction(Decimal(expr.text))
        return value, value
    if isinstance(expr, Name):
        a = attributes.get(expr.id)
        if a is None or a.kind is not AttributeKind.INT or a.minimum is None or a.maximum is None:
            return None
        return Fraction(a.minimum), Fraction(a.maximum)
    if isinstance(expr, Unary) and expr.op == "-":
        inner = _interval(expr.operand, attributes)
        return None if inner is None else (-inner[1], -inner[0])
    if isinstance(expr, Binary) and expr.op in ("+", "-", "*", "/"):
        left, right = _interval(expr.left, attributes), _interval(expr.right, attributes)
        return None if left is None or right is None else _arithmetic(expr.op, left, right)
    if isinstance(expr, Call):
        if expr.func == "if":
            yes, no = _interval(expr.args[1], attributes), _interval(expr.args[2], attributes)
            return None if yes is None or no is None else (min(yes[0], no[0]), max(yes[1], no[1]))
        args = [_interval(arg, attributes) for arg in expr.args]
        known = [x for x in args if x is not None]
        return _function(expr.func, known) if known and len(known) == len(args) else None
    return None


def _arithmetic(op: str, left: Interval, right: Interval) -> Interval | None:
    if op == "+":
        return left[0] + right[0], left[1] + right[1]
    if op == "-":
        return left[0] - right[1], left[1] - right[0]
    if op == "/":
        if right[0] <= 0 <= right[1]:
            return None  # the divisor may be zero
        right = (1 / right[1], 1 / right[0])
    corners = [x * y for x in left for y in right]
    return min(corners), max(corners)


def _function(func: str, args: Sequence[Interval]) -> Interval | None:
    if func == "min":
        return min(x[0] for x in args), min(x[1] for x in args)
    if func == "max":
        return max(x[0] for x in args), max(x[1] for x in args)
    low, high = args[0]
    if func == "ceil":
        return Fraction(math.ceil(low)), Fraction(math.ceil(high))
    if func == "floor":
        return Fraction(math.floor(low)), Fraction(math.floor(high))
    if func == "round":
        return Fraction(math.floor(low)), Fraction(math.ceil(high))
    if func == "abs":
        if low >= 0:
            return low, high
        return (Fraction(0) if high >= 0 else -high), max(-low, high)
    return None


def _value_constraint(
    use: ModuleUse,
    rule_id: str,
    reads: Sequence[str],
    test: Callable[[Mapping[str, Any]], bool],
    guard: str | None,
    broken: bool,
) -> ModuleConstraint:
    """``test`` on the module's values (``reads``) must hold whenever ``use`` is active
    (``broken``: a line on the way can never be evaluated, so nothing holds)."""
    if broken:
        return ModuleConstraint(rule_id, (), lambda _env: False)
    steps = use.steps
    needs, attributes = _needs(steps, reads, selection=False)
    defaults = [{a.code: _default(a) for a in step.module.attributes} for step in steps]

    def holds(env: Mapping[str, Any]) -> bool:
        if guard is not None:
            state = env[guard]
            if state != ACTIVE:
                return bool(state == INACTIVE)
        try:
            values = _descend(steps, needs, defaults, env, selection=False)
            assert values is not None
            return test(values)
        except (_Broken, EvaluationError, KeyError):
            return False

    return ModuleConstraint(rule_id, attributes, holds, guard)


def _descend(
    steps: Sequence[Step],
    needs: Sequence[frozenset[str]],
    defaults: Sequence[Mapping[str, Any]],
    env: Mapping[str, Any],
    *,
    selection: bool,
) -> dict[str, Any] | None:
    """The module's values along the chain; with ``selection``, ``None`` when a line on it is not
    selected (its condition fails or its quantity is zero)."""
    values: Mapping[str, Any] = env
    for step, need, default in zip(steps, needs, defaults, strict=True):
        if selection:
            if step.when is not None:
                selected = evaluate(step.when, values)
                if not isinstance(selected, bool):
                    raise _Broken
                if not selected:
                    return None
            if not step.counted:
                qty = evaluate(step.qty, values)
                if isinstance(qty, bool) or not isinstance(qty, int | Fraction) or qty < 0:
                    raise _Broken
                if qty == 0:
                    return None
        below: dict[str, Any] = {}
        for a in need:
            if a in step.params:
                below[a] = evaluate(step.params[a], values)
            elif default.get(a) is not None:
                below[a] = default[a]
            else:
                raise _Broken  # neither passed nor defaulted: explosion finds it missing
        values = below
    return dict(values)


def _default(a: Attribute) -> Value | frozenset[str] | None:
    if a.kind is AttributeKind.SET:
        return frozenset(a.default_set) if a.default_set is not None else None
    return a.default
