"""Compile a catalog product into the backend-neutral :class:`~configurator.model.Model`.

- Attributes become solver variables as documented in ``configurator.model``:
  enum, bool and int attributes one variable each; a set attribute one bool
  variable per element plus, when ``min_count``/``max_count`` actually limit
  the selection, a cardinality constraint with rule id ``"<attr>:count"``.
- A rule text is parsed and checked against the product's attributes, then
  becomes one constraint over the solver variables of the attributes it reads
  (all element variables of a set attribute it reads; the predicate rebuilds
  the frozenset of selected codes). It holds exactly when the expression
  evaluates to ``True``; an evaluation error (division by zero) counts as
  violated.
- A table rule becomes a constraint with the exact ``allowed`` tuples (rows
  expanded against the column domains; a forbid table is complemented), or a
  row-matching predicate alone when that set would be too large to list.

Variable order matters to the decision-diagram backend: related attributes
should sit together. The order used is the declaration order or a greedy
connectivity order, whichever gives rules the smaller total span.

>>> from catalog.snapshot import Attribute, AttributeKind, Choice, Label, Product, Rule
>>> from decimal import Decimal
>>> frame = Attribute("frame", AttributeKind.ENUM, Label("Frame"),
...                   choices=(Choice("steel", Label("Steel")), Choice("carbon", Label("Carbon"))))
>>> rack = Attribute("rack", AttributeKind.BOOL, Label("Rack"))
>>> extras = Attribute("extras", AttributeKind.SET, Label("Extras"), max_count=1,
...                    choices=(Choice("bell", Label("Bell")), Choice("lock", Label("Lock"))))
>>> p = Product("bike", Label("Bike"), Decimal("1"), (frame, rack, extras),
...             rules=(Rule("carbon-no-rack", Label("No rack on carbon"), text="frame == carbon -> not rack"),))
>>> m = build_model(p, key="doc:bike")
>>> [v.name for v in m.variables]
['frame', 'rack', 'extras[bell]', 'extras[lock]']
>>> [(c.rule_id, c.scope) for c in m.constraints]
[('extras:count', ('extras[bell]', 'extras[lock]')), ('carbon-no-rack', ('frame', 'rack'))]
>>> m.constraints[1].predicate("carbon", True)
False
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import math
import re
from collections.abc import Callable, Mapping, Sequence

from catalog.gcpause import gc_paused
from catalog.snapshot import Attribute, AttributeKind, Product, Rule, Value
from configurator.decompose import Decomposer, NotDecomposable
from configurator.derived import plain_product
from configurator.fastexpr import positional
from configurator.model import Constraint, Model, Variable, element_var
from configurator.modules import ACTIVE, BROKEN, INACTIVE, Guard, ModuleConstraint, module_constraints
from configurator.rules import (
    EvaluationError,
    RuleError,
    RuleSetInvalid,
    check_expression,
    check_text,
    evaluate,
    parse_expression,
    references,
    row_matches,
    row_sets,
)
from configurator.rules.ast import FUNCTIONS, Binary, Call, Expr, In, Name, Range, Unary
from configurator.rules.parser import KEYWORDS, MAX_LENGTH

MAX_ALLOWED_TUPLES = 1_000_000
"""Largest table listed as explicit ``allowed`` tuples; bigger ones keep only their predicate."""


def build_model(product: Product, *, key: str) -> Model:
    """The constraint model of ``product``; ``key`` identifies it in backend caches.

    Raises the rule language's errors (:class:`~configurator.rules.RuleError`
    subclasses, or :class:`~configurator.rules.RuleSetInvalid` for several in
    one text) with ``where`` and ``source`` filled in.
    """
    with gc_paused():  # the model of a large product is a million objects that all stay alive
        return _build_model(product, key)


def _build_model(product: Product, key: str) -> Model:
    reached = product.modules
    product = plain_product(product)  # derived attributes read their definitions
    if product.modules is not reached:
        # Products compare without the modules they reach, so a cached rewrite may carry another's.
        product = dataclasses.replace(product, modules=reached)
    attrs = product.attributes
    by_code = {a.code: a for a in attrs}
    compiled: list[tuple[Rule, Expr | None, tuple[str, ...]]] = []
    for rule in product.rules:
        if rule.text is not None:
            checked = _checked(rule, attrs, by_code)
            compiled.append((rule, checked, tuple(sorted(references(checked)))))
        else:
            compiled.append((rule, None, rule.columns))
    # Configurable modules the super BOM reaches: their values and rules hold whenever their line is active.
    guards, in_modules = module_constraints(product)
    order = attribute_order(
        [a.code for a in attrs],
        [*(scope for _, _, scope in compiled), *(g.attributes for g in guards), *(m.attributes for m in in_modules)],
    )
    variables: list[Variable] = []
    set_elements: dict[str, tuple[str, ...]] = {}
    vars_of: dict[str, tuple[str, ...]] = {}
    for code in order:
        a = by_code[code]
        if a.kind is AttributeKind.SET:
            elements = tuple(c.code for c in a.choices)
            names = tuple(element_var(code, e) for e in elements)
            variables.extend(
                Variable(n, (False, True), code, element=e) for n, e in zip(names, elements, strict=True)
            )
            set_elements[code] = names
            vars_of[code] = names
        else:
            variables.append(Variable(code, tuple(a.domain()), code))
            vars_of[code] = (code,)
    constraints: list[Constraint] = []
    for code in order:
        a = by_code[code]
        if a.kind is AttributeKind.SET:
            card = _cardinality(a, vars_of[code])
            if card is not None:
                constraints.append(card)
    position = {code: i for i, code in enumerate(order)}
    # Rules over huge scopes (a 40-option group) are split with functional auxiliary variables.
    decomposer = Decomposer(by_code, vars_of)
    # Value combinations of each attribute's variables: a rule whose scope has at most the
    # decomposer's threshold of them is not large, without asking it to walk the rule again.
    combinations = {v.name: len(v.domain) for v in variables}
    per_attribute = {code: math.prod(combinations[n] for n in names) for code, names in vars_of.items()}
    for rule, expr, scope_attrs in compiled:
        ordered = sorted(scope_attrs, key=position.__getitem__)
        if expr is not None:
            size = math.prod(per_attribute[code] for code in scope_attrs)
            constraints.extend(_split_or_whole(decomposer, rule.id, expr, ordered, by_code, vars_of, size))
        else:
            constraints.append(_table_constraint(rule, attrs, by_code))
    if guards or in_modules:
        variables = _place_guards(variables, guards, vars_of)
        constraints.extend(_guard_constraint(g, by_code, vars_of) for g in guards)
        for m in in_modules:
            c = _module_constraint(m, by_code, vars_of, {g.name: g for g in guards})
            if c is not None:
                constraints.append(c)
    if decomposer.variables:
        variables = decomposer.placed(variables)
    return Model(
        key=key, variables=tuple(variables), constraints=tuple(constraints), set_elements=set_elements
    )


def _split_or_whole(
    decomposer: Decomposer,
    rule_id: str,
    expr: Expr,
    scope_attrs: Sequence[str],
    by_code: Mapping[str, Attribute],
    vars_of: Mapping[str, tuple[str, ...]],
    size: int,
) -> list[Constraint]:
    """The rule as small constraints (``configurator.decompose``) when its scope is large, else whole.

    ``size``: the value combinations of the scope; at most the decomposer's threshold, the rule is
    not large (what ``is_large`` would say, without walking the rule again)."""
    if size > decomposer.threshold and decomposer.is_large(expr):
        try:
            return decomposer.split(rule_id, expr)
        except NotDecomposable:
            pass
    return [_expression_constraint(rule_id, expr, scope_attrs, by_code, vars_of)]


_TOKEN = re.compile(r"\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'|[A-Za-z_][A-Za-z0-9_]*")
"""Quoted values (kept as they are) and identifiers, as the rule language's lexer reads them."""


