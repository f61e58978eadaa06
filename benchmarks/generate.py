"""Generated benchmark products with the structure of real configurable products.

Real catalogs are *clustered*: attributes come in modules (frame, drive train,
lighting...) with rules and tables local to a module, plus a few global
attributes (market, product line) that rules in many modules read, and a few
links between neighbouring modules. Random rule graphs are not like that and
defeat every decision-diagram compiler, so benchmarks use this generator.

Every product is satisfiable by construction: a hidden witness configuration
is drawn first and every rule and table is made to accept it. Rules are built
as rule-language ASTs, checked against the witness with the evaluator, and
printed to text with ``configurator.rules.to_text``, so they go through the
same parser and checker as hand-written catalogs.

>>> p = generate_product(10, seed=1)
>>> len(p.attributes), p.code
(10, 'gen-10-s1')
>>> any(r.is_table for r in p.rules) and any(not r.is_table for r in p.rules)
True
>>> generate_product(10, seed=1) == p
True
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal

from catalog.snapshot import Attribute, AttributeKind, Choice, Group, Label, Product, Rule, Value
from configurator.rules import evaluate, to_text
from configurator.rules.ast import Binary, Call, Expr, In, Int, Name, Str, Unary

SIZES = (10, 100, 1_000, 10_000)
"""Attribute counts the engine benchmark runs."""

CORE_SIZE = 4
"""Global attributes (module 0) read by rules of many modules."""

GLOBAL_EVERY = 10
"""One global rule (a core attribute constraining a module attribute) per this many modules."""


@dataclass(slots=True)
class _Draft:
    rng: random.Random
    attributes: list[Attribute] = field(default_factory=list)
    witness: dict[str, object] = field(default_factory=dict)
    rules: list[Rule] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)


def _attribute(draft: _Draft, code: str, group: str, allow_set: bool) -> Attribute:
    rng = draft.rng
    roll = rng.random()
    label = Label(code.replace("_", " "), code.replace("_", " "))
    if roll < 0.45 or (roll >= 0.9 and not allow_set):
        values = tuple(f"o{k}" for k in range(1, rng.randint(3, 6) + 1))
        a = Attribute(
            code, AttributeKind.ENUM, label, choices=tuple(Choice(v, Label(v)) for v in values), group=group
        )
        draft.witness[code] = rng.choice(values)
    elif roll < 0.7:
        a = Attribute(code, AttributeKind.BOOL, label, group=group)
        draft.witness[code] = rng.random() < 0.5
    elif roll < 0.9:
        if rng.random() < 0.7:
            a = Attribute(
                code, AttributeKind.INT, label, minimum=1, maximum=rng.choice((4, 6, 8)), group=group
            )
        else:
            a = Attribute(
                code, AttributeKind.INT, label, minimum=0, maximum=100, step=10, unit="mm", group=group
            )
        draft.witness[code] = rng.choice(a.domain())
    else:
        elements = tuple(f"e{k}" for k in range(1, rng.randint(3, 5) + 1))
        top = rng.randint(2, 3)
        a = Attribute(
            code,
            AttributeKind.SET,
            label,
            choices=tuple(Choice(e, Label(e)) for e in elements),
            min_count=0,
            max_count=top,
            group=group,
        )
        draft.witness[code] = frozenset(rng.sample(elements, rng.randint(0, top)))
    draft.attributes.append(a)
    return a


def _atom(rng: random.Random, a: Attribute, want: bool | None, witness: dict[str, object]) -> Expr:
    """A condition on one attribute; true (or false) on the witness when ``want`` says so."""
    for _ in range(20):
        e = _any_atom(rng, a)
        if want is None or evaluate(e, witness) is want:
            return e
    # Negation flips the truth value, so a wanted value is always reachable.
    return e if evaluate(e, witness) is want else Unary("not", e)


def _any_atom(rng: random.Random, a: Attribute) -> Expr:
    name = Name(a.code)
    if a.kind is AttributeKind.BOOL:
        return name if rng.random() < 0.5 else Unary("not", name)
    if a.kind is AttributeKind.SET:
        elements = [c.code for c in a.choices]
        if rng.random() < 0.7:
            return Call("has", (name, Str(rng.choice(elements))))
        return Binary("<=", Call("count", (name,)), Int(rng.randint(0, len(elements))))
    domain = a.domain()
    if a.kind is AttributeKind.INT:
        pivot = rng.choice(domain)
        assert isinstance(pivot, int)
        return Binary(rng.choice(("<=", ">=", "!=")), name, Int(pivot))
    if rng.random() < 0.6:
        return Binary(rng.choice(("==", "!=")), name, Str(str(rng.choice(domain))))
    picked = rng.sample(domain, rng.randint(1, max(1, len(domain) - 1)))
    return In(name, tuple(Str(str(v)) for v in picked), negated=rng.random() < 0.3)


def _implication(draft: _Draft, rule_id: str, left: Attribute, right: Attribute) -> None:
    """``P -> Q`` accepted by the witness: when P holds on it, Q is drawn to hold too."""
    rng, w = draft.rng, draft.witness
    p = _atom(rng, left, None, w)
    q = _atom(rng, right, True if evaluate(p, w) is True else None, w)
    expr = Binary("->", p, q)
    assert evaluate(expr, w) is True
    text = to_text(expr)
    draft.rules.append(Rule(rule_id, Label(f"Rule {rule_id}", f"规则 {rule_id}"), text=text))


def _sum_limit(draft: _Draft, rule_id: str, ints: list[Attribute]) -> None:
    a, b = draft.rng.sample(ints, 2)
    total = draft.witness[a.code] + draft.witness[b.code]  # type: ignore[operator]
    top = max(total, (a.maximum or 0) + (b.maximum or 0) - draft.rng.randint(1, 4))
    expr = Binary("<=", Binary("+", Name(a.code), Name(b.code)), Int(top))
    draft.rules.append(Rule(rule_id, Label(f"Rule {rule_id}"), text=to_text(expr)))


def _table(draft: _Draft, rule_id: str, columns: list[Attribute]) -> None:
    """An allow table: the witness row, plus random rows using values, lists, ranges and ``*``."""
    rng = draft.rng
    rows: list[tuple[Value | tuple[Value, ...], ...]] = [
        tuple(_value(draft.witness[c.code]) for c in columns)
    ]
    for _ in range(rng.randint(3, 8)):
        rows.append(tuple(_cell(rng, c) for c in columns))
    draft.rules.append(
        Rule(
            rule_id,
            Label(f"Table {rule_id}", f"表 {rule_id}"),
            columns=tuple(c.code for c in columns),
            rows=tuple(rows),
        )
    )


def _value(v: object) -> Value:
    assert isinstance(v, str | int | bool)
    return v


def _cell(rng: random.Random, a: Attribute) -> Value | tuple[Value, ...]:
    domain = a.domain()
    roll = rng.random()
    if roll < 0.15:
        return "*"
    if roll < 0.35 and len(domain) > 2:
        if a.kind is AttributeKind.INT:
            lo, hi = sorted(rng.sample(range(len(domain)), 2))
            return f"{domain[lo]}..{domain[hi]}"
        return tuple(rng.sample(domain, 2))
    return rng.choice(domain)


def _module(draft: _Draft, m: int, size: int) -> list[Attribute]:
    rng = draft.rng
    group = f"m{m}"
    draft.groups.append(Group(group, Label(f"Module {m}", f"模块 {m}")))
    attrs = [_attribute(draft, f"m{m}_a{j}", group, allow_set=True) for j in range(size)]
    plain = [a for a in attrs if a.kind is not AttributeKind.SET]
    ints = [a for a in attrs if a.kind is AttributeKind.INT]
    for r in range(size - 1):
        # Rules mostly between attributes close in the module, like real assemblies.
        i = rng.randrange(len(attrs))
        j = min(len(attrs) - 1, max(0, i + rng.choice((-3, -2, -1, 1, 2, 3))))
        if i == j:
            j = (i + 1) % len(attrs)
        _implication(draft, f"m{m}-r{r}", attrs[i], attrs[j])
    if len(ints) >= 2:
        _sum_limit(draft, f"m{m}-s", ints)
    if len(plain) >= 2:
        for t in range(1 if size < 10 else 2):
            _table(draft, f"m{m}-t{t}", rng.sample(plain, min(len(plain), rng.randint(2, 3))))
    return attrs


def generate_product(n_attributes: int, *, seed: int = 0, module_size: tuple[int, int] = (8, 12)) -> Product:
    """A satisfiable clustered product with exactly ``n_attributes`` attributes (deterministic by seed).

    Up to 12 attributes form a single module; larger products get ``CORE_SIZE``
    global attributes, then modules of ``module_size`` attributes, each with
    local rules and tables, one global rule (a core attribute constraining a
    module attribute) every ``GLOBAL_EVERY`` modules and a link between
    neighbouring modules every fifth module.
    """
    if n_attributes < 2:
        raise ValueError("a generated product needs at least 2 attributes")
    rng = random.Random(f"c2m-bench-{n_attributes}-{seed}")
    draft = _Draft(rng)
    modules: list[list[Attribute]] = []
    if n_attributes <= module_size[1]:
        modules.append(_module(draft, 1, n_attributes))
    else:
        draft.groups.append(Group("core", Label("Core", "基本")))
        core = [_attribute(draft, f"g_a{j}", "core", allow_set=False) for j in range(CORE_SIZE)]
        left = n_attributes - CORE_SIZE
        m = 1
        while left > 0:
            size = min(left, rng.randint(*module_size))
            if 0 < left - size < 2:
                size = left  # no module of one attribute at the end
            modules.append(_module(draft, m, size))
            left -= size
            m += 1
        for k, attrs in enumerate(modules, start=1):
            if k % GLOBAL_EVERY == 1 or GLOBAL_EVERY == 1:
                _implication(draft, f"g-{k}", rng.choice(core), rng.choice(attrs))
            if k % 5 == 0 and k < len(modules):
                _implication(draft, f"x-{k}", rng.choice(attrs), rng.choice(modules[k]))
    return Product(
        code=f"gen-{n_attributes}-s{seed}",
        name=Label(f"Generated product ({n_attributes} attributes)", f"生成的产品（{n_attributes} 个属性）"),
        base_price=Decimal("1000.00"),
        attributes=tuple(draft.attributes),
        rules=tuple(draft.rules),
        groups=tuple(draft.groups),
    )
