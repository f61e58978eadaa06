"""Catalog checks on the compiled model: what a manufacturer wants to know before publishing.

Each check answers from the product's compiled model and a solver backend,
never by listing configurations:

- **void product** (error): the rules admit no configuration at all
  (``count == 0``);
- **dead values** (warning): values no valid configuration uses, found by
  one ``propagate`` without decisions (global consistency);
- **forced values** (warning): attributes with several values of which every
  valid configuration uses the same one (same ``propagate``);
- **redundant rules** (warning): a rule whose removal leaves the solution set
  unchanged. Removing a rule can only add solutions, so the rule is redundant
  exactly when the other rules imply it: the model of the other rules plus
  the rule's *negation* has no solution (one SAT call per rule);
- **golden tests** (error when failing): the catalog's ``tests``; an accept
  test passes when its decisions extend to a valid configuration, a reject
  test when they do not *and* its expected rule is among the rules of the
  engine's explanation of the conflict;
- **count change** (info): the exact number of configurations against the
  previously published version of the product.

The whole-space BOM checks (requirements such as "exactly one frame", item
existence, non-negative quantities) live in :mod:`bom.checks`, which builds on
:func:`find_configuration` here.

>>> from decimal import Decimal
>>> from catalog.snapshot import Attribute, AttributeKind, Choice, Label, Product, Rule
>>> frame = Attribute("frame", AttributeKind.ENUM, Label("Frame"),
...                   choices=(Choice("steel", Label("Steel")), Choice("carbon", Label("Carbon"))))
>>> rack = Attribute("rack", AttributeKind.BOOL, Label("Rack"))
>>> bike = Product("bike", Label("Bike"), Decimal("1"), (frame, rack), rules=(
...     Rule("steel-only", Label("Steel only"), text="frame == steel"),
...     Rule("carbon-no-rack", Label("No rack on carbon"), text="frame == carbon -> not rack"),
... ))
>>> report = check_product(bike, backend="sat")
>>> report.count
2
>>> [(f.check, f.subject) for f in report.findings]
[('dead_value', 'frame=carbon'), ('forced_value', 'frame=steel'), ('redundant_rule', 'carbon-no-rack')]
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from catalog.snapshot import Attribute, AttributeKind, Product, Rule, SourceLoc, Value
from configurator.backends.base import Backend, satisfiable
from configurator.backends.select import make_backend
from configurator.build import build_model
from configurator.decisions import AnyDecision, AttributeValue, Decision, format_value
from configurator.engine import Configurator, RuleRef
from configurator.errors import ConfiguratorError
from configurator.model import Constraint, Model, Variable


class Severity(StrEnum):
    """How a finding weighs on publishing: errors block it, warnings and infos do not."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


CHECKS = (
    "void_product",
    "dead_value",
    "forced_value",
    "redundant_rule",
    "golden_test",
    "count_change",
    "bom_requirement",
    "bom_item",
    "bom_quantity",
    "product_change",
    "check_failed",
)
"""Every ``Finding.check`` name, in report order."""