def _parsed(text: str, rule_id: str) -> Expr:
    """``parse_expression(text)``, parsed once per *form*: feature models state thousands of rules
    that differ only in the names they read (``a -> b``), so the text with its identifiers renamed
    ``_0, _1, ...`` (keywords and function names kept) is parsed (and cached by the parser) and the
    names are put back. Token kinds and brackets are unchanged by the renaming, so the text parses
    exactly when its form does; only a text that fails goes through the parser itself, for the error
    message at its own line and column (the nodes of a form carry the form's positions)."""
    names: dict[str, str] = {}

    def rename(m: re.Match[str]) -> str:
        token = m.group(0)
        if token[0] in "\"'" or token in KEYWORDS or token in FUNCTIONS:
            return token
        known = names.get(token)
        if known is None:
            known = names[token] = f"_{len(names)}"
        return known

    form = _TOKEN.sub(rename, text)
    if not names or len(text) > MAX_LENGTH:
        return parse_expression(text, rule_id=rule_id)
    try:
        shape = parse_expression(form, rule_id=rule_id)
    except RuleError:
        return parse_expression(text, rule_id=rule_id)
    back = {v: k for k, v in names.items()}
    return _renamed(shape, back)


def _renamed(e: Expr, names: Mapping[str, str]) -> Expr:
    if isinstance(e, Name):
        return Name(names.get(e.id, e.id))
    if isinstance(e, Unary):
        return Unary(e.op, _renamed(e.operand, names))
    if isinstance(e, Binary):
        return Binary(e.op, _renamed(e.left, names), _renamed(e.right, names))
    if isinstance(e, Call):
        return Call(e.func, tuple(_renamed(a, names) for a in e.args))
    if isinstance(e, In):
        return In(_renamed(e.operand, names),
                  tuple(i if isinstance(i, Range) else _renamed(i, names) for i in e.items), e.negated)
    return e


