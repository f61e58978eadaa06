"""Semantic diff of two versions of a catalog: what a new version does to the space of products.

For each product in both versions A and B this counts, exactly and without
listing configurations, how many valid configurations exist only in A, only
in B and in both, shows one example of each side with the rules or values
that make the difference, and prices a sample of the configurations in both
to find the largest price changes.

**Comparing configurations across versions.** A configuration is a value
for every attribute. When both versions have the same attributes, the two
spaces are compared as they are. An attribute that only one version has is
given, in the other version's configurations, the value that version's
products are built with: the attribute's default (for a set, its default
elements; without a default, its first value). Adding an optional
``gift_wrap`` attribute with default ``false`` therefore leaves every old
configuration in both versions (as ``gift_wrap=false``) and adds the new
ones with ``gift_wrap=true`` to B only. Elements added to or removed from a
set attribute are "not included" on the side that lacks them.

**Counting.** ``|A|`` and ``|B|`` are counted on each version's own compiled
model. ``|A ∩ B|`` is the count of one model holding both rule sets over the
merged variables: the domains of shared variables intersected, variables of
one side fixed to the value above, both versions' constraints (auxiliary
variables of large rules renamed per side). Then ``only A = |A| - |A ∩ B|``
and ``only B = |B| - |A ∩ B|``. Any backend counts these models
(``configurator.backends.select.make_backend``), so large models use the
same decision diagram or fallback as the storefront.

**Examples.** A configuration only in A must break something of B: a value B
no longer offers, an attribute B dropped, or one of B's rules that is new or
changed (a rule identical in both versions cannot exclude a configuration of
A). Each candidate is one satisfiability question on A's model plus the
violation; the first solution is the example, and every reason it is not in
B is listed (:func:`reasons_not_in`). Symmetrically for B.

>>> from decimal import Decimal
>>> from catalog.snapshot import Attribute, AttributeKind, Choice, Label, Product, Rule
>>> frame = Attribute("frame", AttributeKind.ENUM, Label("Frame"),
...                   choices=(Choice("steel", Label("Steel")), Choice("carbon", Label("Carbon"))))
>>> rack = Attribute("rack", AttributeKind.BOOL, Label("Rack"))
>>> a = Product("bike", Label("Bike"), Decimal("100"), (frame, rack))
>>> b = Product("bike", Label("Bike"), Decimal("100"), (frame, rack),
...             rules=(Rule("carbon-no-rack", Label("No rack on carbon"), text="frame == carbon -> not rack"),))
>>> d = diff_products(a, b, backend="sat")
>>> (d.count_a, d.count_b, d.both, d.only_a, d.only_b)
(4, 3, 3, 1, 0)
>>> d.example_only_a.configuration, d.example_only_a.reasons
((('frame', 'carbon'), ('rack', True)), ('breaks rule carbon-no-rack of B',))
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from catalog.snapshot import Attribute, AttributeKind, Catalog, Product, Value
from configurator.backends.base import Backend
from configurator.backends.select import make_backend
from configurator.build import build_model
from configurator.checks import conflict_rules
from configurator.decisions import AttributeValue, Decision, format_value
from configurator.engine import Configurator
from configurator.errors import ConfiguratorError
from configurator.model import Constraint, Model, Restriction, Variable
from configurator.pricing import PriceRuleError, price

__all__ = [
    "CatalogDiff",
    "Example",
    "PriceChange",
    "ProductDiff",
    "diff_catalogs",
    "diff_products",
    "embed",
    "reasons_not_in",
]

Configuration = tuple[tuple[str, AttributeValue], ...]

PRICE_SAMPLE = 60
"""Configurations in both versions priced to find the largest price changes."""
PRICE_CHANGES_SHOWN = 5


@dataclass(frozen=True, slots=True)
class Example:
    """A configuration of one side that the other does not have, and why (``reasons``)."""

    configuration: Configuration
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PriceChange:
    """A configuration in both versions whose price differs; ``lines`` names the price lines that changed."""

    configuration: Configuration
    before: Decimal
    after: Decimal
    lines: tuple[str, ...]

    @property
    def delta(self) -> Decimal:
        return self.after - self.before


@dataclass(frozen=True, slots=True)
class ProductDiff:
    """The difference between the valid configurations of one product in versions A and B.

    ``status`` is ``added`` (only in B), ``removed`` (only in A), ``same``
    (identical definitions) or ``changed``. Counts are ``None`` when they
    could not be computed; ``error`` says what could not be computed (the
    counts, or only the examples and prices).
    """

    product: str
    status: str
    count_a: int | None
    count_b: int | None
    both: int | None
    attributes_added: tuple[str, ...] = ()
    attributes_removed: tuple[str, ...] = ()
    rules_changed: tuple[str, ...] = ()
    example_only_a: Example | None = None
    example_only_b: Example | None = None
    price_changes: tuple[PriceChange, ...] = ()
    priced: int = 0
    """How many configurations in both were priced for ``price_changes``."""
    error: str | None = None

    @property
    def only_a(self) -> int | None:
        if self.count_a is None:
            return None
        return self.count_a - (self.both or 0)

    @property
    def only_b(self) -> int | None:
        if self.count_b is None:
            return None
        return self.count_b - (self.both or 0)


@dataclass(frozen=True, slots=True)
class CatalogDiff:
    """The semantic diff of two versions of a catalog, product by product (B's order, then removed ones)."""

    catalog: str
    products: tuple[ProductDiff, ...]


# --------------------------------------------------------------------------- embedding


def fill_value(attribute: Attribute) -> AttributeValue:
    """The value a version without ``attribute`` gives it: the default, else the first value.

    >>> from catalog.snapshot import Label
    >>> fill_value(Attribute("rack", AttributeKind.BOOL, Label("Rack")))
    False
    >>> fill_value(Attribute("n", AttributeKind.INT, Label("n"), minimum=2, maximum=8, default=4))
    4
    """
    if attribute.kind is AttributeKind.SET:
        return frozenset(attribute.default_set or ())
    if attribute.default is not None:
        return attribute.default
    return attribute.domain()[0]


def embed(
    configuration: Mapping[str, AttributeValue], source: Product, target: Product
) -> dict[str, AttributeValue]:
    """A configuration of ``source`` as ``target`` sees it: attributes ``target`` lacks dropped,
    attributes only ``target`` has set to their :func:`fill_value`."""
    out: dict[str, AttributeValue] = {}
    for attribute in target.attributes:
        if attribute.code in configuration:
            out[attribute.code] = configuration[attribute.code]
        else:
            out[attribute.code] = fill_value(attribute)
    return out


def reasons_not_in(
    configuration: Mapping[str, AttributeValue],
    source: Product,
    target: Product,
    target_conf: Configurator,
    target_name: str = "the new version",
) -> tuple[str, ...]:
    """Why a full configuration of ``source`` is not a valid configuration of ``target``; ``()`` when it is.

    Reasons: an attribute ``target`` dropped whose value is not the one
    ``target`` builds with, a value ``target`` does not offer, a rule of
    ``target`` it breaks.
    """
    reasons: list[str] = []
    target_codes = {a.code for a in target.attributes}
    for attribute in source.attributes:
        if attribute.code in target_codes or attribute.code not in configuration:
            continue
        fill = fill_value(attribute)
        if configuration[attribute.code] != fill:
            reasons.append(
                f"{target_name} has no attribute {attribute.code} (its products are built as "
                f"{attribute.code}={_shown(fill)}, not {_shown(configuration[attribute.code])})"
            )
    embedded = embed(configuration, source, target)
    for attribute in target.attributes:
        value = embedded[attribute.code]
        if attribute.kind is AttributeKind.SET:
            assert isinstance(value, frozenset)
            unknown = sorted(value - {c.code for c in attribute.choices})
            if unknown:
                reasons.append(f"{attribute.code}: {', '.join(unknown)} not offered in {target_name}")
        elif value not in attribute.domain():
            reasons.append(f"{attribute.code}={_shown(value)} not offered in {target_name}")
    if reasons:
        return tuple(reasons)
    for violation in target_conf.validate(embedded):
        kind = violation.rule_id.rsplit(":", 1)[-1]
        if kind in ("missing", "unknown", "domain") and ":" in violation.rule_id:
            reasons.append(violation.message.en)
        else:
            reasons.append(f"breaks rule {violation.rule_id} of {target_name}")
    if not reasons:
        # ``validate`` checks constraint by constraint; a rule split into auxiliary variables
        # can escape it. The compiled model decides: no solution means the configuration is out.
        decisions = [Decision(code, value) for code, value in embedded.items()]
        if target_conf.count(decisions) == 0:
            rules = conflict_rules(target_conf, decisions)
            if rules:
                reasons.extend(f"breaks rule {r} of {target_name}" for r in rules)
            else:
                reasons.append(f"not a valid configuration of {target_name}")
    return tuple(reasons)


def _shown(value: AttributeValue) -> str:
    if isinstance(value, frozenset):
        return "{" + ", ".join(sorted(value)) + "}"
    return format_value(value)


# --------------------------------------------------------------------------- models


def _model_of(product: Product, tag: str) -> Model:
    content = repr((product.attributes, product.rules, product.bom, product.modules))
    return build_model(
        product, key=f"diff:{tag}:{product.code}#{hashlib.sha256(content.encode()).hexdigest()[:20]}"
    )


def _fill_of_variable(variable: Variable, owner: Product, other: Product) -> Value:
    """The value a variable of ``owner`` takes in configurations of ``other`` that lack it."""
    attribute = owner.attribute(variable.attribute)
    if variable.element is not None:
        if any(a.code == attribute.code for a in other.attributes):
            return False  # an element the other version's set does not have: not included
        fill = fill_value(attribute)
        assert isinstance(fill, frozenset)
        return variable.element in fill
    value = fill_value(attribute)
    assert not isinstance(value, frozenset)
    return value


def _renamed(model: Model, tag: str) -> tuple[list[Variable], list[Constraint]]:
    """``model``'s auxiliary variables renamed per side (they would collide); constraints re-scoped."""
    aux = {v.name: f"{tag}|{v.name}" for v in model.variables if v.auxiliary}
    variables = [dataclasses.replace(v, name=aux[v.name]) if v.name in aux else v for v in model.variables]
    constraints = [
        dataclasses.replace(c, rule_id=f"{tag}:{c.rule_id}", scope=tuple(aux.get(n, n) for n in c.scope))
        for c in model.constraints
    ]
    return variables, constraints


def _both_model(a: Product, model_a: Model, b: Product, model_b: Model) -> Model:
    """One model whose solutions are exactly the configurations in both versions."""
    vars_a, cons_a = _renamed(model_a, "A")
    vars_b, cons_b = _renamed(model_b, "B")
    by_name_b = {v.name: v for v in vars_b}
    names_a = {v.name for v in vars_a}
    variables: list[Variable] = []
    for v in vars_a:
        if v.auxiliary:
            variables.append(v)
        elif v.name in by_name_b:
            other = by_name_b[v.name].domain
            variables.append(dataclasses.replace(v, domain=tuple(x for x in v.domain if x in other)))
        else:
            fill = _fill_of_variable(v, a, b)
            variables.append(dataclasses.replace(v, domain=tuple(x for x in v.domain if x == fill)))
    for v in vars_b:
        if v.name in names_a:
            continue
        if v.auxiliary:
            variables.append(v)
        else:
            fill = _fill_of_variable(v, b, a)
            variables.append(dataclasses.replace(v, domain=tuple(x for x in v.domain if x == fill)))
    elements: dict[str, tuple[str, ...]] = {}
    for source in (model_a.set_elements, model_b.set_elements):
        for code, names in source.items():
            elements[code] = tuple(dict.fromkeys((*elements.get(code, ()), *names)))
    return Model(
        f"diff:both:{model_a.key}:{model_b.key}",
        tuple(variables),
        (*cons_a, *cons_b),
        elements,
    )


def _embedded_model(own: Product, model: Model, other: Product, other_model: Model) -> Model:
    """``own``'s model with the other version's extra variables fixed as ``own``'s configurations have them."""
    names = {v.name for v in model.variables}
    extra = [
        Variable(v.name, (_fill_of_variable(v, other, own),), v.attribute, v.element)
        for v in other_model.variables
        if not v.auxiliary and v.name not in names
    ]
    if not extra:
        return model
    return dataclasses.replace(model, key=f"{model.key}#embedded", variables=(*model.variables, *extra))


def _negation(rule_id: str, constraints: Sequence[Constraint]) -> Constraint:
    """One constraint over the rule's scope: not every constraint of the rule holds."""
    scope = tuple(dict.fromkeys(n for c in constraints for n in c.scope))
    slices = [tuple(scope.index(n) for n in c.scope) for c in constraints]

    def predicate(*values: Value) -> bool:
        return not all(c.predicate(*(values[i] for i in s)) for c, s in zip(constraints, slices, strict=True))

    return Constraint(f"diff:not:{rule_id}", scope, predicate)


def _configuration(model: Model, solution: Mapping[str, Value], product: Product) -> Configuration:
    out: dict[str, AttributeValue] = {}
    for attribute in product.attributes:
        names = model.set_elements.get(attribute.code)
        if attribute.kind is AttributeKind.SET and names:
            out[attribute.code] = frozenset(
                model.variable(n).element or "" for n in names if solution.get(n) is True
            )
        elif attribute.code in solution:
            out[attribute.code] = solution[attribute.code]
    return tuple(out.items())


# --------------------------------------------------------------------------- examples


def _changed_rules(own: Product, other: Product) -> list[str]:
    """Rules of ``other`` that ``own`` does not have identically (only those can exclude ``own``'s configurations)."""
    mine = {r.id: r for r in own.rules}
    return [r.id for r in other.rules if mine.get(r.id) != r]


def _queries(
    own: Product, model: Model, other: Product, other_model: Model
) -> tuple[list[tuple[Restriction, Constraint | None]], bool]:
    """Satisfiability questions whose solutions are configurations of ``own`` that ``other`` lacks,
    and whether a changed rule of ``other`` was split into auxiliaries (then not among them)."""
    other_vars = {v.name: v for v in other_model.variables if not v.auxiliary}
    other_codes = {a.code for a in other.attributes}
    queries: list[tuple[Restriction, Constraint | None]] = []
    for v in model.variables:
        if v.auxiliary:
            continue
        if v.name in other_vars:
            gone = frozenset(x for x in v.domain if x not in other_vars[v.name].domain)
        elif v.attribute not in other_codes or v.element is not None:
            fill = _fill_of_variable(v, own, other)
            gone = frozenset(x for x in v.domain if x != fill)
        else:
            continue
        if gone:
            queries.append(({v.name: gone}, None))
    aux = {v.name for v in other_model.variables if v.auxiliary}
    names = {v.name for v in model.variables}
    shared = {
        v.name: frozenset(x for x in v.domain if x in other_vars[v.name].domain)
        for v in model.variables
        if v.name in other_vars
    }
    split = False
    for rule_id in _changed_rules(own, other):
        constraints = [c for c in other_model.constraints if c.rule_id == rule_id]
        if any(n in aux for c in constraints for n in c.scope):
            split = True
            continue
        if not constraints or any(n not in names for c in constraints for n in c.scope):
            continue
        queries.append((shared, _negation(rule_id, constraints)))
    return queries, split


def _example(
    own: Product,
    own_model: Model,
    other: Product,
    other_model: Model,
    other_conf: Configurator,
    backend: str,
    other_name: str,
) -> Example | None:
    """A configuration of ``own`` that ``other`` does not have (see the module docstring)."""
    model = _embedded_model(own, own_model, other, other_model)
    prefer = "sat" if backend == "auto" else backend
    queries, split = _queries(own, model, other, other_model)

    def tried(solution: Mapping[str, Value] | None) -> Example | None:
        if solution is None:
            return None
        configuration = _configuration(model, solution, own)
        reasons = reasons_not_in(dict(configuration), own, other, other_conf, other_name)
        return Example(configuration, reasons) if reasons else None

    for restrict, extra in queries:
        query = model
        if extra is not None:
            query = dataclasses.replace(
                model,
                key=f"{model.key}#{extra.rule_id}#{other_model.key}",
                constraints=(*model.constraints, extra),
            )
        found = tried(make_backend(query, prefer=prefer).solve(restrict))
        if found is not None:
            return found
    if not split:
        return None
    # A rule split into auxiliaries cannot be negated as one constraint: look among a
    # sample of configurations of ``own`` (one per value of each variable) instead.
    sampler = make_backend(model, prefer=prefer)
    for v in model.variables:
        for value in () if v.auxiliary else v.domain:
            found = tried(sampler.solve({v.name: frozenset({value})}))
            if found is not None:
                return found
    return None


# --------------------------------------------------------------------------- prices


def _price_changes(
    a: Product,
    b: Product,
    both: Model,
    backend: Backend,
    currency_a: str,
    currency_b: str,
) -> tuple[tuple[PriceChange, ...], int]:
    """Price a sample of configurations in both versions; the largest differences first."""
    samples: dict[Configuration, None] = {}
    base = backend.solve({})
    if base is None:
        return (), 0
    samples[_configuration(both, base, b)] = None
    for v in both.variables:
        if v.auxiliary or len(samples) >= PRICE_SAMPLE:
            continue
        for value in v.domain:
            if len(samples) >= PRICE_SAMPLE:
                break
            solution = backend.solve({v.name: frozenset({value})})
            if solution is not None:
                samples[_configuration(both, solution, b)] = None
    changes: list[PriceChange] = []
    for configuration in samples:
        values = dict(configuration)
        try:
            before = price(a, {k: x for k, x in embed(values, b, a).items()}, currency=currency_a)
            after = price(b, values, currency=currency_b)
        except (PriceRuleError, ConfiguratorError):
            continue
        if before.total == after.total:
            continue
        old = {line.rule_id: line.amount for line in before.lines}
        new = {line.rule_id: line.amount for line in after.lines}
        lines = [f"base {before.base} -> {after.base}"] if before.base != after.base else []
        for rule_id in dict.fromkeys((*old, *new)):
            if old.get(rule_id) != new.get(rule_id):
                lines.append(f"{rule_id} {old.get(rule_id, '-')} -> {new.get(rule_id, '-')}")
        changes.append(PriceChange(configuration, before.total, after.total, tuple(lines)))
    changes.sort(key=lambda c: (-abs(c.delta), c.configuration))
    return tuple(changes[:PRICE_CHANGES_SHOWN]), len(samples)


# --------------------------------------------------------------------------- diff


def _count(model: Model, backend: str) -> tuple[Backend, int]:
    built = make_backend(model, prefer=backend)
    return built, built.count({})


def _settled(requested: str, built: Backend) -> str:
    """The backend to ask for next: "auto" stays "auto" while the decision diagram holds the models,
    otherwise the backend "auto" fell back to."""
    if requested != "auto" or built.name == "mdd":
        return requested
    return built.name


def diff_products(
    a: Product,
    b: Product,
    *,
    backend: str = "auto",
    currency_a: str = "CNY",
    currency_b: str = "CNY",
    names: tuple[str, str] = ("A", "B"),
) -> ProductDiff:
    """The semantic difference of one product between versions A and B (see the module docstring).

    ``names`` are how reasons name the two versions (``breaks rule r of B``).
    """
    codes_a = [x.code for x in a.attributes]
    codes_b = [x.code for x in b.attributes]
    added = tuple(c for c in codes_b if c not in codes_a)
    removed = tuple(c for c in codes_a if c not in codes_b)
    changed_rules = tuple(
        dict.fromkeys(
            [*_changed_rules(a, b), *(r.id for r in a.rules if r.id not in {x.id for x in b.rules})]
        )
    )
    try:
        model_a, model_b = _model_of(a, "A"), _model_of(b, "B")
        requested = backend
        backend_a, count_a = _count(model_a, backend)
        # "auto" tries backends in order until one holds the model; B and the combined model are
        # of A's kind and size, so they start where A settled instead of repeating the attempts
        # that already failed on A (each can take seconds on a large model).
        backend = _settled(backend, backend_a)
        _backend_b, count_b = _count(model_b, backend)
        if a == b:
            return ProductDiff(a.code, "same", count_a, count_b, count_a)
        both_model = _both_model(a, model_a, b, model_b)
        both_backend, both = _count(both_model, backend)
    except (ConfiguratorError, ValueError) as exc:
        return ProductDiff(
            a.code, "changed", None, None, None, added, removed, changed_rules, error=f"cannot count: {exc}"
        )
    example_a = example_b = None
    prices: tuple[PriceChange, ...] = ()
    priced = 0
    note: str | None = None
    try:
        conf_a = Configurator(a, backend=backend)
        conf_b = Configurator(b, backend=backend)
        if count_a > both:
            example_a = _example(a, model_a, b, model_b, conf_b, requested, names[1])
        if count_b > both:
            example_b = _example(b, model_b, a, model_a, conf_a, requested, names[0])
        if both:
            prices, priced = _price_changes(a, b, both_model, both_backend, currency_a, currency_b)
    except ConfiguratorError as exc:
        # The counts stand; say plainly what could not be shown.
        note = f"examples or prices not computed: {exc}"
    missing = [
        side
        for side, count, ex in (("A", count_a, example_a), ("B", count_b, example_b))
        if count > both and ex is None
    ]
    if missing and note is None:
        note = f"no example found for the configurations only in {' and '.join(missing)} (counts are exact)"
    return ProductDiff(
        a.code,
        "changed",
        count_a,
        count_b,
        both,
        added,
        removed,
        changed_rules,
        example_a,
        example_b,
        prices,
        priced,
        note,
    )


def _alone(product: Product, status: str, backend: str) -> ProductDiff:
    try:
        count = _count(_model_of(product, status), backend)[1]
    except (ConfiguratorError, ValueError) as exc:
        return ProductDiff(product.code, status, None, None, 0, error=f"cannot count: {exc}")
    if status == "added":
        return ProductDiff(product.code, status, 0, count, 0)
    return ProductDiff(product.code, status, count, 0, 0)


def diff_catalogs(
    a: Catalog,
    b: Catalog,
    *,
    backend: str = "auto",
    progress: Callable[[str], None] | None = None,
    names: tuple[str, str] = ("A", "B"),
) -> CatalogDiff:
    """Every product's :class:`ProductDiff`: B's products in order, then those B removed."""
    before = {p.code: p for p in a.products}
    after = {p.code for p in b.products}
    out: list[ProductDiff] = []
    for product in b.products:
        if progress is not None:
            progress(product.code)
        if product.code in before:
            out.append(
                diff_products(
                    before[product.code],
                    product,
                    backend=backend,
                    currency_a=a.currency,
                    currency_b=b.currency,
                    names=names,
                )
            )
        else:
            out.append(_alone(product, "added", backend))
    for product in a.products:
        if product.code not in after:
            if progress is not None:
                progress(product.code)
            out.append(_alone(product, "removed", backend))
    return CatalogDiff(b.code, tuple(out))


def invalid_in(
    configurations: Iterable[tuple[str, Mapping[str, AttributeValue]]],
    a: Product,
    b: Product | None,
    *,
    backend: str = "auto",
) -> list[tuple[str, tuple[str, ...]]]:
    """Which of the (id, full configuration of ``a``) pairs are not valid configurations of ``b``, and why.

    ``b`` is None when the product is gone from the new version.
    """
    if b is None:
        return [(key, ("the product is no longer in the catalog",)) for key, _ in configurations]
    conf_b = Configurator(b, backend=backend)
    out: list[tuple[str, tuple[str, ...]]] = []
    for key, configuration in configurations:
        reasons = reasons_not_in(configuration, a, b, conf_b)
        if reasons:
            out.append((key, reasons))
    return out