MESSAGES: Mapping[str, str] = {
    "check_failed": "the %(check)s check could not run: %(error)s",
    "model_not_compiled": "the model does not compile: %(error)s",
    "void_rules": "%(product)s has no valid configuration: rules %(rules)s contradict each other",
    "void_rule": "%(product)s has no valid configuration: rule %(rule)s holds for no configuration",
    "void_product": "%(product)s has no valid configuration: its rules contradict each other",
    "dead_value": "%(attribute)s: %(values)s can never be chosen (no valid configuration uses it)",
    "dead_values": "%(attribute)s: %(values)s can never be chosen (no valid configuration uses them)",
    "forced_value": "%(attribute)s is always %(value)s: the rules force it in every configuration",
    "dead_element": "%(attribute)s: %(element)s can never be included",
    "forced_element": "%(attribute)s: %(element)s is included in every configuration",
    "redundancy_not_checked": "rule %(rule)s: redundancy not checked (its constraints span %(combinations)s value "
    "combinations, more than %(limit)s)",
    "redundant_rule": "rule %(rule)s is redundant: the other rules already imply it, so removing it changes no "
    "configuration",
    "test_cannot_run": "test %(test)s FAILED: cannot run: %(error)s",
    "test_accepted": "test %(test)s passed: accepted as expected (%(decisions)s)",
    "test_not_accepted": "test %(test)s FAILED: expected accept, but %(decisions)s has no valid configuration",
    "test_not_accepted_rules": "test %(test)s FAILED: expected accept, but %(decisions)s has no valid "
    "configuration (rules: %(rules)s)",
    "test_not_rejected": "test %(test)s FAILED: expected reject, but %(decisions)s is accepted",
    "test_rejected": "test %(test)s passed: rejected as expected by %(rules)s",
    "test_rejected_no_rule": "test %(test)s passed: rejected as expected by (no rule)",
    "test_rejected_other_rule": "test %(test)s FAILED: rejected, but by %(rules)s instead of the expected rule "
    "%(expected)s",
    "test_rejected_no_rule_expected": "test %(test)s FAILED: rejected, but by (no rule) instead of the expected "
    "rule %(expected)s",
    "count_change": "configurations: %(before)s -> %(after)s (%(delta)s)",
    "count_change_percent": "configurations: %(before)s -> %(after)s (%(delta)s, %(percent)s)",
    "requirement_error": "requirement %(requirement)s (%(bounds)s): %(error)s",
    "requirement_holds": "requirement %(requirement)s (%(bounds)s) holds for every valid configuration",
    "requirement_broken_line": "requirement %(requirement)s (%(bounds)s) is broken: %(configuration)s selects "
    "%(count)s line (%(lines)s)",
    "requirement_broken_lines": "requirement %(requirement)s (%(bounds)s) is broken: %(configuration)s selects "
    "%(count)s lines (%(lines)s)",
    "unknown_item": "%(owner)s line %(pos)s: unknown part or module %(item)s",
    "quantity_negative": "%(owner)s line %(pos)s (%(item)s) quantity %(qty)s is negative",
    "quantity_bad": "%(owner)s line %(pos)s (%(item)s) quantity %(qty)s is negative or cannot be computed for "
    "%(configuration)s",
    "quantity_bad_module": "%(owner)s line %(pos)s (%(item)s) quantity %(qty)s is negative or cannot be computed "
    "for %(configuration)s (over the module's own attribute space)",
    "product_new": "product %(product)s is new",
    "product_removed": "product %(product)s is removed",
    "model_error": "%(product)s: %(error)s",
    "variant_unknown_names": "%(owner)s line %(pos)s: variant code %(item)s names %(names)s, not an attribute of "
    "%(owner)s",
    "variant_set_attribute": "%(owner)s line %(pos)s: variant code %(item)s names a set attribute; only single "
    "values make a code",
    "variant_missing": "%(owner)s line %(pos)s: variant code %(item)s resolves to %(code)s, which is not a part or "
    "module of the catalog, for %(configuration)s",
    "variant_missing_module": "%(owner)s line %(pos)s: variant code %(item)s resolves to %(code)s, which is not a "
    "part or module of the catalog, for %(configuration)s (over the module's own attribute space)",
    "param_invalid": "%(owner)s line %(pos)s (%(item)s) parameter %(param)s = %(text)s: %(error)s",
    "param_outside": "%(owner)s line %(pos)s (%(item)s) parameter %(param)s = %(text)s gives %(value)s, outside "
    "%(module)s.%(attribute)s (%(domain)s), for %(configuration)s",
    "param_outside_module": "%(owner)s line %(pos)s (%(item)s) parameter %(param)s = %(text)s gives %(value)s, "
    "outside %(module)s.%(attribute)s (%(domain)s), for %(configuration)s (over the module's own attribute space)",
    "param_no_value": "%(owner)s line %(pos)s (%(item)s) parameter %(param)s = %(text)s gives no value "
    "(%(error)s), for %(configuration)s",
    "param_no_value_module": "%(owner)s line %(pos)s (%(item)s) parameter %(param)s = %(text)s gives no value "
    "(%(error)s), for %(configuration)s (over the module's own attribute space)",
    "derived_invalid": "derived attribute %(attribute)s: %(error)s",
    "derived_formula_outside": "derived attribute %(attribute)s: the formula gives %(value)s, outside its values "
    "(%(domain)s), for %(configuration)s",
    "derived_table_outside": "derived attribute %(attribute)s: the lookup table gives %(value)s, outside its "
    "values (%(domain)s), for %(configuration)s",
    "derived_table_no_row": "derived attribute %(attribute)s: the lookup table has no row for %(keys)s, for "
    "%(configuration)s",
    "derived_no_value": "derived attribute %(attribute)s cannot be computed, for %(configuration)s",
    "lookup_no_row": "%(owner)s: %(error)s, for %(configuration)s",
}
"""Every finding message by message id, in English, with ``%(name)s`` parameters. A finding carries
its ``msgid`` and ``params`` so a user interface can show it in the reader's language; ``message`` is
this English text filled in (the command line and the JSON reports print it)."""