def _checked(rule: Rule, attrs: Sequence[Attribute], by_code: Mapping[str, Attribute]) -> Expr:
    assert rule.text is not None
    try:
        parsed = _parsed(rule.text, rule.id)
        # Check against the attributes the text names (bare value codes are names too): the result
        # is the same as against all of them, and products with thousands of attributes stay fast.
        named = [by_code[n] for n in sorted(references(parsed)) if n in by_code]
        return check_expression(parsed, named, kind="rule", rule_id=rule.id)
    except (RuleError, RuleSetInvalid):
        # Re-run through the catalog checker only to report every problem at its file position.
        errors = check_text(
            rule.text,
            attrs,
            kind="rule",
            rule_id=rule.id,
            where=f"rule {rule.id}",
            loc=rule.loc,
            text_loc=rule.text_loc,
        )
        if len(errors) == 1:
            raise errors[0] from None
        raise RuleSetInvalid(errors) from None


def _cardinality(a: Attribute, names: tuple[str, ...]) -> Constraint | None:
    """``min_count <= |selected| <= max_count``; ``None`` when that excludes nothing."""
    low = max(a.min_count, 0)
    high = len(names) if a.max_count is None else a.max_count
    if low == 0 and high >= len(names):
        return None

    def predicate(*selected: bool) -> bool:
        return low <= sum(selected) <= high

    allowed: frozenset[tuple[Value, ...]] | None = None
    if len(names) <= 16:
        allowed = frozenset(t for t in itertools.product((False, True), repeat=len(names)) if predicate(*t))
    return Constraint(f"{a.code}:count", names, predicate, allowed)


def _expression_constraint(
    rule_id: str,
    expr: Expr,
    scope_attrs: Sequence[str],
    by_code: Mapping[str, Attribute],
    vars_of: Mapping[str, tuple[str, ...]],
) -> Constraint:
    # How to rebuild each attribute's value from the scope's flat list of solver values.
    readers: list[tuple[str, int, tuple[str, ...] | None]] = []
    scope: list[str] = []
    for code in scope_attrs:
        names = vars_of[code]
        if by_code[code].kind is AttributeKind.SET:
            readers.append((code, len(scope), tuple(c.code for c in by_code[code].choices)))
        else:
            readers.append((code, len(scope), None))
        scope.extend(names)

    frozen_scope = tuple(scope)
    compiled: list[Callable[[Sequence[Value]], object]] = []

    def compute(values: Sequence[Value]) -> object:
        # Compiled on the first call: a model loaded with a stored compiled form (or a backend that
        # tabulates rules by shape) never calls most predicates, and a large model then keeps no
        # tree of closures per rule.
        if not compiled:
            compiled.append(_compiled(expr, frozen_scope, readers))
        return compiled[0](values)

    def predicate(*values: Value) -> bool:
        try:
            return compute(values) is True
        except EvaluationError:
            return False

    # Lets backends tabulate rules of the same form once (configurator.backends.tabulate).
    predicate.shape = (expr, tuple(readers))  # type: ignore[attr-defined]
    return Constraint(rule_id, tuple(scope), predicate)


