"""What every feature-model reader produces: a feature tree plus cross-tree constraints.

The three readers (UVL, FeatureIDE XML, SPLOT SXFM) fill these frozen
dataclasses; :mod:`catalog.featuremodels.convert` turns one into a catalog.
Every feature and constraint keeps the place it was read from, so conversion
problems (an unknown feature in a constraint) point back into the file.

Constraint formulas are a small tree of their own (:data:`Formula`), closer to
the feature-model languages than to the rule language: n-ary ``and``/``or``,
implication, equivalence, comparisons and arithmetic over numbers, feature
attributes (``Pizza.Price``) and aggregates (``sum(Price)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from catalog.snapshot import SourceLoc

GROUP_KINDS = ("mandatory", "optional", "or", "alternative", "cardinality")


@dataclass(frozen=True, slots=True)
class FeatureAttribute:
    """A typed attribute declared on a feature (``{Price 1.00, Organic true}``).

    ``text`` is the value as written (UVL syntax); ``number`` is set when the
    value is a plain number.
    """

    key: str
    text: str
    number: Fraction | None = None


@dataclass(frozen=True, slots=True)
class FeatureGroup:
    """Children of a feature under one relation.

    ``kind`` is one of :data:`GROUP_KINDS`; for "cardinality" ``low``/``high``
    bound how many children are selected when the parent is (``high`` None = no bound).
    """

    kind: str
    children: tuple[Feature, ...]
    low: int = 0
    high: int | None = None
    loc: SourceLoc | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    loc: SourceLoc | None = field(default=None, compare=False)
    abstract: bool = False
    type: str | None = None
    """"Integer", "Real", "String" for typed UVL features; ``None`` for Boolean features."""
    cardinality: tuple[int, int | None] | None = None
    """UVL feature cardinality (clones), kept as metadata only."""
    attributes: tuple[FeatureAttribute, ...] = ()
    groups: tuple[FeatureGroup, ...] = ()
    description: str | None = None
    label: str | None = None
    """Display name when it differs from ``name`` (SPLOT: name vs. id used in constraints)."""

    def walk(self) -> list[Feature]:
        """This feature and its descendants, depth first, parents before children.

        >>> leaf = Feature("b")
        >>> [f.name for f in Feature("a", groups=(FeatureGroup("optional", (leaf,)),)).walk()]
        ['a', 'b']
        """
        out: list[Feature] = []
        stack: list[Feature] = [self]
        while stack:
            f = stack.pop()
            out.append(f)
            for g in reversed(f.groups):
                stack.extend(reversed(g.children))
        return out


# --- constraint formulas -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ref:
    """A feature (``attribute`` None) or one of its attributes (``Pizza.Price``)."""

    feature: str
    attribute: str | None = None
    loc: SourceLoc | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Const:
    """A literal: a number, ``True``/``False`` or a string."""

    value: Fraction | bool | str


@dataclass(frozen=True, slots=True)
class Not:
    operand: Formula


@dataclass(frozen=True, slots=True)
class Nary:
    """``and``/``or`` over two or more operands."""

    op: str
    operands: tuple[Formula, ...]


@dataclass(frozen=True, slots=True)
class Binary:
    """``->``/``<->`` (logic), ``== != < <= > >=`` (comparison) or ``+ - * /`` (arithmetic)."""

    op: str
    left: Formula
    right: Formula


@dataclass(frozen=True, slots=True)
class Aggregate:
    """``sum(attr)``, ``avg(attr)`` (over the selected features, optionally below ``feature``),
    or ``len(ref)``, ``floor(x)``, ``ceil(x)`` (``argument`` set)."""

    func: str
    attribute: str | None = None
    feature: str | None = None
    argument: Formula | None = None


Formula = Ref | Const | Not | Nary | Binary | Aggregate

LOGIC_OPS = frozenset({"->", "<->"})
COMPARE_OPS = frozenset({"==", "!=", "<", "<=", ">", ">="})
ARITH_OPS = frozenset({"+", "-", "*", "/"})


@dataclass(frozen=True, slots=True)
class CrossTreeConstraint:
    formula: Formula
    text: str
    """The constraint as written in the file (for messages)."""
    loc: SourceLoc | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class FeatureModel:
    """A parsed feature model; ``format`` is "uvl", "featureide" or "sxfm"."""

    name: str
    root: Feature
    constraints: tuple[CrossTreeConstraint, ...]
    format: str
    source: str
    """File name the model was read from."""
    description: str | None = None

    def features(self) -> list[Feature]:
        """Every feature in depth-first order (the root first)."""
        return self.root.walk()
