"""Split rules over many variables into small constraints joined by functional auxiliary variables.

Backends tabulate each constraint over the Cartesian product of its scope, so
a rule such as "at least one of 40 options when the parent is chosen" (2^41
tuples) cannot be compiled as one constraint. :class:`Decomposer` rewrites
such a rule bottom-up: every subexpression whose scope is small stays as it
is; otherwise its children are lowered first and, where the combination is
still too large, each child is replaced by an auxiliary variable *defined* by
it (``aux = child``, Tseitin style). A left-nested ``a or b or c ...`` thereby
becomes a chain ``aux1 = a or b``, ``aux2 = aux1 or c``...; a sum
``if(f1, 5, 0) + if(f2, 3, 0) + ...`` a chain of partial sums whose domains are
exactly the reachable values.

Every auxiliary variable is a function of the original variables (its
definition lists, for every combination of its inputs, exactly one value), so
each original assignment extends in exactly one way: counts, propagation and
solutions over the original variables are unchanged. Auxiliary variables are
marked ``Variable.auxiliary`` and belong to no catalog attribute.

Rules that use exact division (``/``) are left whole: a decomposed quotient
would be evaluated even where the original expression short-circuits around it.

>>> from catalog.snapshot import Attribute, AttributeKind, Label
>>> from configurator.rules import check_expression, parse_expression
>>> attrs = [Attribute(f"f{i}", AttributeKind.BOOL, Label(f"f{i}")) for i in range(20)]
>>> expr = check_expression(parse_expression(" or ".join(a.code for a in attrs)), attrs, kind="rule")
>>> d = Decomposer({a.code: a for a in attrs}, {a.code: (a.code,) for a in attrs})
>>> parts = d.split("any", expr)
>>> len(d.variables), max(len(c.scope) for c in parts), len(parts)
(2, 9, 3)
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from fractions import Fraction

from catalog.snapshot import Attribute, AttributeKind, Value
from configurator.fastexpr import positional
from configurator.model import Constraint, Variable, element_var
from configurator.rules import EvaluationError, evaluate, references
from configurator.rules.ast import Binary, Call, Expr, In, Int, Name, Range, Str, Unary

_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})

LARGE_SCOPE = 4_096
"""A rule whose scope has more value combinations than this is decomposed."""
PIECE = 256
"""Once a rule is split, the largest number of value combinations a piece reads: small
definitions keep the auxiliary domains and every backend table small."""
DEFINITION_LIMIT = 65_536
"""Largest scope product (inputs and the defined variable) of one auxiliary definition."""


class NotDecomposable(Exception):
    """The rule cannot be split within the limits; the caller keeps it whole."""


class Decomposer:
    """Splits large rules of one product; collects the auxiliary variables it creates.

    ``by_code`` maps attribute codes to attributes, ``vars_of`` attribute codes
    to their solver variables (as ``build_model`` lays them out).
    """

    def __init__(
        self,
        by_code: Mapping[str, Attribute],
        vars_of: Mapping[str, tuple[str, ...]],
        *,
        threshold: int = LARGE_SCOPE,
    ) -> None:
        self.by_code = by_code
        self.vars_of = vars_of
        self.threshold = threshold
        self.variables: list[Variable] = []
        self.domains: dict[str, tuple[Value, ...]] = {}
        # Only set attributes need rebuilding in an environment; a model may have thousands of
        # attributes and none of them sets, so _env must not walk them all per evaluation.
        self._sets: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
            (code, tuple(c.code for c in by_code[code].choices), names)
            for code, names in vars_of.items()
            if by_code[code].kind is AttributeKind.SET
        ]
        self._set_positions = {code: (elements, names) for code, elements, names in self._sets}
        for code, names in vars_of.items():
            a = by_code[code]
            if a.kind is AttributeKind.SET:
                for n in names:
                    self.domains[n] = (False, True)
            else:
                self.domains[code] = tuple(a.domain())
        self._inputs: dict[str, tuple[str, ...]] = {}
        """Auxiliary variable -> the variables its definition reads."""
        self._rule = ""
        self._out: list[Constraint] = []
        self._memo: dict[tuple[Expr, int | None], str] = {}
        self._scopes: dict[int, tuple[Expr, tuple[str, ...], int]] = {}
        self._ref_memo: dict[int, tuple[Expr, frozenset[str]]] = {}
        self._signs: dict[int, tuple[Expr, bool]] = {}
        self._sizes: dict[int, tuple[Expr, int]] = {}
        """Scope sizes of the subtrees of the rule last measured (:meth:`_measure`)."""
        self._tables: dict[object, tuple[frozenset[tuple[Value, ...]], tuple[Value, ...]]] = {}
        """Definitions by form (:func:`_form`) over all rules: feature models repeat the same
        pieces (``if(a, 1, 0) + ... + if(h, 1, 0)`` saturated at 2) hundreds of times."""

    # -- public

    def is_large(self, expr: Expr) -> bool:
        """Whether ``expr``'s scope has more value combinations than the threshold."""
        self._measure(expr)
        return self._size(expr) > self.threshold

    def split(self, rule_id: str, expr: Expr) -> list[Constraint]:
        """Constraints equivalent to ``expr`` holding (aux definitions first, then the rule itself).

        Raises :class:`NotDecomposable` when some piece stays too large; nothing
        is then added to :attr:`variables`.
        """
        if _has_division(expr):
            raise NotDecomposable(f"rule {rule_id!r} divides; it is kept whole")
        self._rule, self._out, self._memo = rule_id, [], {}
        self._scopes, self._ref_memo, self._signs = {}, {}, {}
        kept = len(self.variables)
        try:
            expanded = _expand_sets(expr, self.vars_of, self.by_code)
            self._measure(expanded)
            top = self._lower(expanded)
            if self._size(top) > DEFINITION_LIMIT:
                raise NotDecomposable(f"rule {rule_id!r}: a part over {self._scope(top)} stays too large")
            self._out.append(self._constraint(top, lambda v: v is True, None))
        except NotDecomposable:
            for v in self.variables[kept:]:
                del self.domains[v.name]
                self._inputs.pop(v.name, None)
            del self.variables[kept:]
            raise
        return self._out

    def placed(self, variables: Sequence[Variable]) -> list[Variable]:
        """``variables`` with each auxiliary variable inserted right after the last variable it reads
        (decision diagrams stay small when a definition's variables sit together)."""
        after: dict[str, list[Variable]] = {}
        inputs = self._inputs
        position = {v.name: i for i, v in enumerate(variables)}
        for aux in self.variables:
            reads = [n for n in inputs.get(aux.name, ()) if n in position]
            anchor = max(reads, key=position.__getitem__) if reads else variables[-1].name if variables else ""
            after.setdefault(anchor, []).append(aux)
            position[aux.name] = position.get(anchor, -1)
        out: list[Variable] = []

        def emit(v: Variable) -> None:
            out.append(v)
            for aux in after.pop(v.name, []):
                emit(aux)

        for v in variables:
            emit(v)
        for rest in after.values():
            out.extend(rest)
        return out

    # -- lowering

    def _lower(self, e: Expr, cap: int | None = None) -> Expr:
        """``e`` with large parts replaced by auxiliary variables; with ``cap``, the caller reads
        only ``min(e, cap)``, so the parts of a non-negative sum may be defined saturated at ``cap``."""
        if self._size(e) <= PIECE:
            return e
        kids = _children(e)
        if not kids:
            raise NotDecomposable(f"rule {self._rule!r}: {type(e).__name__} over {self._scope(e)} is too large")
        caps = self._child_caps(e, kids, cap)
        lowered = [self._lower(k, c) for k, c in zip(kids, caps, strict=True)]
        # Replace the largest children by auxiliary variables until the node is small: in a chain
        # that is the accumulated left part, so short terms such as if(f, 1, 0) stay inline.
        for i in sorted(range(len(lowered)), key=lambda j: -self._size(lowered[j])):
            if self._size(_rebuild(e, lowered)) <= PIECE:
                break
            if not self._is_variable(lowered[i]):
                lowered[i] = Name(self._define(lowered[i], caps[i]))
        return _rebuild(e, lowered)

    def _child_caps(self, e: Expr, kids: Sequence[Expr], cap: int | None) -> list[int | None]:
        """Saturation bounds for the children of ``e``: a count compared with constants
        (``count <= 1``, ``sum in {2..4}``) only matters up to one past the largest constant, and
        ``min(a + b, c) == min(min(a, c) + min(b, c), c)`` for non-negative ``a``, ``b``. Partial
        sums of an at-most-one over 32 features then range over {0, 1, 2} instead of 0..32."""
        none: list[int | None] = [None] * len(kids)
        if isinstance(e, Binary) and e.op in _COMPARISONS:
            if isinstance(e.right, Int) and self._non_negative(e.left):
                return [max(e.right.value, -1) + 1, None]
            if isinstance(e.left, Int) and self._non_negative(e.right):
                return [None, max(e.left.value, -1) + 1]
            return none
        if isinstance(e, In) and self._non_negative(e.operand):
            bounds = [i.high if isinstance(i, Range) else i.value if isinstance(i, Int) else None for i in e.items]
            if all(b is not None for b in bounds):
                return [max([b for b in bounds if b is not None], default=-1) + 1, *none[1:]]
            return none
        if isinstance(e, Binary) and e.op == "+" and cap is not None and all(map(self._non_negative, kids)):
            return [cap, cap]
        return none

    def _non_negative(self, e: Expr) -> bool:
        """Whether ``e`` is an integer expression that is never negative (literals, variables with
        non-negative int domains, ``if(c, a, b)`` and sums of such); memoised by identity like
        :meth:`_scope` (every level of a chain asks again about the whole chain below it)."""
        known = self._signs.get(id(e))
        if known is not None and known[0] is e:
            return known[1]
        sign = self._non_negative_of(e)
        self._signs[id(e)] = (e, sign)
        return sign

    def _non_negative_of(self, e: Expr) -> bool:
        if isinstance(e, Int):
            return e.value >= 0
        if isinstance(e, Name):
            domain = self.domains.get(e.id)
            return domain is not None and all(type(v) is int and v >= 0 for v in domain)
        if isinstance(e, Call) and e.func == "if" and len(e.args) == 3:
            return self._non_negative(e.args[1]) and self._non_negative(e.args[2])
        if isinstance(e, Binary) and e.op == "+":
            return self._non_negative(e.left) and self._non_negative(e.right)
        return False

    def _is_variable(self, e: Expr) -> bool:
        return isinstance(e, Name) and e.id in self.domains

    def _define(self, e: Expr, cap: int | None = None) -> str:
        """An auxiliary variable equal to ``e``, or to ``min(e, cap)`` with ``cap`` (reused for a
        repeated subexpression of the rule)."""
        known = self._memo.get((e, cap))
        if known is not None:
            return known
        scope = self._scope(e)
        doms = [self.domains[n] for n in scope]
        definition, values = self._table(e, scope, cap)
        if math.prod(len(d) for d in doms) * max(len(values), 1) > DEFINITION_LIMIT:
            raise NotDecomposable(f"rule {self._rule!r}: a part over {scope} takes too many values")
        name = f"{self._rule}#{len(self.variables) + 1}"
        while name in self.domains:
            name += "'"
        domain = values
        self.variables.append(Variable(name, domain, name, auxiliary=True))
        self.domains[name] = domain
        self._memo[(e, cap)] = name

        def predicate(*values: Value) -> bool:
            return tuple(values) in definition

        self._inputs[name] = scope
        self._out.append(Constraint(self._rule, (*scope, name), predicate, definition))
        return name

    def _table(
        self, e: Expr, scope: tuple[str, ...], cap: int | None
    ) -> tuple[frozenset[tuple[Value, ...]], tuple[Value, ...]]:
        """The rows ``(*values of scope, value of e)`` where ``e`` is defined, and its values in order.

        Tabulated once per form: ``e`` with its variables renamed in order of appearance, their
        domains and ``cap`` (:func:`_form`); another rule's piece of the same form takes the same
        rows with the columns put in its own scope order."""
        form = _form(e, self.domains)
        if form is None:
            return self._tabulate(e, scope, cap)
        shape, literals, order = form
        doms = [self.domains[n] for n in order]
        key = (shape, literals, tuple(map(_typed, doms)), cap)
        known = self._tables.get(key)
        if known is None:
            known = self._tabulate(shape, tuple(_placeholder(i) for i in range(len(order))), cap, doms)
            self._tables[key] = known
        rows, values = known
        column = {n: i for i, n in enumerate(order)}
        permutation = [column[n] for n in scope]
        if permutation == list(range(len(order))):
            return rows, values
        return frozenset(map(operator.itemgetter(*permutation, len(order)), rows)), values

    def _tabulate(
        self, e: Expr, scope: tuple[str, ...], cap: int | None, doms: Sequence[tuple[Value, ...]] | None = None
    ) -> tuple[frozenset[tuple[Value, ...]], tuple[Value, ...]]:
        """:meth:`_table` computed: ``e`` (or ``min(e, cap)``) over every combination of ``doms`` (by
        default the domains of ``scope``), leaving out those where it is undefined."""
        if doms is None:
            doms = [self.domains[n] for n in scope]
        rows: list[tuple[Value, ...]] = []
        compute = _compiled(e, scope, self._set_positions, self._sets)
        for combo in itertools.product(*doms):
            try:
                value = _value(compute(combo))
                if cap is not None and type(value) is int:
                    value = min(value, cap)
            except EvaluationError:
                continue  # undefined: the rule is violated there, as when evaluated whole
            rows.append((*combo, value))
        return frozenset(rows), tuple(sorted({r[-1] for r in rows}, key=_order))

    def _constraint(self, e: Expr, accept: Callable[[object], bool], allowed: frozenset[tuple[Value, ...]] | None) -> Constraint:
        scope = self._scope(e)
        set_positions, sets = self._set_positions, self._sets
        compiled: list[Callable[[Sequence[Value]], object]] = []

        def predicate(*values: Value) -> bool:
            # Compiled on the first call, as build_model's whole rules: a model loaded with a stored
            # compiled form never calls it.
            if not compiled:
                compiled.append(_compiled(e, scope, set_positions, sets))
            try:
                return accept(compiled[0](values))
            except EvaluationError:
                return False

        return Constraint(self._rule, scope, predicate, allowed)

    # -- scopes and environments

    def _scope(self, e: Expr) -> tuple[str, ...]:
        # Lowering asks for the scope of the same subtrees again and again: memoised by identity
        # (the memo keeps each tree alive, so an id is never reused while it is there).
        return self._scoped(e)[1]

    def _scoped(self, e: Expr) -> tuple[Expr, tuple[str, ...], int]:
        """``(e, its scope, the scope's value combinations)``, memoised by identity."""
        known = self._scopes.get(id(e))
        if known is not None and known[0] is e:
            return known
        scope = self._scope_of(e)
        domains = self.domains
        known = (e, scope, math.prod(len(domains[n]) for n in scope))
        self._scopes[id(e)] = known
        return known

    def _refs(self, e: Expr) -> frozenset[str]:
        """``references(e)``, built from the children's (memoised by identity like :meth:`_scope`):
        lowering rebuilds a node many times over the same children."""
        known = self._ref_memo.get(id(e))
        if known is not None and known[0] is e:
            return known[1]
        if isinstance(e, Name):
            refs = frozenset((e.id,))
        else:
            kids = _children(e)
            refs = frozenset().union(*(self._refs(k) for k in kids)) if kids else references(e)
        self._ref_memo[id(e)] = (e, refs)
        return refs

    def _scope_of(self, e: Expr) -> tuple[str, ...]:
        out: list[str] = []
        for n in sorted(self._refs(e)):
            if n in self.domains:
                out.append(n)
            elif n in self.vars_of:
                out.extend(self.vars_of[n])
        return tuple(dict.fromkeys(out))

    def _size(self, e: Expr) -> int:
        """The value combinations of ``e``'s scope (from :meth:`_measure` for the subtrees of the rule)."""
        known = self._sizes.get(id(e))
        if known is not None and known[0] is e:
            return known[1]
        return self._scoped(e)[2]

    def _measure(self, root: Expr) -> None:
        """Record the scope size of every subtree of ``root`` in one pass, iteratively.

        Asking :meth:`_scoped` node by node copies and sorts the names of every prefix of a
        chain ``a or b or c ...`` (quadratic in its length; hundreds of terms in feature models).
        Here each node takes over the variable set of its largest child and adds the others'
        variables (small-to-large merging), multiplying in the domain size of each new one.
        Measuring another root forgets the sizes of the previous one (:meth:`is_large`, then
        :meth:`split` of the same rule, measure once)."""
        known = self._sizes.get(id(root))
        if known is not None and known[0] is root:
            return
        self._sizes = sizes = {}
        domains, vars_of = self.domains, self.vars_of
        stack: list[tuple[Expr, list[Expr] | None]] = [(root, None)]
        done: list[tuple[set[str], int]] = []
        while stack:
            e, kids = stack.pop()
            if kids is None:
                kids = _children(e)
                if kids:
                    stack.append((e, kids))
                    stack.extend((k, None) for k in kids)
                    continue
            names: set[str]
            size = 1
            if kids:
                parts = done[-len(kids):]
                del done[-len(kids):]
                names, size = max(parts, key=lambda part: len(part[0]))
                others = [n for part, _ in parts if part is not names for n in part]
            elif type(e) is Name:
                names = set()
                others = [e.id] if e.id in domains else list(vars_of.get(e.id, ()))
            else:
                names = set()
                others = [v for n in references(e) for v in ((n,) if n in domains else vars_of.get(n, ()))]
            for n in others:
                if n not in names:
                    names.add(n)
                    size *= len(domains[n])
            sizes[id(e)] = (e, size)
            done.append((names, size))