def _compiled(
    expr: Expr, scope: tuple[str, ...], readers: Sequence[tuple[str, int, tuple[str, ...] | None]]
) -> Callable[[Sequence[Value]], object]:
    """``evaluate(expr, env)`` as a function of the values of ``scope``."""
    vars_of = {code: scope[start : start + len(elements)] for code, start, elements in readers if elements is not None}
    sets = {code: (elements, vars_of[code]) for code, _, elements in readers if elements is not None}
    try:
        return positional(expr, scope, sets)  # evaluate(expr, env), without walking the tree per call
    except KeyError:  # a name outside the scope: evaluated on the attributes' values, as it reads them
        def compute(values: Sequence[Value]) -> object:
            env: dict[str, object] = {}
            for code, start, elements in readers:
                if elements is None:
                    env[code] = values[start]
                else:
                    env[code] = frozenset(
                        e for e, on in zip(elements, values[start : start + len(elements)], strict=True) if on
                    )
            return evaluate(expr, env)

        return compute


def _place_guards(
    variables: list[Variable], guards: Sequence[Guard], vars_of: Mapping[str, tuple[str, ...]]
) -> list[Variable]:
    """``variables`` with each module guard (an auxiliary variable) right after the last variable it reads."""
    after: dict[str, list[Variable]] = {}
    first: list[Variable] = []
    position = {v.name: i for i, v in enumerate(variables)}
    for g in guards:
        aux = Variable(g.name, (INACTIVE, ACTIVE, BROKEN), "", auxiliary=True)
        reads = [n for code in g.attributes for n in vars_of[code]]
        if reads:
            after.setdefault(max(reads, key=position.__getitem__), []).append(aux)
        else:
            first.append(aux)
    out = list(first)
    for v in variables:
        out.append(v)
        out.extend(after.get(v.name, ()))
    return out


def _guard_constraint(g: Guard, by_code: Mapping[str, Attribute], vars_of: Mapping[str, tuple[str, ...]]) -> Constraint:
    """The definition of a guard variable: its value is the state its attributes give (the scope ends with it)."""
    readers = _readers(g.attributes, by_code, vars_of)
    scope = (*(n for code in g.attributes for n in vars_of[code]), g.name)
    state = g.state

    def predicate(*values: Value) -> bool:
        return state(_env(readers, values[:-1])) == values[-1]

    return Constraint(g.name, scope, predicate)


def _module_constraint(
    m: ModuleConstraint,
    by_code: Mapping[str, Attribute],
    vars_of: Mapping[str, tuple[str, ...]],
    guards: Mapping[str, Guard],
) -> Constraint | None:
    """A module constraint over its guard and the solver variables of the product attributes it reads
    (``None`` when it reads nothing and holds)."""
    readers = _readers(m.attributes, by_code, vars_of)
    scope = tuple(n for code in m.attributes for n in vars_of[code])
    holds = m.holds
    guard = m.guard
    if guard is not None:
        # A scope ending with the guard would read as its definition: read its inputs too.
        extra = () if scope else tuple(n for code in guards[guard].attributes for n in vars_of[code])
        size = len(scope)

        def guarded(*values: Value) -> bool:
            env = _env(readers, values[1 : 1 + size])
            env[guard] = values[0]
            return holds(env)

        return Constraint(m.rule_id, (guard, *scope, *extra), guarded)
    if not scope:
        # Always selected and fixed by constants: decided now. A broken one leaves no valid
        # configuration, and still names its rule.
        return None if holds({}) else Constraint(m.rule_id, (), lambda: False, frozenset())

    def predicate(*values: Value) -> bool:
        return holds(_env(readers, values))

    return Constraint(m.rule_id, scope, predicate)


def _readers(
    codes: Sequence[str], by_code: Mapping[str, Attribute], vars_of: Mapping[str, tuple[str, ...]]
) -> list[tuple[str, int, tuple[str, ...] | None]]:
    """How to rebuild each attribute's value from a scope's flat list of solver values."""
    readers: list[tuple[str, int, tuple[str, ...] | None]] = []
    start = 0
    for code in codes:
        if by_code[code].kind is AttributeKind.SET:
            readers.append((code, start, tuple(c.code for c in by_code[code].choices)))
        else:
            readers.append((code, start, None))
        start += len(vars_of[code])
    return readers


