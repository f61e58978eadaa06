"""Conditions and formulas of a catalog, parsed once and evaluated exactly.

The catalog snapshot keeps ``when``, ``qty``, ``params``, ``setup_min`` and
``run_min`` as source text. Explosion and routing touch the same texts for
every order, so a :class:`CompiledCatalog` parses each owner's (product's or
module's) texts once, on first use, with the configurator's parser and
checker (names resolved against the owner's attributes), and keeps the result.
:func:`compiled` caches one per catalog object.

Evaluation is ``configurator.rules.evaluate``: exact rational arithmetic.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction
from typing import Any

from bom.errors import BomFormulaError
from bom.variants import placeholders
from catalog.snapshot import Attribute, BomLine, Catalog, Module, Operation, Part, Product
from configurator import Configurator, ConfiguratorError
from configurator.derived import plain_product
from configurator.rules import EvaluationError, check_expression, evaluate, parse_expression, references
from configurator.rules.ast import Expr, Int

Num = int | Decimal | Fraction
"""An exact number: an int, a Decimal when its expansion terminates, else a Fraction.

Ints and Decimals are the fast common case; Decimal products and sums are
exact as long as they fit the context's precision (explosion uses
:data:`bom.lines.EXACT`, 200 digits).
"""

MEMO_LIMIT = 1024

Env = Mapping[str, Any]
"""Attribute values of one owner: str, int, bool or frozenset[str] (evaluate's values)."""


@dataclass(frozen=True, slots=True)
class Formula:
    """One parsed text with the attribute codes it reads."""

    text: str
    expr: Expr
    refs: tuple[str, ...]
    constant: int | None
    """The value when the text is a plain integer literal (fast path)."""


@dataclass(frozen=True, slots=True)
class CompiledLine:
    line: BomLine
    when: Formula | None
    qty: Formula
    params: tuple[tuple[str, Formula], ...]
    refs: tuple[str, ...]
    """Sorted attribute codes read by ``when``, ``qty`` and ``params``."""
    scrap: Decimal | None
    """``1 + scrap_pct / 100``, or ``None`` without scrap."""
    position: str
    """``pos`` as four digits."""
    memo: dict[tuple[Any, ...], Any] = field(default_factory=dict, compare=False, repr=False)
    """What the explosion derived from this line, keyed by the values of ``refs``.

    Everything about a line (selected or not, quantity, provenance, module
    parameters) depends only on those values, so a large BOM evaluates each
    distinct case once. Bounded: cleared when it grows past :data:`MEMO_LIMIT`.
    """


@dataclass(frozen=True, slots=True)
class CompiledOperation:
    operation: Operation
    when: Formula | None
    setup: Formula
    run: Formula
    refs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CompiledOwner:
    """A product or module with its BOM lines (by position) and operations (by number)."""

    code: str
    attributes: tuple[Attribute, ...]
    lines: tuple[CompiledLine, ...]
    operations: tuple[CompiledOperation, ...]
    op_numbers: frozenset[int]


class CompiledCatalog:
    """Lazily parsed formulas of one catalog, plus item look-up tables."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.parts: dict[str, Part] = {p.code: p for p in catalog.parts}
        self.modules: dict[str, Module] = {m.code: m for m in catalog.modules}
        self._owners: dict[str, CompiledOwner] = {}
        self.module_envs: dict[tuple[str, tuple[tuple[str, Any], ...]], Any] = {}
        """Validated module configurations by (module code, values passed); bounded like the line memos."""
        self._configurators: dict[str, Configurator] = {}
        # The configurator caches compiled models by key; a fresh token per
        # compiled catalog keeps entries of different catalog objects apart
        # without hashing whole products on every call.
        self._token = f"bom-explosion-{uuid.uuid4().hex}"

    def configurator(self, owner: Product | Module) -> Configurator:
        """A configurator over a product, or over a configurable module seen as a product, for ``validate``."""
        key = f"{'product' if isinstance(owner, Product) else 'module'}:{owner.code}"
        hit = self._configurators.get(key)
        if hit is None:
            if isinstance(owner, Product):
                # The explosion checks each configurable module where it occurs (and names
                # that place), so the product is validated against its own rules here.
                product = replace(owner, modules=())
            else:
                product = Product(owner.code, owner.name, Decimal(0), owner.attributes, rules=owner.rules)
            # Validation evaluates the model's constraints directly; the brute-force
            # backend is the cheapest to set up and is never asked to search here.
            hit = Configurator(
                product, catalog_key=f"{self._token}:{key}", backend="brute", currency=self.catalog.currency
            )
            self._configurators[key] = hit
        return hit

    def product_owner(self, code: str) -> CompiledOwner:
        key = f"product:{code}"
        owner = self._owners.get(key)
        if owner is None:
            product = plain_product(self.catalog.product(code), self.catalog.modules)
            owner = _compile_owner(
                product.code, product.attributes, product.bom, product.routing, self.modules
            )
            self._owners[key] = owner
        return owner

    def module_owner(self, module: Module) -> CompiledOwner:
        key = f"module:{module.code}"
        owner = self._owners.get(key)
        if owner is None:
            owner = _compile_owner(
                module.code, module.attributes, module.components, module.operations, self.modules
            )
            self._owners[key] = owner
        return owner


_CACHE: list[tuple[Catalog, CompiledCatalog]] = []
_CACHE_SIZE = 8


def compiled(catalog: Catalog) -> CompiledCatalog:
    """The compiled form of ``catalog``, cached for the last few catalogs.

    Looked up by identity first, then by equality: a catalog loaded again
    (e.g. the same published version read per request) reuses the parsed
    formulas and the configurator's compiled models. The cache holds the
    catalog objects, so an ``id`` cannot be reused while its entry lives.
    Entries are shared between threads; their memos only ever cache values
    derived deterministically, so a race costs a recomputation, not a wrong
    answer.
    """
    for cat, comp in _CACHE:
        if cat is catalog:
            return comp
    comp = next((c for cat, c in _CACHE if cat == catalog), None) or CompiledCatalog(catalog)
    _CACHE.insert(0, (catalog, comp))
    del _CACHE[_CACHE_SIZE:]
    return comp


def parse_formula(
    text: str,
    attributes: tuple[Attribute, ...],
    *,
    kind: str,
    owner: str,
    pos: int,
    item: str,
    target: Attribute | None = None,
) -> Formula:
    """Parse and check ``text`` against ``attributes``; errors become :class:`BomFormulaError`.

    ``kind`` is the configurator checker's: "condition", "formula" or "param"
    (with ``target``, the module attribute the parameter sets).
    """
    try:
        expr = check_expression(parse_expression(text), attributes, kind=kind, target=target)
    except ConfiguratorError as exc:
        raise BomFormulaError(owner, pos, item, text, str(exc)) from exc
    constant = expr.value if isinstance(expr, Int) else None
    return Formula(text, expr, tuple(sorted(references(expr))), constant)


def _compile_owner(
    code: str,
    attributes: tuple[Attribute, ...],
    lines: tuple[BomLine, ...],
    operations: tuple[Operation, ...],
    modules: Mapping[str, Module],
) -> CompiledOwner:
    by_pos = sorted(lines, key=lambda ln: ln.pos)
    compiled_lines = []
    for ln in by_pos:
        where: dict[str, Any] = {"owner": code, "pos": ln.pos, "item": ln.item}
        when = parse_formula(ln.when, attributes, kind="condition", **where) if ln.when is not None else None
        qty = parse_formula(ln.qty, attributes, kind="formula", **where)
        params = tuple(
            (
                attr,
                parse_formula(
                    text, attributes, kind="param", target=_target(modules, code, ln, attr, text), **where
                ),
            )
            for attr, text in ln.params
        )
        refs = set(qty.refs)
        if when is not None:
            refs.update(when.refs)
        for _, f in params:
            refs.update(f.refs)
        refs.update(placeholders(ln.item))  # a variant part is chosen by these values
        scrap = 1 + ln.scrap_pct.scaleb(-2) if ln.scrap_pct else None
        compiled_lines.append(
            CompiledLine(ln, when, qty, params, tuple(sorted(refs)), scrap, f"{ln.pos:04d}")
        )
    compiled_ops = []
    for op in sorted(operations, key=lambda o: o.op):
        at: dict[str, Any] = {"owner": code, "pos": op.op, "item": op.work_center}
        op_when = parse_formula(op.when, attributes, kind="condition", **at) if op.when is not None else None
        setup = parse_formula(op.setup_min, attributes, kind="formula", **at)
        run = parse_formula(op.run_min, attributes, kind="formula", **at)
        refs = set(setup.refs) | set(run.refs) | (set(op_when.refs) if op_when else set())
        compiled_ops.append(CompiledOperation(op, op_when, setup, run, tuple(sorted(refs))))
    return CompiledOwner(
        code,
        attributes,
        tuple(compiled_lines),
        tuple(compiled_ops),
        frozenset(o.op for o in operations),
    )


def _target(modules: Mapping[str, Module], owner: str, line: BomLine, attr: str, text: str) -> Attribute:
    """The module attribute a ``params`` entry sets (an error when the item has no such attribute)."""
    module = modules.get(line.item)
    if module is None or not module.configurable:
        problem = f"{line.item} is not a configurable module; params cannot be passed"
        raise BomFormulaError(owner, line.pos, line.item, text, problem)
    for a in module.attributes:
        if a.code == attr:
            return a
    known = ", ".join(a.code for a in module.attributes)
    problem = f"module {module.code} has no attribute {attr!r} (it has {known})"
    raise BomFormulaError(owner, line.pos, line.item, text, problem)


def condition_holds(formula: Formula, env: Env, *, owner: str, pos: int, item: str) -> bool:
    """Evaluate a ``when`` condition; anything but true/false is an error."""
    try:
        value = evaluate(formula.expr, env)
    except (EvaluationError, KeyError) as exc:
        raise BomFormulaError(owner, pos, item, formula.text, _problem(exc)) from exc
    if not isinstance(value, bool):
        raise BomFormulaError(owner, pos, item, formula.text, f"condition gave {value!r}, not true/false")
    return value


def number(formula: Formula, env: Env, *, owner: str, pos: int, item: str, what: str) -> int | Fraction:
    """Evaluate a quantity or time formula to a non-negative exact number (an int when integral)."""
    if formula.constant is not None:
        value: Any = formula.constant
    else:
        try:
            value = evaluate(formula.expr, env)
        except (EvaluationError, KeyError) as exc:
            raise BomFormulaError(owner, pos, item, formula.text, _problem(exc)) from exc
    if isinstance(value, bool) or not isinstance(value, int | Fraction):
        raise BomFormulaError(owner, pos, item, formula.text, f"{what} gave {value!r}, not a number")
    if value < 0:
        raise BomFormulaError(owner, pos, item, formula.text, f"{what} is negative ({value})")
    if isinstance(value, Fraction) and value.denominator == 1:
        return int(value)
    return value


def value_of(formula: Formula, env: Env, *, owner: str, pos: int, item: str) -> Any:
    """Evaluate a module parameter expression (any value type)."""
    try:
        return evaluate(formula.expr, env)
    except (EvaluationError, KeyError) as exc:
        raise BomFormulaError(owner, pos, item, formula.text, _problem(exc)) from exc


def _problem(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"attribute {exc.args[0]!r} has no value here"
    return str(exc)