def say(msgid: str, **params: object) -> dict[str, Any]:
    """``message``, ``msgid`` and ``params`` of a :class:`Finding`, from :data:`MESSAGES`.

    >>> say("product_new", product="bike")["message"]
    'product bike is new'
    """
    shown = {k: str(v) for k, v in params.items()}
    return {"message": MESSAGES[msgid] % shown, "msgid": msgid, "params": tuple(sorted(shown.items()))}


@dataclass(frozen=True, slots=True)
class Finding:
    """One result of a catalog check.

    ``subject`` names what it is about (``attribute=value``, a rule id, a test
    id, a requirement id); ``message`` says it in English for the report;
    ``configuration`` is a counter-example or witness configuration when the
    check found one (attribute code, value pairs in product order); ``rules``
    the rule ids involved.
    """

    check: str
    severity: Severity
    product: str
    subject: str
    message: str
    configuration: tuple[tuple[str, AttributeValue], ...] = ()
    rules: tuple[str, ...] = ()
    loc: SourceLoc | None = field(default=None, compare=False)
    msgid: str = field(default="", compare=False)
    """The message's id in :data:`MESSAGES` (empty for messages worded elsewhere, e.g. the BOM checks)."""
    params: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    """The message's parameters, as text, by name."""


@dataclass(frozen=True, slots=True)
class ProductReport:
    """The checks of one product: its configuration count, findings and the seconds each check took."""

    product: str
    count: int
    previous_count: int | None
    findings: tuple[Finding, ...]
    timings: tuple[tuple[str, float], ...]

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)


@dataclass(frozen=True, slots=True)
class CatalogReport:
    """The checks of a whole catalog; ``publishable`` when no finding is an error."""

    catalog: str
    products: tuple[ProductReport, ...]
    findings: tuple[Finding, ...] = ()
    """Catalog-level findings (products added or removed against the previous version)."""

    def all_findings(self) -> tuple[Finding, ...]:
        return (*self.findings, *(f for p in self.products for f in p.findings))

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.all_findings() if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.all_findings() if f.severity is Severity.WARNING)

    @property
    def publishable(self) -> bool:
        return not self.errors

    def seconds(self) -> float:
        """Total time the checks took."""
        return sum(s for p in self.products for _, s in p.timings)


SELECTOR_TABLE_LIMIT = 1_000_000
"""Largest number of value combinations a rule's selector constraint may span in the redundancy check
(the SAT backend tabulates each constraint; it refuses tables beyond its own limit)."""


REDUNDANCY_BUDGET_S = 60.0
"""Seconds the redundancy check may spend on one product's satisfiability questions (one per rule);
the rules left when it runs out are reported in one ``check_failed`` warning, never skipped silently."""


# --------------------------------------------------------------------------- helpers


def configuration_of(model: Model, solution: Mapping[str, Value]) -> tuple[tuple[str, AttributeValue], ...]:
    """A backend solution (solver variables) as attribute values, sets rebuilt as frozensets.

    >>> from configurator.model import Variable
    >>> m = Model("k", (Variable("rack", (False, True), "rack"),
    ...                 Variable("extras[bell]", (False, True), "extras", element="bell")), (),
    ...           {"extras": ("extras[bell]",)})
    >>> configuration_of(m, {"rack": True, "extras[bell]": True})
    (('rack', True), ('extras', frozenset({'bell'})))
    """
    out: dict[str, AttributeValue] = {}
    for variable in model.variables:
        if variable.element is None:
            out[variable.attribute] = solution[variable.name]
        else:
            chosen = out.get(variable.attribute, frozenset())
            assert isinstance(chosen, frozenset)
            out[variable.attribute] = (
                chosen | {variable.element} if solution[variable.name] is True else chosen
            )
    return tuple(out.items())