_SetPositions = Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]
_Sets = Sequence[tuple[str, tuple[str, ...], tuple[str, ...]]]


def _compiled(e: Expr, scope: Sequence[str], set_positions: _SetPositions, sets: _Sets) -> Callable[[Sequence[Value]], object]:
    """``e`` as a function of the values of ``scope`` (``configurator.fastexpr``), the same as
    evaluating it in :func:`_env`. ``set_positions``, ``sets``: the decomposer's set attributes."""
    try:
        return positional(e, scope, set_positions)
    except KeyError:
        return lambda values: evaluate(e, _env(scope, values, sets))


def _env(scope: Sequence[str], values: Iterable[Value], sets: _Sets) -> dict[str, object]:
    env: dict[str, object] = dict(zip(scope, values, strict=True))
    for code, elements, names in sets:
        if names and names[0] in env:
            env[code] = frozenset(e for e, n in zip(elements, names, strict=True) if env.get(n))
    return env


def _placeholder(i: int) -> str:
    return f"#{i}"  # not an identifier: no attribute or set is called that


def _form(e: Expr, domains: Mapping[str, object]) -> tuple[Expr, tuple[type, ...], tuple[str, ...]] | None:
    """``e``'s form: the tree with its variables renamed :func:`_placeholder` ``0, 1, ...`` in order
    of first appearance, the type of every literal (``Int(1) == Int(True)``) and the variables in
    that order; ``None`` when it reads a name that is not a variable of ``domains`` (a whole set
    attribute). Two pieces of one form compute the same value from the same values of their
    variables in that order."""
    order: dict[str, str] = {}
    types: list[type] = []

    def walk(x: Expr) -> Expr | None:
        if isinstance(x, Name):
            if x.id not in domains:
                return None
            known = order.get(x.id)
            if known is None:
                known = order[x.id] = _placeholder(len(order))
            return Name(known)
        kids = _children(x)
        if not kids:
            types.append(type(getattr(x, "value", None)))
            return x
        if isinstance(x, In):
            types.extend(type(i.low) for i in x.items if isinstance(i, Range))
            types.extend(type(i.high) for i in x.items if isinstance(i, Range))
        renamed: list[Expr] = []
        for k in kids:
            r = walk(k)
            if r is None:
                return None
            renamed.append(r)
        return _rebuild(x, renamed)

    shape = walk(e)
    if shape is None:
        return None
    return shape, tuple(types), tuple(order)


