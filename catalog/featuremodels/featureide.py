"""Read FeatureIDE feature models (``model.xml``).

The tree is ``<struct>`` with ``<and>`` (children are mandatory or optional
one by one), ``<or>``, ``<alt>`` and leaf ``<feature>`` elements carrying
``name``, ``mandatory`` and ``abstract``; ``<description>`` children are text,
not features. Cross-tree constraints are ``<rule>`` elements over ``<var>``,
``<not>``, ``<conj>``, ``<disj>``, ``<imp>``, ``<eq>``, ``<atmost1>``.
Entities are never resolved and nothing is fetched from the network.

>>> fm = parse_featureide(b'<featureModel><struct><and name="Car"><feature mandatory="true" name="Body"/>'
...                       b'</and></struct><constraints/></featureModel>', "car.xml")
>>> [(g.kind, [c.name for c in g.children]) for g in fm.root.groups]
[('mandatory', ['Body'])]
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from catalog.featuremodels.model import (
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
from catalog.snapshot import SourceLoc

_TREE_TAGS = ("and", "or", "alt", "feature")
_FORMULA_TAGS = {"var", "not", "conj", "disj", "imp", "eq", "atmost1"}


def parse_featureide(data: bytes, filename: str = "<string>") -> FeatureModel:
    """Parse FeatureIDE XML; ``CatalogInvalid`` lists every problem with its position."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (0, 0)
        raise CatalogInvalid([Problem(filename, line, column, "", f"XML syntax error: {exc.msg}")]) from None
    return _Reader(filename, data).model(root)


class _Reader:
    def __init__(self, filename: str, data: bytes) -> None:
        self.filename = filename
        self.lines = data.decode("utf-8", "replace").splitlines()
        self.problems: list[Problem] = []

    def loc(self, el: Any) -> SourceLoc:
        line = el.sourceline or 0
        column = 0
        if 0 < line <= len(self.lines):
            column = self.lines[line - 1].find("<" + el.tag) + 1
        return SourceLoc(self.filename, line, column)

    def problem(self, el: Any, message: str) -> None:
        where = self.loc(el)
        self.problems.append(Problem(self.filename, where.line, where.column, "", message))

    def model(self, root: Any) -> FeatureModel:
        if root.tag not in ("featureModel", "extendedFeatureModel"):
            self.problem(root, f"expected a <featureModel> document, found <{root.tag}>")
            raise CatalogInvalid(self.problems)
        struct = root.find("struct")
        tops = [] if struct is None else [c for c in struct if c.tag in _TREE_TAGS]
        if len(tops) != 1:
            self.problem(struct if struct is not None else root, "<struct> must hold exactly one root feature")
            raise CatalogInvalid(self.problems)
        tree = self.feature(tops[0])
        constraints: list[CrossTreeConstraint] = []
        section = root.find("constraints")
        if section is not None:
            for rule in section.iter("rule"):
                parts = [c for c in rule if c.tag in _FORMULA_TAGS]
                if len(parts) != 1:
                    self.problem(rule, "<rule> must hold exactly one formula")
                    continue
                formula = self.formula(parts[0])
                constraints.append(CrossTreeConstraint(formula, _text(formula), self.loc(rule)))
        if self.problems:
            raise CatalogInvalid(self.problems)
        return FeatureModel(tree.name, tree, tuple(constraints), "featureide", self.filename)

    def feature(self, el: Any) -> Feature:
        name = el.get("name")
        if not name:
            self.problem(el, f"<{el.tag}> has no name attribute")
            name = f"unnamed_{el.sourceline}"
        children = [c for c in el if c.tag in _TREE_TAGS]
        for c in el:
            if isinstance(c.tag, str) and c.tag not in _TREE_TAGS and c.tag not in ("description", "graphics", "attribute"):
                self.problem(c, f"unexpected <{c.tag}> inside feature {name!r}")
        if el.tag == "feature" and children:
            self.problem(children[0], f"leaf <feature> {name!r} cannot have children; use <and>, <or> or <alt>")
        features = [self.feature(c) for c in children]
        groups: list[FeatureGroup] = []
        if el.tag == "and":
            mandatory = tuple(f for f, c in zip(features, children, strict=True) if _true(c.get("mandatory")))
            optional = tuple(f for f, c in zip(features, children, strict=True) if not _true(c.get("mandatory")))
            groups += [FeatureGroup(k, fs, loc=self.loc(el)) for k, fs in (("mandatory", mandatory), ("optional", optional)) if fs]
        elif el.tag in ("or", "alt") and features:
            groups.append(FeatureGroup("or" if el.tag == "or" else "alternative", tuple(features), loc=self.loc(el)))
        description = el.findtext("description")
        return Feature(
            name,
            self.loc(el),
            abstract=_true(el.get("abstract")),
            groups=tuple(groups),
            description=" ".join(description.split()) if description else None,
        )

    def formula(self, el: Any) -> Formula:
        tag = el.tag
        if tag == "var":
            name = (el.text or "").strip()
            if not name:
                self.problem(el, "<var> names no feature")
            return Ref(name, None, self.loc(el))
        args = [self.formula(c) for c in el if c.tag in _FORMULA_TAGS]
        arity = {"not": 1, "imp": 2, "eq": 2}.get(tag)
        if (arity is not None and len(args) != arity) or (arity is None and not args):
            self.problem(el, f"<{tag}> has {len(args)} operands")
            return Ref("", None, self.loc(el))
        if tag == "not":
            return Not(args[0])
        if tag in ("imp", "eq"):
            return Binary("->" if tag == "imp" else "<->", args[0], args[1])
        if tag == "atmost1":
            pairs = [Not(Nary("and", (a, b))) for i, a in enumerate(args) for b in args[i + 1 :]]
            if not pairs:
                return Const(True)
            return pairs[0] if len(pairs) == 1 else Nary("and", tuple(pairs))
        if len(args) == 1:
            return args[0]
        return Nary("and" if tag == "conj" else "or", tuple(args))


def _true(value: str | None) -> bool:
    return value is not None and value.strip().lower() == "true"


def _text(f: Formula) -> str:
    """A readable text of a constraint (for messages), in UVL operator syntax."""
    if isinstance(f, Ref):
        return f.feature
    if isinstance(f, Not):
        return "!" + _text(f.operand)
    if isinstance(f, Nary):
        joiner = " & " if f.op == "and" else " | "
        return "(" + joiner.join(_text(a) for a in f.operands) + ")"
    if isinstance(f, Binary):
        op = {"->": "=>", "<->": "<=>"}.get(f.op, f.op)
        return f"({_text(f.left)} {op} {_text(f.right)})"
    return repr(f)