def format_configuration(configuration: Iterable[tuple[str, AttributeValue]]) -> str:
    """``a=x, b=y`` for reports.

    >>> format_configuration([("frame", "steel"), ("extras", frozenset({"bell", "lock"}))])
    'frame=steel, extras={bell, lock}'
    """
    return ", ".join(f"{code}={_shown(value)}" for code, value in configuration)


def _shown(value: AttributeValue) -> str:
    if isinstance(value, frozenset):
        return "{" + ", ".join(sorted(value)) + "}"
    return format_value(value)


def _variables_of(model: Model, attribute: str) -> tuple[str, ...]:
    return model.set_elements.get(attribute) or (attribute,)


def find_configuration(
    product: Product,
    *,
    extra_rules: Sequence[Rule] = (),
    condition: Callable[[Mapping[str, object]], bool] | None = None,
    attributes: Sequence[str] = (),
    backend: str = "auto",
    key: str = "",
) -> tuple[tuple[str, AttributeValue], ...] | None:
    """A valid configuration of ``product`` that also satisfies ``extra_rules`` and ``condition``, or ``None``.

    This is how whole-space properties are proven: write the *violation* as
    an extra rule (compiled with the product through ``build_model`` on a
    copy made with ``dataclasses.replace``) or as a Python ``condition`` over
    the values of ``attributes`` (for what the rule language cannot say as a
    rule, such as a formula with decimals); a solution is a counter-example,
    ``None`` proves the property for every valid configuration. ``key``
    names the condition (e.g. the formula text) so that a backend's model
    cache never confuses two conditions; without it a condition's model is
    never reused.

    >>> from decimal import Decimal
    >>> from catalog.snapshot import Attribute, AttributeKind, Label, Product, Rule
    >>> gears = Attribute("gears", AttributeKind.INT, Label("Gears"), minimum=1, maximum=12)
    >>> p = Product("p", Label("P"), Decimal("1"), (gears,), rules=(Rule("few", Label("few"), text="gears <= 8"),))
    >>> find_configuration(p, extra_rules=[Rule("x", Label("x"), text="gears > 8")], backend="sat") is None
    True
    >>> find_configuration(p, condition=lambda env: env["gears"] * 2 == 14, attributes=["gears"], backend="sat")
    (('gears', 7),)
    """
    copy = dataclasses.replace(product, rules=(*product.rules, *extra_rules)) if extra_rules else product
    # Backends may cache compiled models by key: the key must name this exact
    # content (the product as compiled, the extra rules, the condition's
    # identity), or a later check would be answered from another model.
    token = key or (uuid.uuid4().hex if condition is not None else "")
    content = repr((copy.attributes, copy.rules, copy.bom, copy.modules, token))
    model = build_model(copy, key=f"check:{product.code}#{hashlib.sha256(content.encode()).hexdigest()[:20]}")
    if condition is not None:
        model = dataclasses.replace(
            model,
            constraints=(*model.constraints, _condition_constraint(product, model, condition, attributes)),
        )
    # One satisfiability question per model: SAT answers it without the
    # decision diagram's compilation (and without filling its cache).
    solution = make_backend(model, prefer="sat" if backend == "auto" else backend).solve({})
    return None if solution is None else configuration_of(model, solution)


def _condition_constraint(
    product: Product,
    model: Model,
    condition: Callable[[Mapping[str, object]], bool],
    attributes: Sequence[str],
) -> Constraint:
    readers: list[tuple[str, int, tuple[str, ...] | None]] = []
    scope: list[str] = []
    for code in dict.fromkeys(attributes):
        attribute = product.attribute(code)
        names = _variables_of(model, code)
        elements = tuple(c.code for c in attribute.choices) if attribute.kind is AttributeKind.SET else None
        readers.append((code, len(scope), elements))
        scope.extend(names)

    def predicate(*values: Value) -> bool:
        env: dict[str, object] = {}
        for code, start, elements in readers:
            if elements is None:
                env[code] = values[start]
            else:
                picked = values[start : start + len(elements)]
                env[code] = frozenset(e for e, on in zip(elements, picked, strict=True) if on)
        return condition(env)

    return Constraint("check:condition", tuple(scope), predicate)