def _env(readers: Sequence[tuple[str, int, tuple[str, ...] | None]], values: Sequence[Value]) -> dict[str, object]:
    env: dict[str, object] = {}
    for code, start, elements in readers:
        if elements is None:
            env[code] = values[start]
        else:
            env[code] = frozenset(e for e, on in zip(elements, values[start : start + len(elements)], strict=True) if on)
    return env


def _table_constraint(rule: Rule, attrs: Sequence[Attribute], by_code: Mapping[str, Attribute]) -> Constraint:
    try:
        if all(c in by_code for c in rule.columns):
            rows = row_sets(rule, [by_code[c] for c in dict.fromkeys(rule.columns)])
        else:
            rows = row_sets(rule, attrs)  # raises, with did-you-mean hints over every attribute
    except RuleError as err:
        err.where = f"rule {rule.id}"
        err.source = rule.loc
        raise
    allow = rule.allow

    def predicate(*values: Value) -> bool:
        return any(row_matches(row, values) for row in rows) == allow

    listed = sum(math.prod(len(cell) for cell in row) for row in rows)
    space = math.prod(len(by_code[c].domain()) for c in rule.columns)
    allowed: frozenset[tuple[Value, ...]] | None = None
    if (listed if allow else space) <= MAX_ALLOWED_TUPLES:
        hit: set[tuple[Value, ...]] = set()
        for row in rows:
            hit.update(itertools.product(*row))
        if allow:
            allowed = frozenset(hit)
        else:
            allowed = frozenset(
                t for t in itertools.product(*(by_code[c].domain() for c in rule.columns)) if t not in hit
            )
    return Constraint(rule.id, tuple(rule.columns), predicate, allowed)


def attribute_order(codes: Sequence[str], scopes: Sequence[Sequence[str]]) -> list[str]:
    """Declaration order or a greedy connectivity order, whichever has the smaller total rule span.

    The greedy order starts with the first attribute and repeatedly takes the
    attribute sharing the most rules with those already placed (declaration
    order breaks ties), so the attributes of one module stay together even
    when they are declared apart.

    >>> attribute_order(["a", "x", "b", "y"], [("a", "b"), ("x", "y"), ("a", "b")])
    ['a', 'b', 'x', 'y']
    >>> attribute_order(["a", "b", "c"], [("a", "b"), ("b", "c")])
    ['a', 'b', 'c']
    """
    declared = list(codes)
    greedy = _greedy_order(declared, scopes)
    return greedy if _span(greedy, scopes) < _span(declared, scopes) else declared


def _span(order: Sequence[str], scopes: Sequence[Sequence[str]]) -> int:
    pos = {c: i for i, c in enumerate(order)}
    return sum(max(pos[c] for c in s) - min(pos[c] for c in s) for s in scopes if s)


def _greedy_order(codes: Sequence[str], scopes: Sequence[Sequence[str]]) -> list[str]:
    index = {c: i for i, c in enumerate(codes)}
    rules_of: list[list[int]] = [[] for _ in codes]
    members = [sorted({index[c] for c in s}) for s in scopes]
    for r, ms in enumerate(members):
        for i in ms:
            rules_of[i].append(r)
    score = [0] * len(codes)
    placed = [False] * len(codes)
    touched = [False] * len(scopes)
    heap: list[tuple[int, int]] = []
    order: list[str] = []
    for start in range(len(codes)):
        # One component at a time; within it, the most connected attribute next (lazy heap).
        if placed[start]:
            continue
        heapq.heappush(heap, (0, start))
        while heap:
            neg, i = heapq.heappop(heap)
            if placed[i] or -neg != score[i]:
                continue
            placed[i] = True
            order.append(codes[i])
            _raise_neighbours(i, rules_of, members, touched, placed, score, heap)
    return order


def _raise_neighbours(
    i: int,
    rules_of: Sequence[Sequence[int]],
    members: Sequence[Sequence[int]],
    touched: list[bool],
    placed: Sequence[bool],
    score: list[int],
    heap: list[tuple[int, int]],
) -> None:
    for r in rules_of[i]:
        if touched[r]:
            continue
        touched[r] = True
        for j in members[r]:
            if not placed[j]:
                score[j] += 1
                heapq.heappush(heap, (-score[j], j))


__all__ = ["MAX_ALLOWED_TUPLES", "attribute_order", "build_model"]
