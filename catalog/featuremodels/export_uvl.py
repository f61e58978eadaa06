"""Write a catalog product as UVL.

Works for products made of bool and enum attributes (catalogs imported from
feature models, or hand-written all-bool/enum products):

- the tree comes from the ``parent-*``/``mandatory-*`` rules an import writes
  (``child -> parent``, ``child <-> parent``); other features hang below the
  root as optional features; a product without a ``root`` rule gets an
  abstract root named after the product;
- an enum attribute becomes a mandatory feature with an alternative group of
  one feature per value (``<attr>_<value>``);
- ``or-*``/``alternative-*``/``group-*`` rules over exactly the optional
  children of a feature become UVL groups; every other rule becomes a UVL
  constraint: ``not and or -> <->`` map to ``! & | => <=>``, enum comparisons
  to the value features, and a comparison of a sum of ``if(feature, n, 0)``
  terms with a number to ``sum(<attr>) OP number`` over a generated feature
  attribute ``c2m_<rule>`` carrying the ``n`` of each feature;
- typed attributes, types and cardinalities kept by the import are written back.

Int and set attributes have no UVL counterpart in the Boolean fragment and
raise :class:`UvlExportError`, naming the attribute or rule.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from catalog.errors import CatalogError
from catalog.featuremodels.convert import (
    META_ABSTRACT,
    META_ATTRIBUTES,
    META_CARDINALITY,
    META_DERIVED,
    META_TYPE,
    sanitize,
)
from catalog.featuremodels.ruletext import Node, RuleTextError, parse_rule
from catalog.snapshot import Attribute, AttributeKind, Catalog, Product, Rule

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_UVL_KEYWORDS = frozenset({"namespace", "features", "constraints", "constraint", "imports", "include", "as",
                           "mandatory", "optional", "alternative", "or", "cardinality", "sum", "avg", "len",
                           "floor", "ceil", "Integer", "String", "Real", "Boolean", "Type", "Arithmetic",
                           "true", "false"})
"""Words of the UVL grammar (uvlparser's lexer): feature names spelled like them are quoted."""


class UvlExportError(CatalogError):
    """The product uses something UVL's Boolean fragment cannot say."""

    reason = "uvl_export_unsupported"


class _Tree:
    def __init__(self, product: Product) -> None:
        self.product = product
        self.attrs = {a.code: a for a in product.attributes}
        self.parent: dict[str, str] = {}
        self.mandatory: set[str] = set()
        self.groups: dict[str, list[tuple[str, tuple[int, int | None], list[str]]]] = {}
        self.grouped: set[str] = set()
        self.names: dict[str, str] = {}
        self.values: dict[tuple[str, str], str] = {}
        self.extra: dict[str, list[str]] = {}
        self.constraints: list[str] = []
        self.root = ""
        self.abstract_root = False

    # -- features and names

    def declare(self) -> None:
        seen: set[str] = set()
        for a in self.product.attributes:
            if a.kind in (AttributeKind.INT, AttributeKind.SET):
                raise UvlExportError(f"attribute {a.code!r} is {a.kind.value}: UVL export supports bool and enum attributes")
            self.names[a.code] = self._name(a.label.en if not _derived(a) else a.code, a.code, seen)
            if a.kind is AttributeKind.ENUM:
                for c in a.choices:
                    code = sanitize(f"{a.code}_{c.code}")
                    self.values[(a.code, c.code)] = self._name(f"{a.label.en} {c.label.en}", code, seen)

    @staticmethod
    def _name(label: str, code: str, seen: set[str]) -> str:
        name = label if label and '"' not in label and label not in seen else code
        while name in seen:
            name += "_"
        seen.add(name)
        return name

    def ref(self, code: str) -> str:
        name = self.names[code]
        return name if _PLAIN.fullmatch(name) and name not in _UVL_KEYWORDS else f'"{name}"'

    def value_ref(self, attr: str, value: str) -> str:
        name = self.values.get((attr, value))
        if name is None:
            raise UvlExportError(f"{value!r} is not a value of enum attribute {attr!r}")
        return name if _PLAIN.fullmatch(name) and name not in _UVL_KEYWORDS else f'"{name}"'

    # -- structure from the rules

    def structure(self, rules: Sequence[Rule]) -> list[Rule]:
        rest: list[Rule] = []
        tree_rules: dict[str, Rule] = {}
        for r in rules:
            text = (r.text or "").strip()
            m = re.fullmatch(r"(\w+) (->|<->) (\w+)", text)
            if r.id == "root" and text in self.attrs and not self.root:
                self.root = text
            elif m and r.id.startswith(("parent-", "mandatory-")) and m.group(1) in self.attrs \
                    and m.group(3) in self.attrs and m.group(1) not in self.parent:
                self.parent[m.group(1)] = m.group(3)
                tree_rules[m.group(1)] = r
                if m.group(2) == "<->":
                    self.mandatory.add(m.group(1))
            else:
                rest.append(r)
        # Parents must form a tree below the root; anything else stays a constraint.
        for child in [c for c in self.parent if not self._reaches_root(c)]:
            rest.append(tree_rules[child])
        for child in [c for c in self.parent if not self._reaches_root(c)]:
            del self.parent[child]
            self.mandatory.discard(child)
        return [r for r in rest if not self.group_rule(r)]

    def _reaches_root(self, code: str) -> bool:
        seen = set()
        while code in self.parent and code not in seen:
            seen.add(code)
            code = self.parent[code]
        return code == self.root

    def group_rule(self, rule: Rule) -> bool:
        if not rule.id.startswith(("or-", "alternative-", "group-")) or rule.text is None:
            return False
        try:
            node = parse_rule(rule.text)
        except RuleTextError:
            return False
        if node[0] != "bin" or node[1] != "->" or node[2][0] != "name":
            return False
        parent, body = node[2][1], node[3]
        found = _group_shape(body)
        if found is None:
            return False
        members, bounds = found
        optional = [c for c, p in self.parent.items() if p == parent and c not in self.mandatory and c not in self.grouped]
        if sorted(members) != sorted(optional) or len(members) != len(set(members)):
            return False
        self.groups.setdefault(parent, []).append((_group_kind(bounds, len(members)), bounds, members))
        self.grouped.update(members)
        return True

    # -- constraints

    def constraint(self, rule: Rule) -> str:
        if rule.text is None:
            raise UvlExportError(f"rule {rule.id!r} is a table: UVL export supports text rules")
        try:
            return self.cond(parse_rule(rule.text), rule)
        except RuleTextError as exc:
            raise UvlExportError(f"rule {rule.id!r}: {exc}") from None

    def cond(self, n: Node, rule: Rule) -> str:  # noqa: C901 - one case per node kind
        kind = n[0]
        if kind == "name" and n[1] in self.attrs and self.attrs[n[1]].kind is AttributeKind.BOOL:
            return self.ref(n[1])
        if kind == "bool":
            root = self.ref(self.root)
            return f"({root} | !{root})" if n[1] else f"({root} & !{root})"
        if kind == "not":
            return f"!{self._atom(self.cond(n[1], rule))}"
        if kind == "bin" and n[1] in ("and", "or", "->", "<->"):
            op = {"and": "&", "or": "|", "->": "=>", "<->": "<=>"}[n[1]]
            return f"{self._atom(self.cond(n[2], rule))} {op} {self._atom(self.cond(n[3], rule))}"
        if kind == "bin" and n[1] in ("==", "!=") and n[2][0] == "name" and self._is_enum(n[2][1]):
            ref = self.value_ref(n[2][1], _value(n[3]))
            return ref if n[1] == "==" else f"!{ref}"
        if kind == "in" and n[1][0] == "name" and self._is_enum(n[1][1]):
            refs = [self.value_ref(n[1][1], _value(i)) for i in n[2]]
            text = " | ".join(refs) if len(refs) > 1 else refs[0]
            return f"!({text})" if n[3] else (f"({text})" if len(refs) > 1 else text)
        if kind == "bin" and n[1] in ("==", "!=", "<", "<=", ">", ">="):
            return self.aggregate(n, rule)
        if kind == "in":
            return self.aggregate_in(n, rule)
        raise UvlExportError(f"rule {rule.id!r}: cannot express {_show(n)} in UVL")

    def _is_enum(self, code: str) -> bool:
        a = self.attrs.get(code)
        return a is not None and a.kind is AttributeKind.ENUM

    @staticmethod
    def _atom(text: str) -> str:
        return text if re.fullmatch(r'!*(?:"[^"]*"|[A-Za-z_][A-Za-z0-9_]*)', text) else f"({text})"

    def linear(self, n: Node, rule: Rule) -> tuple[dict[str, int], int]:
        kind = n[0]
        if kind == "int":
            return {}, int(n[1])
        if kind == "neg":
            terms, const = self.linear(n[1], rule)
            return {c: -w for c, w in terms.items()}, -const
        if kind == "call" and n[1] == "if" and len(n[2]) == 3 and n[2][0][0] == "name" and n[2][1][0] in ("int", "neg") \
                and n[2][2] == ("int", 0) and n[2][0][1] in self.names:
            weight = self.linear(n[2][1], rule)[1]
            return {n[2][0][1]: weight}, 0
        if kind == "bin" and n[1] in ("+", "-"):
            (lt, lc), (rt, rc) = self.linear(n[2], rule), self.linear(n[3], rule)
            sign = 1 if n[1] == "+" else -1
            out = dict(lt)
            for c, w in rt.items():
                out[c] = out.get(c, 0) + sign * w
            return out, lc + sign * rc
        raise UvlExportError(f"rule {rule.id!r}: cannot express {_show(n)} in UVL")

    def aggregate(self, n: Node, rule: Rule) -> str:
        (lt, lc), (rt, rc) = self.linear(n[2], rule), self.linear(n[3], rule)
        terms = dict(lt)
        for c, w in rt.items():
            terms[c] = terms.get(c, 0) - w
        return self._sum(terms, n[1], rc - lc, rule)

    def aggregate_in(self, n: Node, rule: Rule) -> str:
        terms, const = self.linear(n[1], rule)
        parts = []
        for item in n[2]:
            if item[0] == "range":
                low, high = self.linear(item[1], rule)[1], self.linear(item[2], rule)[1]
                parts.append(f"({self._sum(terms, '>=', low - const, rule)} & {self._sum(terms, '<=', high - const, rule)})")
            else:
                parts.append(self._sum(terms, "==", self.linear(item, rule)[1] - const, rule))
        text = " | ".join(parts)
        return f"!({text})" if n[3] else f"({text})"

    def _sum(self, terms: dict[str, int], op: str, bound: int, rule: Rule) -> str:
        key = sanitize(f"c2m_{rule.id}")
        for code, w in terms.items():
            if w != 0:
                entries = self.extra.setdefault(code, [])
                if not any(e.startswith(key + " ") for e in entries):
                    entries.append(f"{key} {w}")
        return f"sum({key}) {op} {bound}"

    # -- output

    def feature_lines(self, code: str, depth: int, out: list[str]) -> None:
        a = self.attrs[code]
        meta = (a.description.en if a.description else "").splitlines()
        head = ""
        for line in meta:
            if line.startswith(META_TYPE):
                head = line.removeprefix(META_TYPE).strip() + " "
        text = head + self.ref(code)
        for line in meta:
            if line.startswith(META_CARDINALITY):
                text += " cardinality " + line.removeprefix(META_CARDINALITY).strip()
        attrs = ["abstract"] if META_ABSTRACT in meta or (code == self.root and self.abstract_root) else []
        for line in meta:
            if line.startswith(META_ATTRIBUTES):
                attrs.append(line.removeprefix(META_ATTRIBUTES).strip()[1:-1])
        attrs += self.extra.get(code, [])
        if attrs:
            text += " {" + ", ".join(attrs) + "}"
        out.append("    " * depth + text)
        self.children_lines(code, depth + 1, out)

    def children_lines(self, code: str, depth: int, out: list[str]) -> None:
        kids = [c for c in self.attrs if self.parent.get(c) == code]
        sections: list[tuple[str, list[str]]] = [
            ("mandatory", [c for c in kids if c in self.mandatory]),
            ("optional", [c for c in kids if c not in self.mandatory and c not in self.grouped]),
        ]
        for kind, bounds, members in self.groups.get(code, []):
            header = kind if kind in ("or", "alternative") else f"[{bounds[0]}..{'*' if bounds[1] is None else bounds[1]}]"
            sections.append((header, members))
        for header, members in sections:
            if not members:
                continue
            out.append("    " * depth + header)
            for m in members:
                self.feature_lines(m, depth + 1, out)


def dump_uvl(catalog: Catalog, product: str | None = None) -> str:
    """UVL text of one product (``product`` code, default: the only product).

    >>> from decimal import Decimal
    >>> from catalog.snapshot import Attribute, AttributeKind, Choice, Label, Product, Rule
    >>> frame = Attribute("frame", AttributeKind.ENUM, Label("Frame"),
    ...                   choices=(Choice("steel", Label("Steel")), Choice("carbon", Label("Carbon"))))
    >>> rack = Attribute("rack", AttributeKind.BOOL, Label("Rack"))
    >>> p = Product("bike", Label("Bike"), Decimal("0"), (frame, rack),
    ...             rules=(Rule("no-rack", Label("No rack"), text="frame == carbon -> not rack"),))
    >>> print(dump_uvl(Catalog("shop", Label("Shop"), "CNY", (), (), (p,))), end="")
    namespace Bike
    <BLANKLINE>
    features
        Bike {abstract}
            mandatory
                Frame
                    alternative
                        "Frame Steel"
                        "Frame Carbon"
            optional
                Rack
    <BLANKLINE>
    constraints
        "Frame Carbon" => !Rack
    """
    if product is None:
        if len(catalog.products) != 1:
            raise UvlExportError(f"catalog {catalog.code!r} has {len(catalog.products)} products; name the one to export")
        chosen = catalog.products[0]
    else:
        chosen = catalog.product(product)
    tree = _Tree(chosen)
    tree.declare()
    rules = tree.structure(chosen.rules)
    if not tree.root:
        tree.root = sanitize(chosen.name.en or chosen.code)
        while tree.root in tree.attrs:
            tree.root += "_"
        label = chosen.name.en
        tree.names[tree.root] = label if '"' not in label and label not in tree.names.values() else tree.root
        tree.attrs[tree.root] = Attribute(tree.root, AttributeKind.BOOL, chosen.name)
        tree.abstract_root = True
    for a in chosen.attributes:
        if a.code != tree.root and a.code not in tree.parent:
            tree.parent[a.code] = tree.root
            if a.kind is AttributeKind.ENUM:
                tree.mandatory.add(a.code)
    constraints = [tree.constraint(r) for r in rules]
    out = [f"namespace {tree.ref(tree.root)}", "", "features"]
    tree.feature_lines(tree.root, 1, out)
    for a in chosen.attributes:
        if a.kind is AttributeKind.ENUM:
            _enum_lines(tree, a, out)
    if constraints:
        out += ["", "constraints"] + [f"    {c}" for c in constraints]
    return "\n".join(out) + "\n"


def _enum_lines(tree: _Tree, a: Attribute, out: list[str]) -> None:
    """Insert the alternative group of an enum's values below the enum's feature line."""
    name = tree.ref(a.code)
    for i, line in enumerate(out):
        stripped = line.strip()
        if stripped == name or stripped.startswith(name + " {"):
            depth = (len(line) - len(line.lstrip())) // 4 + 1
            values = ["    " * (depth + 1) + tree.value_ref(a.code, c.code) for c in a.choices]
            out[i + 1 : i + 1] = ["    " * depth + "alternative", *values]
            return


def _derived(a: Attribute) -> bool:
    return a.description is not None and a.description.en.startswith(META_DERIVED)


def _group_shape(body: Node) -> tuple[list[str], tuple[int, int | None]] | None:
    """Members and bounds of ``a or b`` / ``count == k`` / ``count in {lo..hi}`` / a single name."""
    if body[0] == "name":
        return [body[1]], (1, 1)
    if body[0] == "bin" and body[1] == "or":
        names = _flat(body, "or")
        return (names, (1, None)) if names is not None else None
    if body[0] == "bin" and body[1] == "==" and body[3][0] == "int":
        names = _counted(body[2])
        return (names, (body[3][1], body[3][1])) if names is not None else None
    if body[0] == "in" and not body[3] and len(body[2]) == 1 and body[2][0][0] == "range":
        names = _counted(body[1])
        low, high = body[2][0][1], body[2][0][2]
        if names is not None and low[0] == "int" and high[0] == "int":
            return names, (low[1], high[1])
    return None


def _flat(n: Node, op: str) -> list[str] | None:
    if n[0] == "name":
        return [n[1]]
    if n[0] == "bin" and n[1] == op:
        left, right = _flat(n[2], op), _flat(n[3], op)
        return None if left is None or right is None else left + right
    return None


def _counted(n: Node) -> list[str] | None:
    if n[0] == "call" and n[1] == "if" and n[2][0][0] == "name" and n[2][1] == ("int", 1) and n[2][2] == ("int", 0):
        return [n[2][0][1]]
    if n[0] == "bin" and n[1] == "+":
        left, right = _counted(n[2]), _counted(n[3])
        return None if left is None or right is None else left + right
    return None


def _group_kind(bounds: tuple[int, int | None], size: int) -> str:
    if bounds == (1, 1):
        return "alternative"
    if bounds[0] == 1 and (bounds[1] is None or bounds[1] >= size):
        return "or"
    return "cardinality"


def _value(n: Node) -> str:
    if n[0] in ("name", "str"):
        return str(n[1])
    if n[0] == "int":
        return str(n[1])
    raise UvlExportError(f"{_show(n)} is not an enum value")


def _show(n: Node) -> str:
    return repr(n)[:80]