# --------------------------------------------------------------------------- the checks


def check_product(
    product: Product,
    *,
    previous: Product | None = None,
    backend: str = "auto",
    catalog_key: str = "",
) -> ProductReport:
    """Run every model check on ``product`` (see the module docstring).

    ``previous`` is the same product in the last published version, for the
    count change. A product whose rules do not compile gets one
    ``check_failed`` error instead of the other checks.
    """
    timings: list[tuple[str, float]] = []
    findings: list[Finding] = []

    def timed(name: str, run: Callable[[], Iterable[Finding]]) -> None:
        start = time.perf_counter()
        try:
            findings.extend(run())
        except ConfiguratorError as exc:
            # A check the solver cannot answer (a search or table limit) is reported, never
            # passed silently; it does not block publishing, the checks that ran still count.
            findings.append(
                Finding(
                    "check_failed",
                    Severity.WARNING,
                    product.code,
                    name,
                    **say("check_failed", check=name.replace("_", " "), error=exc),
                    loc=product.loc,
                )
            )
        timings.append((name, time.perf_counter() - start))

    start = time.perf_counter()
    try:
        conf = Configurator(product, catalog_key=catalog_key, backend=backend)
    except ConfiguratorError as exc:
        failed = Finding(
            "check_failed", Severity.ERROR, product.code, product.code, **say("model_not_compiled", error=exc)
        )
        return ProductReport(product.code, 0, None, (failed,), (("compile", time.perf_counter() - start),))
    count = conf.backend.count({})
    timings.append(("compile+count", time.perf_counter() - start))
    if count == 0:
        core = tuple(r.rule_id for r in _void_core(conf))
        declared = {r.id: r for r in product.rules}
        # Point at the first rule of the conflict: that is the line to look at.
        where = next((declared[i].loc for i in core if i in declared and declared[i].loc), product.loc)
        findings.append(
            Finding(
                "void_product",
                Severity.ERROR,
                product.code,
                product.code,
                **(
                    say("void_rules", product=product.code, rules=", ".join(core))
                    if len(core) > 1
                    else say("void_rule", product=product.code, rule=core[0])
                    if core
                    else say("void_product", product=product.code)
                ),
                rules=core,
                loc=where,
            )
        )
    else:
        timed("values", lambda: values_findings(product, conf.model, conf.backend))
        timed("redundant_rules", lambda: redundant_rules(product, conf.model))
        timed("golden_tests", lambda: golden_tests(product, conf))
        from configurator.lookups import lookup_findings  # it builds on this module's checks

        timed("lookups", lambda: lookup_findings(product, backend=backend))
    previous_count: int | None = None
    if previous is not None:
        start = time.perf_counter()
        previous_count = _count_of(previous, backend)
        findings.append(count_change(product.code, previous_count, count))
        timings.append(("count_change", time.perf_counter() - start))
    return ProductReport(product.code, count, previous_count, tuple(findings), tuple(timings))


def _void_core(conf: Configurator) -> tuple[RuleRef, ...]:
    # The engine explains conflicts between decisions; with none, its rule
    # QuickXplain (same package) names a minimal set of rules that conflict alone.
    return conf._rules_for({})


def _count_of(product: Product, backend: str) -> int:
    try:
        return Configurator(product, backend=backend).backend.count({})
    except ConfiguratorError:
        return 0