def _typed(domain: tuple[Value, ...]) -> tuple[tuple[type, Value], ...]:
    """A domain as a key that tells ``(False, True)`` from ``(0, 1)``."""
    return tuple((type(v), v) for v in domain)


def _value(v: object) -> Value:
    if isinstance(v, Fraction) and v.denominator == 1:
        return int(v)
    if isinstance(v, bool | int | str):
        return v
    raise EvaluationError(f"a decomposed part has the non-integer value {v!r}")


def _order(v: Value) -> tuple[int, Value]:
    return (0, v) if isinstance(v, bool | int) else (1, v)


def _children(e: Expr) -> list[Expr]:
    if isinstance(e, Unary):
        return [e.operand]
    if isinstance(e, Binary):
        return [e.left, e.right]
    if isinstance(e, Call):
        return list(e.args)
    if isinstance(e, In):
        return [e.operand, *(i for i in e.items if not isinstance(i, Range))]
    return []


def _rebuild(e: Expr, kids: Sequence[Expr]) -> Expr:
    if isinstance(e, Unary):
        return Unary(e.op, kids[0])
    if isinstance(e, Binary):
        return Binary(e.op, kids[0], kids[1])
    if isinstance(e, Call):
        return Call(e.func, tuple(kids))
    if isinstance(e, In):
        rest = iter(kids[1:])
        items = tuple(i if isinstance(i, Range) else next(rest) for i in e.items)
        return In(kids[0], items, e.negated)
    return e


