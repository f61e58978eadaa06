"""Read SPLOT feature models (SXFM, ``.sxfm``/``.splx``).

The ``<feature_tree>`` section is indentation based, one feature per line:
``:r`` root, ``:m`` mandatory, ``:o`` optional, ``:g [lo,hi]`` a group (not a
feature itself; ``*`` = no upper bound) whose members are ``:`` lines. A
feature is written ``name (id)``; the id (used by constraints) defaults to
the name. ``<constraints>`` holds CNF clauses ``label: lit or lit ...`` with
``~`` for negation. The file is read as text, not XML: SPLOT files are not
well-formed XML in general (names contain ``&``, ``<``).

>>> fm = parse_sxfm('<feature_model name="m">\\n<feature_tree>\\n:r Bike (bike)\\n\\t:g (g1) [1,1]\\n'
...                 '\\t\\t: Steel (steel)\\n\\t\\t: Carbon (carbon)\\n</feature_tree>\\n<constraints>\\n'
...                 'c1: ~carbon or steel\\n</constraints>\\n</feature_model>\\n', "bike.sxfm")
>>> g = fm.root.groups[0]
>>> g.kind, g.low, g.high, [(f.name, f.label) for f in g.children], fm.constraints[0].text
('alternative', 1, 1, [('steel', 'Steel'), ('carbon', 'Carbon')], '~carbon or steel')
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from catalog.featuremodels.model import (
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
from catalog.snapshot import SourceLoc

_NODE = re.compile(r"(?P<kind>:[rmog]?)(?:\s+|$)(?P<rest>.*)")
_GROUP = re.compile(r"(?:\((?P<id>[^()]*)\))?\s*\[\s*(?P<low>\d+)\s*,\s*(?P<high>\d+|\*)\s*\]\s*")
_NAMED = re.compile(r"(?P<name>.*?)\s*(?:\((?P<id>[^()]*)\))?\s*")
_MODEL_NAME = re.compile(r'<feature_model\s+name="(?P<name>[^"]*)"')


@dataclass(slots=True)
class _Node:
    """A feature (or group, ``kind`` ":g") while the tree is being read."""

    kind: str
    name: str
    label: str
    loc: SourceLoc
    low: int = 0
    high: int | None = None
    children: list[_Node] = field(default_factory=list)


def parse_sxfm(text: str, filename: str = "<string>") -> FeatureModel:
    """Parse SXFM text; ``CatalogInvalid`` lists every problem with its line and column."""
    return _Reader(text.removeprefix("\ufeff"), filename).model()


class _Reader:
    def __init__(self, text: str, filename: str) -> None:
        self.lines = text.splitlines()
        self.filename = filename
        self.problems: list[Problem] = []

    def problem(self, line: int, column: int, message: str) -> None:
        self.problems.append(Problem(self.filename, line, column, "", message))

    def section(self, tag: str) -> tuple[int, int] | None:
        """0-based (first, end) line indexes of the lines between <tag> and </tag>."""
        start = next((i for i, ln in enumerate(self.lines) if ln.strip() == f"<{tag}>"), None)
        if start is None:
            return None
        end = next((i for i in range(start + 1, len(self.lines)) if self.lines[i].strip() == f"</{tag}>"), None)
        if end is None:
            self.problem(start + 1, 1, f"<{tag}> is not closed by </{tag}>")
            return start + 1, len(self.lines)
        return start + 1, end

    def model(self) -> FeatureModel:
        tree = self.section("feature_tree")
        if tree is None:
            self.problem(1, 1, "the file has no <feature_tree> section")
            raise CatalogInvalid(self.problems)
        root = self.tree(*tree)
        constraints: list[CrossTreeConstraint] = []
        cons = self.section("constraints")
        if cons is not None:
            for i in range(*cons):
                c = self.clause(i)
                if c is not None:
                    constraints.append(c)
        if self.problems or root is None:
            if not self.problems:
                self.problem(tree[0] + 1, 1, "the feature tree has no root (a ':r' line)")
            raise CatalogInvalid(self.problems)
        head = next((m for m in map(_MODEL_NAME.search, self.lines[:5]) if m), None)
        name = html.unescape(head.group("name")) if head else root.name
        return FeatureModel(name, _feature(root), tuple(constraints), "sxfm", self.filename)

    def tree(self, first: int, end: int) -> _Node | None:
        stack: list[tuple[int, _Node]] = []
        root: _Node | None = None
        for i in range(first, end):
            raw = self.lines[i]
            if not raw.strip():
                continue
            depth = len(raw) - len(raw.lstrip("\t "))
            node = self.node(i, raw, depth)
            if node is None:
                continue
            while stack and stack[-1][0] >= depth:
                stack.pop()
            if node.kind == ":r":
                if root is not None or stack:
                    self.problem(i + 1, depth + 1, "a second root (':r') in the feature tree")
                    continue
                root = node
            elif not stack:
                self.problem(i + 1, depth + 1, f"feature {node.label!r} is not below the root")
                continue
            else:
                parent = stack[-1][1]
                if (node.kind == ":") != (parent.kind == ":g"):
                    where = "directly below a group ':g'" if node.kind == ":" else "below a group (use ':')"
                    self.problem(i + 1, depth + 1, f"'{node.kind}' line for {node.label!r}: only ':' lines may stand {where}"
                                 if node.kind == ":" else f"'{node.kind}' line for {node.label!r} cannot stand {where}")
                    continue
                parent.children.append(node)
            stack.append((depth, node))
        return root

    def node(self, i: int, raw: str, depth: int) -> _Node | None:
        body = raw.strip()
        loc = SourceLoc(self.filename, i + 1, depth + 1)
        m = _NODE.fullmatch(body)
        if m is None:
            self.problem(i + 1, depth + 1, f"expected a feature line (':r', ':m', ':o', ':g' or ':'), found {body!r}")
            return None
        kind, rest = m.group("kind"), m.group("rest")
        if kind == ":g":
            g = _GROUP.fullmatch(rest)
            if g is None:
                self.problem(i + 1, depth + 1, f"group line {body!r}: expected ':g (id) [low,high]'")
                return None
            low = int(g.group("low"))
            high = None if g.group("high") == "*" else int(g.group("high"))
            if high is not None and high < low:
                self.problem(i + 1, depth + 1, f"group cardinality [{low},{high}]: the upper bound is below the lower bound")
            return _Node(kind, g.group("id") or f"group_{i + 1}", "", loc, low, high)
        named = _NAMED.fullmatch(rest)
        assert named is not None  # the pattern accepts any text
        label = html.unescape(named.group("name").strip())
        ident = (named.group("id") or "").strip() or label
        if not ident:
            self.problem(i + 1, depth + 1, f"feature line {body!r} has no name")
            return None
        return _Node(kind, ident, label or ident, loc)

    def clause(self, i: int) -> CrossTreeConstraint | None:
        raw = self.lines[i]
        body = raw.strip()
        if not body:
            return None
        column = len(raw) - len(raw.lstrip()) + 1
        label, colon, clause = body.partition(":")
        if not colon:
            self.problem(i + 1, column, f"constraint {body!r}: expected 'label: literal or literal ...'")
            return None
        offset = column + len(label) + 1
        literals: list[Formula] = []
        for m in re.finditer(r"\S+", clause):
            word = m.group()
            if word == "or":
                continue
            negated = word.startswith("~")
            name = word[1:] if negated else word
            at = SourceLoc(self.filename, i + 1, offset + m.start())
            if not name:
                self.problem(i + 1, offset + m.start(), f"constraint {label.strip()!r}: '~' without a feature")
                continue
            ref = Ref(name, None, at)
            literals.append(Not(ref) if negated else ref)
        if not literals:
            self.problem(i + 1, column, f"constraint {label.strip()!r} is empty")
            return None
        formula = literals[0] if len(literals) == 1 else Nary("or", tuple(literals))
        return CrossTreeConstraint(formula, clause.strip(), SourceLoc(self.filename, i + 1, column))


def _feature(node: _Node) -> Feature:
    groups: list[FeatureGroup] = []
    mandatory = tuple(_feature(c) for c in node.children if c.kind == ":m")
    optional = tuple(_feature(c) for c in node.children if c.kind == ":o")
    if mandatory:
        groups.append(FeatureGroup("mandatory", mandatory))
    if optional:
        groups.append(FeatureGroup("optional", optional))
    for g in (c for c in node.children if c.kind == ":g"):
        members = tuple(_feature(c) for c in g.children)
        if not members:
            continue
        if (g.low, g.high) == (1, 1):
            groups.append(FeatureGroup("alternative", members, 1, 1, g.loc))
        elif g.low == 1 and (g.high is None or g.high >= len(members)):
            groups.append(FeatureGroup("or", members, 1, None, g.loc))
        else:
            groups.append(FeatureGroup("cardinality", members, g.low, g.high, g.loc))
    label = node.label if node.label != node.name else None
    return Feature(node.name, node.loc, groups=tuple(groups), label=label)