def values_findings(product: Product, model: Model, backend: Backend) -> list[Finding]:
    """Dead values (no valid configuration uses them) and forced values (every one does), from one propagate."""
    domains = backend.propagate({})
    if domains is None:
        return []
    findings: list[Finding] = []
    for attribute in product.attributes:
        if attribute.kind is AttributeKind.SET:
            findings.extend(_set_findings(product, attribute, model, domains))
            continue
        full = attribute.domain()
        possible = domains[attribute.code]
        dead = [v for v in full if v not in possible]
        if dead:
            shown = _values_text(attribute, dead)
            # The line of the (first) value that cannot be chosen, when it has one (enum values do).
            dead_loc = _value_loc(attribute, dead[0])
            findings.append(
                Finding(
                    "dead_value",
                    Severity.WARNING,
                    product.code,
                    f"{attribute.code}={format_value(dead[0])}" if len(dead) == 1 else f"{attribute.code}",
                    **say("dead_value" if len(dead) == 1 else "dead_values", attribute=attribute.code, values=shown),
                    loc=dead_loc,
                )
            )
        if len(full) > 1 and len(possible) == 1:
            (only,) = tuple(possible)
            findings.append(
                Finding(
                    "forced_value",
                    Severity.WARNING,
                    product.code,
                    f"{attribute.code}={format_value(only)}",
                    **say("forced_value", attribute=attribute.code, value=format_value(only)),
                    loc=_value_loc(attribute, only),
                )
            )
    return findings


def _set_findings(
    product: Product, attribute: Attribute, model: Model, domains: Mapping[str, frozenset[Value]]
) -> list[Finding]:
    findings: list[Finding] = []
    for name in _variables_of(model, attribute.code):
        element = model.variable(name).element
        possible = domains[name]
        if possible == frozenset({False}):
            findings.append(
                Finding(
                    "dead_value",
                    Severity.WARNING,
                    product.code,
                    f"{attribute.code}+{element}",
                    **say("dead_element", attribute=attribute.code, element=element),
                    loc=_value_loc(attribute, element),
                )
            )
        elif possible == frozenset({True}):
            findings.append(
                Finding(
                    "forced_value",
                    Severity.WARNING,
                    product.code,
                    f"{attribute.code}+{element}",
                    **say("forced_element", attribute=attribute.code, element=element),
                    loc=_value_loc(attribute, element),
                )
            )
    return findings


def _value_loc(attribute: Attribute, value: Value | None) -> SourceLoc | None:
    """Where ``value`` of ``attribute`` is written: its entry in ``values``, else the attribute."""
    for choice in attribute.choices:
        if choice.code == value and choice.loc is not None:
            return choice.loc
    return attribute.loc


def _values_text(attribute: Attribute, values: Sequence[Value]) -> str:
    """Values listed, int runs folded into ranges: ``1..4, 9``."""
    if attribute.kind is not AttributeKind.INT:
        return ", ".join(format_value(v) for v in values)
    step = max(attribute.step, 1)
    runs: list[list[int]] = []
    for v in values:
        assert isinstance(v, int)
        if runs and v == runs[-1][1] + step:
            runs[-1][1] = v
        else:
            runs.append([v, v])
    return ", ".join(str(a) if a == b else f"{a}..{b}" for a, b in runs)


