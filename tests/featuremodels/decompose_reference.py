"""The rule decomposer as it was before its speed-ups (main at dc1797b), kept verbatim as a test oracle.

``tests/featuremodels/test_decompose_equivalence.py`` builds models with this class in place of
``configurator.decompose.Decomposer`` and checks that the current one gives the same variables
and constraints. Do not edit it to follow changes of meaning: such a change needs its own tests.
"""

from __future__ import annotations

import itertools
import math
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
        self._scopes: dict[int, tuple[Expr, tuple[str, ...]]] = {}
        self._ref_memo: dict[int, tuple[Expr, frozenset[str]]] = {}

    # -- public

    def is_large(self, expr: Expr) -> bool:
        """Whether ``expr``'s scope has more value combinations than the threshold."""
        return self._size(expr) > self.threshold

    def split(self, rule_id: str, expr: Expr) -> list[Constraint]:
        """Constraints equivalent to ``expr`` holding (aux definitions first, then the rule itself).

        Raises :class:`NotDecomposable` when some piece stays too large; nothing
        is then added to :attr:`variables`.
        """
        if _has_division(expr):
            raise NotDecomposable(f"rule {rule_id!r} divides; it is kept whole")
        self._rule, self._out, self._memo, self._scopes, self._ref_memo = rule_id, [], {}, {}, {}
        kept = len(self.variables)
        try:
            top = self._lower(_expand_sets(expr, self.vars_of, self.by_code))
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
        non-negative int domains, ``if(c, a, b)`` and sums of such)."""
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
        rows: list[tuple[Value, ...]] = []
        compute = self._compiled(e, scope)
        for combo in itertools.product(*doms):
            try:
                value = _value(compute(combo))
                if cap is not None and type(value) is int:
                    value = min(value, cap)
            except EvaluationError:
                continue  # undefined: the rule is violated there, as when evaluated whole
            rows.append((*combo, value))
        values = sorted({r[-1] for r in rows}, key=_order)
        if math.prod(len(d) for d in doms) * max(len(values), 1) > DEFINITION_LIMIT:
            raise NotDecomposable(f"rule {self._rule!r}: a part over {scope} takes too many values")
        name = f"{self._rule}#{len(self.variables) + 1}"
        while name in self.domains:
            name += "'"
        domain = tuple(values)
        self.variables.append(Variable(name, domain, name, auxiliary=True))
        self.domains[name] = domain
        self._memo[(e, cap)] = name
        definition = frozenset(rows)

        def predicate(*values: Value) -> bool:
            return tuple(values) in definition

        self._inputs[name] = scope
        self._out.append(Constraint(self._rule, (*scope, name), predicate, definition))
        return name

    def _constraint(self, e: Expr, accept: Callable[[object], bool], allowed: frozenset[tuple[Value, ...]] | None) -> Constraint:
        scope = self._scope(e)
        compute = self._compiled(e, scope)

        def predicate(*values: Value) -> bool:
            try:
                return accept(compute(values))
            except EvaluationError:
                return False

        return Constraint(self._rule, scope, predicate, allowed)

    # -- scopes and environments

    def _scope(self, e: Expr) -> tuple[str, ...]:
        # Lowering asks for the scope of the same subtrees again and again: memoised by identity
        # (the memo keeps each tree alive, so an id is never reused while it is there).
        known = self._scopes.get(id(e))
        if known is not None and known[0] is e:
            return known[1]
        scope = self._scope_of(e)
        self._scopes[id(e)] = (e, scope)
        return scope

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
        return math.prod(len(self.domains[n]) for n in self._scope(e))

    def _compiled(self, e: Expr, scope: Sequence[str]) -> Callable[[Sequence[Value]], object]:
        """``e`` as a function of the values of ``scope`` (``configurator.fastexpr``), the same as
        evaluating it in :meth:`_env`."""
        try:
            return positional(e, scope, self._set_positions)
        except KeyError:
            return lambda values: evaluate(e, self._env(scope, values))

    def _env(self, scope: Sequence[str], values: Iterable[Value]) -> dict[str, object]:
        env: dict[str, object] = dict(zip(scope, values, strict=True))
        for code, elements, names in self._sets:
            if names and names[0] in env:
                env[code] = frozenset(e for e, n in zip(elements, names, strict=True) if env.get(n))
        return env


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
    return _rebuild(e, [_expand_sets(k, vars_of, by_code) for k in kids])


__all__ = ["DEFINITION_LIMIT", "LARGE_SCOPE", "PIECE", "Decomposer", "NotDecomposable"]