def _has_division(e: Expr) -> bool:
    if isinstance(e, Binary) and e.op == "/":
        return True
    return any(_has_division(k) for k in _children(e))


def _expand_sets(e: Expr, vars_of: Mapping[str, tuple[str, ...]], by_code: Mapping[str, Attribute]) -> Expr:
    """``count(s)`` as a sum over element variables and ``has(s, v)`` as one element variable,
    so a large set splits like any other sum."""
    if isinstance(e, Call) and e.func in ("count", "has") and e.args and isinstance(e.args[0], Name):
        code = e.args[0].id
        a = by_code.get(code)
        if a is not None and a.kind is AttributeKind.SET:
            if e.func == "has" and len(e.args) == 2 and isinstance(e.args[1], Str):
                return Name(element_var(code, e.args[1].value))
            if e.func == "count":
                terms: list[Expr] = [Call("if", (Name(n), Int(1), Int(0))) for n in vars_of[code]]
                if not terms:
                    return Int(0)
                total = terms[0]
                for t in terms[1:]:
                    total = Binary("+", total, t)
                return total
    kids = _children(e)
    if not kids:
        return e
    expanded = [_expand_sets(k, vars_of, by_code) for k in kids]
    if all(x is k for x, k in zip(expanded, kids, strict=True)):
        return e  # nothing to expand below: the same tree (measured already by is_large)
    return _rebuild(e, expanded)


__all__ = ["DEFINITION_LIMIT", "LARGE_SCOPE", "PIECE", "Decomposer", "NotDecomposable"]