def redundant_rules(product: Product, model: Model, *, budget_s: float = REDUNDANCY_BUDGET_S) -> list[Finding]:
    """Rules the other rules already imply: removing one leaves the solution set unchanged.

    Removing a rule can only add solutions, so rule r is redundant exactly
    when "every other rule and not r" has no solution. One SAT model answers
    this for every rule: each rule gets a selector variable ``on`` and its
    constraints become "the rule holds == on"; the query for r assumes r's
    selector false and every other selector true. Tabulating the constraints
    once (rather than once per rule) is what keeps this fast. Structural
    constraints (a set's count limits) hold in every query.
    """
    declared = {r.id: r for r in product.rules}
    by_rule: dict[str, list[Constraint]] = {}
    for c in model.constraints:
        by_rule.setdefault(c.rule_id, []).append(c)
    ids = [i for i in by_rule if i in declared]
    findings: list[Finding] = []
    # A rule whose constraints together span too many value combinations (a large rule the
    # engine split with auxiliary variables) cannot get a selector: it stays a plain
    # constraint, and the report says its redundancy was not checked.
    sizes = {v.name: len(v.domain) for v in model.variables}
    for rule_id in list(ids):
        scope = {n for c in by_rule[rule_id] for n in c.scope}
        combinations = 2 * math.prod(sizes[n] for n in scope)
        if combinations > SELECTOR_TABLE_LIMIT:
            ids.remove(rule_id)
            findings.append(
                Finding(
                    "redundant_rule",
                    Severity.INFO,
                    product.code,
                    rule_id,
                    **say("redundancy_not_checked", rule=rule_id, combinations=combinations,
                          limit=SELECTOR_TABLE_LIMIT),
                    rules=(rule_id,),
                    loc=declared[rule_id].loc,
                )
            )
    if not ids:
        return findings
    selectors = {rule_id: f"check:on[{rule_id}]" for rule_id in ids}
    constraints: list[Constraint] = [c for c in model.constraints if c.rule_id not in selectors]
    parts: list[str] = []
    for rule_id in ids:
        rule_constraints = by_rule[rule_id]
        if len(rule_constraints) == 1:
            constraints.append(_selected(rule_id, selectors[rule_id], rule_constraints))
            continue
        # A rule of several constraints: one selector per constraint (each tabulated over its own
        # scope, not over the union of the scopes) and the rule's selector true exactly when all are.
        own = [f"{selectors[rule_id]}#{k}" for k in range(len(rule_constraints))]
        parts.extend(own)
        constraints.extend(_selected(rule_id, name, [c]) for name, c in zip(own, rule_constraints, strict=True))
        constraints.append(Constraint(f"selected:{rule_id}", (selectors[rule_id], *own), _all_of))
    variables = (
        *model.variables,
        *(Variable(name, (False, True), name) for name in (*selectors.values(), *parts)),
    )
    backend = make_backend(
        dataclasses.replace(
            model, key=f"{model.key}#redundancy", variables=variables, constraints=tuple(constraints)
        ),
        prefer="sat",
    )
    satisfiable = _rule_off_queries(backend, selectors)
    deadline = time.perf_counter() + budget_s
    for number, rule_id in enumerate(ids):
        if time.perf_counter() > deadline:
            findings.append(_budget_finding(product, "redundant rules", budget_s, len(ids) - number, len(ids)))
            break
        if not satisfiable(rule_id):
            findings.append(
                Finding(
                    "redundant_rule",
                    Severity.WARNING,
                    product.code,
                    rule_id,
                    **say("redundant_rule", rule=rule_id),
                    rules=(rule_id,),
                    loc=declared[rule_id].loc,
                )
            )
    return findings


def _rule_off_queries(backend: Backend, selectors: Mapping[str, str]) -> Callable[[str], bool]:
    """For a rule id, whether some solution has that rule's selector false and every other one true.

    One yes/no question per rule (:func:`configurator.backends.base.satisfiable`: on the SAT
    backend one solver call under assumptions; ``solve`` would also minimise the solution and
    ``propagate`` would look for every value's support, which a yes/no question does not need).
    """
    on = frozenset({True})
    off = frozenset({False})
    every_on = {name: on for name in selectors.values()}

    def query(rule_id: str) -> bool:
        restrict = dict(every_on)
        restrict[selectors[rule_id]] = off
        return satisfiable(backend, restrict)

    return query


def _budget_finding(product: Product, check: str, budget_s: float, left: int, total: int) -> Finding:
    """The warning that ``check`` stopped at its time budget with ``left`` of ``total`` questions unanswered."""
    return Finding(
        "check_failed",
        Severity.WARNING,
        product.code,
        check.replace(" ", "_"),
        **say(
            "check_failed",
            check=check,
            error=f"not checked: budget exceeded ({budget_s:g} s; {left} of {total} not checked)",
        ),
        loc=product.loc,
    )


def _all_of(on: Value, *parts: Value) -> bool:
    """A rule's selector is true exactly when the selectors of all its constraints are."""
    return all(parts) is on


def _selected(rule_id: str, selector: str, constraints: Sequence[Constraint]) -> Constraint:
    """One constraint over (selector, *scope): the rule's constraints all hold exactly when the selector is true."""
    scope = tuple(dict.fromkeys(n for c in constraints for n in c.scope))
    slices = [tuple(scope.index(n) for n in c.scope) for c in constraints]

    def predicate(on: Value, *values: Value) -> bool:
        holds = all(c.predicate(*(values[i] for i in s)) for c, s in zip(constraints, slices, strict=True))
        return holds is on

    return Constraint(f"selected:{rule_id}", (selector, *scope), predicate)


