"""Turn a :class:`~catalog.featuremodels.model.FeatureModel` into a catalog with one product.

Mapping (see docs/feature-models.md):

- every feature is a bool attribute; its code is the feature name made an
  identifier (other characters become ``_``, a leading digit or a rule-language
  keyword gets a prefix or suffix, repeats get ``_2``...), its label the
  original name; the storefront groups follow the tree (one step per feature
  with children);
- the root is always selected (rule ``root``); every child implies its parent
  (``parent-*``); a mandatory child is equivalent to its parent (``mandatory-*``);
  an alternative group is "exactly one when the parent", an or-group "at least
  one when the parent", a cardinality group ``[n..m]`` "between n and m when the
  parent"; cross-tree constraints become ``ctc-<n>`` rules;
- arithmetic constraints over numeric feature attributes (``sum(Price) < 12``)
  become integer rules over ``if(feature, value, 0)`` terms, scaled to integers;
- groups with more than :data:`CHUNK` children are split with derived
  attributes (``<parent>__any<k>``, ``<parent>__n<k>``) that are functions of
  the features, so the number of configurations stays the number of feature
  selections.

Constraints the rule language cannot state exactly (values of Integer/String
features, ``avg``, ``len``, string comparisons) are not enforced; each is
named in the product description and in :attr:`Conversion.skipped`.

>>> from catalog.featuremodels.uvl import parse_uvl
>>> fm = parse_uvl("features\\n\\tBike\\n\\t\\talternative\\n\\t\\t\\tSteel\\n\\t\\t\\tCarbon\\n\\t\\toptional\\n"
...                "\\t\\t\\tRack\\nconstraints\\n\\tCarbon => !Rack\\n", "bike.uvl")
>>> [r.text for r in to_catalog(fm).catalog.products[0].rules]
['Bike', 'Steel -> Bike', 'Carbon -> Bike', 'Bike -> if(Steel, 1, 0) + if(Carbon, 1, 0) == 1', 'Rack -> Bike', 'Carbon -> not Rack']
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import PurePath

from catalog.featuremodels.model import (
    ARITH_OPS,
    COMPARE_OPS,
    Aggregate,
    Binary,
    Const,
    CrossTreeConstraint,
    Feature,
    FeatureGroup,
    FeatureModel,
    Formula,
    Nary,
    Not,
    Ref,
)
from catalog.files.problems import CatalogInvalid, Problem
from catalog.snapshot import Attribute, AttributeKind, Catalog, Group, Label, Product, Rule, SourceLoc

log = logging.getLogger("catalog.featuremodels")

CHUNK = 32
"""Most terms in one generated sum or disjunction; larger groups are split with derived attributes
(the rule language limits a text's nesting depth)."""
MAX_CODE = 48
"""Longest attribute code generated from a feature name (longer names are cut, the label keeps them)."""
RESERVED = frozenset({"and", "or", "not", "in", "true", "false", "if", "count", "has", "min", "max",
                      "abs", "ceil", "floor", "round"})
"""Rule-language keywords and function names, which a feature code must not be."""
DERIVED_GROUP = "derived"
META_ATTRIBUTES = "UVL attributes: "
META_TYPE = "UVL type: "
META_CARDINALITY = "UVL cardinality: "
META_ABSTRACT = "Abstract feature."
META_DERIVED = "Derived: "


@dataclass(frozen=True, slots=True)
class Skipped:
    """A constraint that is not enforced, with why."""

    text: str
    reason: str
    loc: SourceLoc | None = None

    def __str__(self) -> str:
        where = f"{self.loc.line}:{self.loc.column}: " if self.loc else ""
        return f"{where}{self.text} ({self.reason})"


@dataclass(frozen=True, slots=True)
class Conversion:
    """The catalog, the feature -> attribute code map, and the constraints not enforced."""

    catalog: Catalog
    codes: dict[str, str]
    order: tuple[str, ...]
    """Feature attribute codes in depth-first tree order (a good variable order)."""
    skipped: tuple[Skipped, ...] = ()


class _Unsupported(Exception):
    pass


def sanitize(name: str) -> str:
    """An identifier for a feature name: other characters become ``_``; keywords get a suffix.

    >>> sanitize("Creme Fraiche"), sanitize("700c"), sanitize("or"), sanitize("F_128GB Solid-State")
    ('Creme_Fraiche', 'f_700c', 'or_', 'F_128GB_Solid_State')
    """
    code = re.sub(r"[^A-Za-z0-9_]", "_", name.strip()) or "feature"
    if code[0].isdigit():
        code = "f_" + code
    code = code[:MAX_CODE]
    if code.lower() in RESERVED:
        code += "_"
    return code


def slug(text: str) -> str:
    """A lower-case id (``[a-z0-9][a-z0-9_-]*``) for groups, rules, products and catalogs.

    >>> slug("Digital_Video System"), slug("__x")
    ('digital_video-system', 'x')
    """
    out = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")
    return out[:60] or "model"


def product_code(text: str) -> str:
    """A product or catalog code (``[a-z0-9][a-z0-9-]*``, no underscores) for any model or file name.

    >>> product_code("n_100000__f_100001"), product_code("E-Shop"), product_code("__"), product_code("Ä_b")
    ('n-100000-f-100001', 'e-shop', 'model', 'b')
    """
    out = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return out[:60].rstrip("-") or "model"


class _Names:
    def __init__(self) -> None:
        self.used: set[str] = set()

    def unique(self, base: str) -> str:
        name, n = base, 1
        while name.lower() in self.used:
            n += 1
            name = f"{base}_{n}" if not base[-1].isdigit() else f"{base}-{n}"
        self.used.add(name.lower())
        return name


class _Builder:
    def __init__(self, fm: FeatureModel) -> None:
        self.fm = fm
        self.codes: dict[str, str] = {}
        self.features: dict[str, Feature] = {}
        self.attributes: list[Attribute] = []
        self.derived: list[Attribute] = []
        self.groups: list[Group] = []
        self.rules: list[Rule] = []
        self.skipped: list[Skipped] = []
        self.problems: list[Problem] = []
        self.attr_names = _Names()
        self.rule_ids = _Names()
        self.group_ids = _Names()

    # -- features

    def declare(self) -> None:
        step_of: dict[str, str] = {}
        parent_of: dict[str, str] = {}
        unique: list[Feature] = []
        for f in self.fm.features():
            if f.name in self.features:
                self.problem(f.loc, f"feature {f.name!r} is declared twice")
                continue
            unique.append(f)
            self.features[f.name] = f
            self.codes[f.name] = self.attr_names.unique(sanitize(f.name))
            for g in f.groups:
                for c in g.children:
                    parent_of.setdefault(c.name, f.name)
            if f.groups:
                step_of[f.name] = self.group_ids.unique(slug(self.codes[f.name]))
                self.groups.append(Group(step_of[f.name], Label(_name(f))))
        for f in unique:
            # The root sits in its own step; every other feature in its parent's.
            step = step_of.get(parent_of.get(f.name, f.name))
            self.attributes.append(
                Attribute(self.codes[f.name], AttributeKind.BOOL, Label(_name(f)),
                          group=step, description=_metadata(f), loc=f.loc)
            )

    def problem(self, loc: SourceLoc | None, message: str) -> None:
        line, column = (loc.line, loc.column) if loc else (0, 0)
        self.problems.append(Problem(self.fm.source, line, column, "", message))

    def rule(self, base: str, text: str, en: str, loc: SourceLoc | None = None) -> None:
        self.rules.append(Rule(self.rule_ids.unique(base), Label(en), text=text, loc=loc, text_loc=loc))

    # -- the tree

    def tree(self) -> None:
        root = self.fm.root
        self.rule("root", self.codes[root.name], f"{_name(root)} is always selected.", root.loc)
        for f in self.fm.features():
            for g in f.groups:
                self.group(f, g)

    def group(self, parent: Feature, g: FeatureGroup) -> None:
        p = self.codes[parent.name]
        kids = [self.codes[c.name] for c in g.children]
        for c, code in zip(g.children, kids, strict=True):
            if g.kind == "mandatory":
                self.rule(f"mandatory-{slug(code)}", f"{code} <-> {p}",
                          f"{_name(c)} is included exactly when {_name(parent)} is.", c.loc)
            else:
                self.rule(f"parent-{slug(code)}", f"{code} -> {p}", f"{_name(c)} needs {_name(parent)}.", c.loc)
        names = ", ".join(_name(c) for c in g.children)
        if g.kind == "alternative" or (g.kind == "cardinality" and (g.low, g.high) == (1, 1)):
            text = kids[0] if len(kids) == 1 else self.exactly_one(p, kids)
            self.rule(f"alternative-{slug(p)}", f"{p} -> {text}",
                      f"Choose exactly one of {names} for {_name(parent)}.", g.loc)
        elif g.kind == "or" or (g.kind == "cardinality" and g.low == 1 and (g.high is None or g.high >= len(kids))):
            self.rule(f"or-{slug(p)}", f"{p} -> {self.any_of(p, kids)}",
                      f"Choose at least one of {names} for {_name(parent)}.", g.loc)
        elif g.kind == "cardinality":
            high = len(kids) if g.high is None else min(g.high, len(kids))
            if g.low == 0 and high >= len(kids):
                return
            total = self.count(p, kids)
            bound = f"== {g.low}" if g.low == high else f"in {{{g.low}..{high}}}" if g.low <= high else "< 0"
            self.rule(f"group-{slug(p)}", f"{p} -> {total} {bound}",
                      f"Choose {g.low} to {high} of {names} for {_name(parent)}.", g.loc)

    def aux(self, parent: str, what: str, kind: AttributeKind, text_of: str, high: int = 1) -> str:
        code = self.attr_names.unique(f"{parent[: MAX_CODE - 8]}__{what}")
        self.derived.append(Attribute(
            code, kind, Label(f"{parent}: {what} (derived)"), minimum=0 if kind is AttributeKind.INT else None,
            maximum=high if kind is AttributeKind.INT else None, group=DERIVED_GROUP,
            description=Label(f"{META_DERIVED}{text_of}"),
        ))
        return code

    def any_of(self, parent: str, codes: list[str]) -> str:
        if len(codes) <= CHUNK:
            return " or ".join(codes)
        anys = []
        for k, chunk in enumerate(_chunks(codes), start=1):
            body = " or ".join(chunk)
            code = self.aux(parent, f"any{k}", AttributeKind.BOOL, body)
            self.rule(f"derived-{slug(code)}", f"{code} <-> ({body})", f"{code} is true when one of {body} is.")
            anys.append(code)
        return self.any_of(parent, anys)

    def exactly_one(self, parent: str, codes: list[str]) -> str:
        if len(codes) <= CHUNK:
            return f"{_count(codes)} == 1"
        anys = []
        for k, chunk in enumerate(_chunks(codes), start=1):
            body = " or ".join(chunk)
            code = self.aux(parent, f"any{k}", AttributeKind.BOOL, body)
            self.rule(f"derived-{slug(code)}", f"{code} <-> ({body})", f"{code} is true when one of {body} is.")
            self.rule(f"at-most-one-{slug(code)}", f"{_count(chunk)} <= 1", f"At most one of {', '.join(chunk)}.")
            anys.append(code)
        return self.exactly_one(parent, anys)

    def count(self, parent: str, codes: list[str]) -> str:
        """An int expression counting the selected ``codes`` (derived partial counts when long)."""
        if len(codes) <= CHUNK:
            return _count(codes)
        parts = []
        for k, chunk in enumerate(_chunks(codes), start=1):
            body = _count(chunk)
            code = self.aux(parent, f"n{k}", AttributeKind.INT, body, high=len(chunk))
            self.rule(f"derived-{slug(code)}", f"{code} == {body}", f"{code} counts the selected of {', '.join(chunk)}.")
            parts.append(code)
        return " + ".join(parts) if len(parts) <= CHUNK else self._count_ints(parent, parts, [len(c) for c in _chunks(codes)])

    def _count_ints(self, parent: str, parts: list[str], highs: list[int]) -> str:
        while len(parts) > CHUNK:
            merged, merged_highs = [], []
            for k, start in enumerate(range(0, len(parts), CHUNK), start=1):
                chunk, top = parts[start : start + CHUNK], sum(highs[start : start + CHUNK])
                body = " + ".join(chunk)
                code = self.aux(parent, f"sum{len(parts)}_{k}", AttributeKind.INT, body, high=top)
                self.rule(f"derived-{slug(code)}", f"{code} == {body}", f"{code} adds {body}.")
                merged.append(code)
                merged_highs.append(top)
            parts, highs = merged, merged_highs
        return " + ".join(parts)

    # -- cross-tree constraints

    def constraints(self) -> None:
        for n, c in enumerate(self.fm.constraints, start=1):
            try:
                text = self.formula(c.formula)
            except _Unsupported as exc:
                self.skipped.append(Skipped(c.text, str(exc), c.loc))
                log.warning("%s: constraint %r not enforced: %s", _where(c), c.text, exc)
                continue
            self.rule(f"ctc-{n}", text, f"Constraint {c.text}", c.loc)

    def feature_code(self, ref: Ref) -> str:
        code = self.codes.get(ref.feature)
        if code is None:
            self.problem(ref.loc, f"constraint names an unknown feature {ref.feature!r}")
            return "false"
        return code

    def formula(self, f: Formula) -> str:
        if isinstance(f, Ref):
            if f.attribute is not None:
                raise _Unsupported(f"the attribute {f.feature}.{f.attribute} is not a condition")
            return self.feature_code(f)
        if isinstance(f, Const):
            if isinstance(f.value, bool):
                return "true" if f.value else "false"
            raise _Unsupported(f"the literal {f.value!r} is not a condition")
        if isinstance(f, Not):
            return f"not {_wrap(self.formula(f.operand))}"
        if isinstance(f, Nary):
            if not f.operands:
                return "true" if f.op == "and" else "false"
            return f" {f.op} ".join(_wrap(self.formula(a)) for a in f.operands)
        if isinstance(f, Binary) and f.op in ("->", "<->"):
            return f"{_wrap(self.formula(f.left))} {f.op} {_wrap(self.formula(f.right))}"
        if isinstance(f, Binary) and f.op in COMPARE_OPS:
            return self.comparison(f)
        raise _Unsupported("an arithmetic value is not a condition")

    def comparison(self, f: Binary) -> str:
        left, right = self.linear(f.left), self.linear(f.right)
        terms = dict(left[0])
        for code, w in right[0].items():
            terms[code] = terms.get(code, Fraction(0)) - w
        terms = {c: w for c, w in terms.items() if w != 0}
        bound = right[1] - left[1]
        scale = math.lcm(*(w.denominator for w in [*terms.values(), bound]))
        ints = {c: int(w * scale) for c, w in terms.items()}
        limit = int(bound * scale)
        if not ints:
            return "true" if _compare(0, f.op, limit) else "false"
        codes = list(ints)
        if len(codes) > CHUNK:
            return f"{self.weighted_sum(codes, ints)} {f.op} {limit}"
        return f"{' + '.join(f'if({c}, {ints[c]}, 0)' for c in codes)} {f.op} {limit}"

    def weighted_sum(self, codes: list[str], ints: dict[str, int]) -> str:
        parts, highs = [], []
        for k, chunk in enumerate(_chunks(codes), start=1):
            body = " + ".join(f"if({c}, {ints[c]}, 0)" for c in chunk)
            low = sum(min(ints[c], 0) for c in chunk)
            high = sum(max(ints[c], 0) for c in chunk)
            code = self.aux("sum", f"part{len(self.derived) + 1}_{k}", AttributeKind.INT, body, high=high)
            attr = self.derived.pop()
            self.derived.append(Attribute(attr.code, AttributeKind.INT, attr.label, minimum=low, maximum=high,
                                          group=DERIVED_GROUP, description=attr.description))
            self.rule(f"derived-{slug(code)}", f"{code} == {body}", f"{code} adds {body}.")
            parts.append(code)
            highs.append(high)
        if len(parts) > CHUNK:
            raise _Unsupported(f"a sum over {len(codes)} features is longer than supported")
        return " + ".join(parts)

    def linear(self, f: Formula) -> tuple[dict[str, Fraction], Fraction]:  # noqa: C901 - one case per node
        """``f`` as (feature code -> coefficient of "selected", constant)."""
        if isinstance(f, Const):
            if isinstance(f.value, Fraction) and not isinstance(f.value, bool):
                return {}, f.value
            raise _Unsupported(f"the literal {f.value!r} is not a number")
        if isinstance(f, Aggregate):
            if f.func != "sum" or f.attribute is None:
                raise _Unsupported(f"the aggregate {'len' if f.func == 'length' else f.func}() is not supported")
            scope = self.features[f.feature].walk() if f.feature in self.features else self.fm.features()
            if f.feature is not None and f.feature not in self.features:
                raise _Unsupported(f"sum over unknown feature {f.feature!r}")
            out: dict[str, Fraction] = {}
            for feat in scope:
                value = next((a.number for a in feat.attributes if a.key == f.attribute), None)
                if value is not None and value != 0:
                    out[self.codes[feat.name]] = value
            return out, Fraction(0)
        if isinstance(f, Ref):
            return {}, self.attribute_value(f)
        if isinstance(f, Binary) and f.op in ARITH_OPS:
            (lt, lc), (rt, rc) = self.linear(f.left), self.linear(f.right)
            if f.op in ("+", "-"):
                sign = 1 if f.op == "+" else -1
                terms = dict(lt)
                for c, w in rt.items():
                    terms[c] = terms.get(c, Fraction(0)) + sign * w
                return terms, lc + sign * rc
            if f.op == "*" and (not lt or not rt):
                factor, (scaled, const) = (lc, (rt, rc)) if not lt else (rc, (lt, lc))
                return {n: w * factor for n, w in scaled.items()}, const * factor
            if f.op == "/" and not rt and rc != 0:
                return {n: w / rc for n, w in lt.items()}, lc / rc
            raise _Unsupported("only linear arithmetic (sums, products and quotients by constants) is supported")
        raise _Unsupported("this expression is not a number")

    def attribute_value(self, ref: Ref) -> Fraction:
        feat = self.features.get(ref.feature)
        if feat is None:
            if ref.attribute is None:
                raise _Unsupported(f"unknown feature {ref.feature!r}")
            raise _Unsupported(f"unknown feature {ref.feature!r} in {ref.feature}.{ref.attribute}")
        if ref.attribute is None:
            kind = feat.type or "Boolean"
            raise _Unsupported(f"the value of {kind} feature {ref.feature!r} is not modelled, only whether it is selected")
        value = next((a for a in feat.attributes if a.key == ref.attribute), None)
        if value is None or value.number is None:
            raise _Unsupported(f"{ref.feature}.{ref.attribute} is not a numeric attribute")
        return value.number


def to_catalog(fm: FeatureModel, *, code: str | None = None, currency: str = "CNY") -> Conversion:
    """Convert a parsed feature model; unknown feature references raise ``CatalogInvalid``."""
    b = _Builder(fm)
    b.declare()
    if not b.problems:
        b.tree()
        b.constraints()
    if b.problems:
        raise CatalogInvalid(b.problems)
    groups = list(b.groups)
    if b.derived:
        groups.append(Group(DERIVED_GROUP, Label("Derived (computed from other choices)", "派生（由其他选项计算）")))
    features = len(b.attributes)
    notes = [f"Imported from the {_FORMATS[fm.format]} feature model {PurePath(fm.source).name}: "
             f"{features} features, {len(fm.constraints)} cross-tree constraints."]
    if fm.description:
        notes.insert(0, fm.description)
    if b.skipped:
        notes.append("Not enforced: " + "; ".join(str(s) for s in b.skipped) + ".")
    code_of_product = code or product_code(fm.name)
    product = Product(
        code=code_of_product,
        name=Label(fm.name),
        base_price=Decimal("0"),
        attributes=tuple(b.attributes + b.derived),
        rules=tuple(b.rules),
        groups=tuple(groups),
        description=Label(" ".join(notes)),
        loc=fm.root.loc,
    )
    catalog = Catalog(
        code=code or product_code(PurePath(fm.source).stem or fm.name),
        name=Label(fm.name),
        currency=currency,
        parts=(),
        modules=(),
        products=(product,),
        description=Label(notes[-1] if not b.skipped else notes[0]),
    )
    order = tuple(b.codes[f.name] for f in fm.features())
    return Conversion(catalog, dict(b.codes), order, tuple(b.skipped))


_FORMATS = {"uvl": "UVL", "featureide": "FeatureIDE", "sxfm": "SPLOT SXFM"}


def _metadata(f: Feature) -> Label | None:
    lines = []
    if f.description:
        lines.append(f.description)
    if f.abstract:
        lines.append(META_ABSTRACT)
    if f.type:
        lines.append(f"{META_TYPE}{f.type}")
    if f.cardinality:
        low, high = f.cardinality
        lines.append(f"{META_CARDINALITY}[{low}..{'*' if high is None else high}]")
    if f.attributes:
        lines.append(META_ATTRIBUTES + "{" + ", ".join(f"{a.key} {a.text}" for a in f.attributes) + "}")
    return Label("\n".join(lines)) if lines else None


def _name(f: Feature) -> str:
    return f.label or f.name


def _where(c: CrossTreeConstraint) -> str:
    return str(c.loc) if c.loc else "?"


def _chunks(codes: list[str]) -> list[list[str]]:
    return [codes[i : i + CHUNK] for i in range(0, len(codes), CHUNK)]


def _count(codes: list[str]) -> str:
    return " + ".join(f"if({c}, 1, 0)" for c in codes)


def _wrap(text: str) -> str:
    # "not" binds tighter than every connective, so a negated name needs no parentheses either.
    return text if re.fullmatch(r"(not )*[A-Za-z_][A-Za-z0-9_]*", text) else f"({text})"


def _compare(a: int, op: str, b: int) -> bool:
    return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