def golden_tests(product: Product, conf: Configurator) -> list[Finding]:
    """Run the catalog's golden test configurations; a failing test is an error, a passing one an info."""
    findings: list[Finding] = []
    for test in product.tests:
        decisions: list[AnyDecision] = [
            Decision(code, frozenset(value) if isinstance(value, tuple) else value)
            for code, value in test.decisions
        ]
        shown = ", ".join(str(d) for d in decisions)
        try:
            consistent = conf.count(decisions) > 0
        except ConfiguratorError as exc:
            findings.append(_test_finding(product, test.id, False, test.loc, (), "test_cannot_run", error=exc))
            continue
        if test.expect == "accept":
            rules: tuple[str, ...] = ()
            if consistent:
                msgid = "test_accepted"
            else:
                rules = _conflict_rules(conf, decisions)
                msgid = "test_not_accepted_rules" if rules else "test_not_accepted"
            findings.append(_test_finding(product, test.id, consistent, test.loc, rules, msgid, decisions=shown,
                                          rules=", ".join(rules)))
            continue
        if consistent:
            findings.append(_test_finding(product, test.id, False, test.loc, (), "test_not_rejected", decisions=shown))
            continue
        rules = _conflict_rules(conf, decisions)
        ok = test.reason is None or test.reason in rules
        if ok:
            msgid = "test_rejected" if rules else "test_rejected_no_rule"
        else:
            msgid = "test_rejected_other_rule" if rules else "test_rejected_no_rule_expected"
        findings.append(_test_finding(product, test.id, ok, test.loc, rules, msgid, rules=", ".join(rules),
                                      expected=test.reason or ""))
    return findings


def conflict_rules(conf: Configurator, decisions: Sequence[AnyDecision]) -> tuple[str, ...]:
    """The rules of the engine's explanation of why ``decisions`` have no valid configuration."""
    return _conflict_rules(conf, decisions)


def _conflict_rules(conf: Configurator, decisions: Sequence[AnyDecision]) -> tuple[str, ...]:
    # The conflict the storefront would explain (``State.conflict``), without
    # computing the rest of the state (prices of every value).
    return tuple(r.rule_id for r in conf._conflict(conf.check(decisions)).rules)


def _test_finding(
    product: Product,
    test_id: str,
    passed: bool,
    loc: SourceLoc | None,
    rule_ids: tuple[str, ...],
    msgid: str,
    **params: object,
) -> Finding:
    severity = Severity.INFO if passed else Severity.ERROR
    used = {k: v for k, v in params.items() if f"%({k})s" in MESSAGES[msgid]}
    return Finding(
        "golden_test", severity, product.code, test_id, configuration=(), rules=rule_ids, loc=loc,
        **say(msgid, test=test_id, **used),
    )


def count_change(product: str, before: int, after: int) -> Finding:
    """The exact change in the number of configurations, as an info finding.

    >>> count_change("bike", 120, 96).message
    'configurations: 120 -> 96 (-24, -20.0%)'
    """
    delta = after - before
    if before:
        text = say("count_change_percent", before=before, after=after, delta=f"{delta:+d}",
                   percent=f"{delta / before * 100:+.1f}%")
    else:
        text = say("count_change", before=before, after=after, delta=f"{delta:+d}")
    return Finding("count_change", Severity.INFO, product, product, **text)


def product_changes(codes_before: Iterable[str], codes_after: Iterable[str]) -> list[Finding]:
    """Products added and removed against the previous version (infos).

    >>> [f.message for f in product_changes(["a", "b"], ["b", "c"])]
    ['product c is new', 'product a is removed']
    """
    before, after = list(codes_before), list(codes_after)
    out = [
        Finding("product_change", Severity.INFO, c, c, **say("product_new", product=c))
        for c in after
        if c not in before
    ]
    out += [
        Finding("product_change", Severity.INFO, c, c, **say("product_removed", product=c))
        for c in before
        if c not in after
    ]
    return out


__all__ = [
    "CHECKS",
    "CatalogReport",
    "Finding",
    "ProductReport",
    "Severity",
    "check_product",
    "configuration_of",
    "conflict_rules",
    "count_change",
    "find_configuration",
    "format_configuration",
    "golden_tests",
    "product_changes",
    "redundant_rules",
    "values_findings",
]
