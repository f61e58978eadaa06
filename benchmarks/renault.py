"""Read an XCSP 2.1 table-constraint instance (the Renault Megane benchmark) into a :class:`Model`.

Only the subset used by the CLib configuration benchmarks is supported:
``<domains>`` with integer lists and ``lo..hi`` ranges, ``<variables>``,
``<relations>`` in extension (``supports`` or ``conflicts``, tuples separated by
``|``) and ``<constraints>`` referencing a relation. Anything else (predicates,
global constraints) is rejected with a :class:`XcspError` naming the element.

Variables keep the file's names (the Renault file uses the CLib indices
``"1"``..``"101"``); every variable is its own attribute. ``conflicts``
relations are turned into allowed tuples by complementing them over the
scope's domains, so every backend sees one exact table per constraint.

>>> import textwrap
>>> doc = textwrap.dedent('''
...     <instance><presentation format="XCSP 2.1"/>
...     <domains nbDomains="1"><domain name="D0" nbValues="3">0..2</domain></domains>
...     <variables nbVariables="2"><variable name="a" domain="D0"/><variable name="b" domain="D0"/></variables>
...     <relations nbRelations="1"><relation name="R0" arity="2" nbTuples="1" semantics="conflicts">1 1</relation></relations>
...     <constraints nbConstraints="1"><constraint name="C0" arity="2" scope="a b" reference="R0"/></constraints>
...     </instance>''')
>>> m = parse_xcsp(doc, key="tiny")
>>> [v.name for v in m.variables], len(m.constraints[0].allowed or ())
(['a', 'b'], 8)
"""

from __future__ import annotations

import itertools
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from catalog.snapshot import Attribute, AttributeKind, Choice, Label, Product, Rule, Value
from configurator.errors import ConfiguratorError
from configurator.model import Constraint, Model, Variable

RENAULT_PATH = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus" / "renault" / "megane.xml"
"""Where the Renault Megane instance lives next to the repository (never copied into it)."""

RENAULT_COUNT = 2_835_456_006_272
"""Number of valid configurations of the Renault Megane model (see SOURCES.md of the corpus)."""

_MAX_COMPLEMENT = 1_000_000
"""Largest scope product for which a ``conflicts`` table is complemented into allowed tuples."""


class XcspError(ConfiguratorError):
    """An XCSP instance is malformed or uses a feature this reader does not support."""

    reason = "xcsp_invalid"


def _parse_domain(text: str, where: str) -> tuple[int, ...]:
    values: list[int] = []
    for token in text.split():
        try:
            if ".." in token:
                lo, hi = token.split("..", 1)
                values.extend(range(int(lo), int(hi) + 1))
            else:
                values.append(int(token))
        except ValueError:
            raise XcspError(f"{where}: bad domain token {token!r}") from None
    return tuple(values)


def _parse_tuples(text: str | None, arity: int, where: str) -> list[tuple[int, ...]]:
    rows: list[tuple[int, ...]] = []
    for chunk in (text or "").split("|"):
        if not chunk.strip():
            continue
        try:
            row = tuple(int(t) for t in chunk.split())
        except ValueError:
            raise XcspError(f"{where}: tuple {chunk.strip()!r} is not a list of integers") from None
        if len(row) != arity:
            raise XcspError(f"{where}: tuple {chunk.strip()!r} has {len(row)} values, arity is {arity}")
        rows.append(row)
    return rows


def _membership(table: frozenset[tuple[Value, ...]], inside: bool) -> Callable[..., bool]:
    # A closure rather than a lambda in a loop, so each constraint keeps its own table.
    def predicate(*values: Value) -> bool:
        return (values in table) == inside

    return predicate


def parse_xcsp(source: str | bytes, *, key: str, origin: str = "<xcsp>") -> Model:
    """Parse an XCSP 2.1 extensional instance from text into a :class:`Model`."""
    try:
        root = ET.fromstring(source)
    except ET.ParseError as exc:
        raise XcspError(f"{origin}: not well-formed XML: {exc}") from None
    domains: dict[str, tuple[int, ...]] = {}
    for el in root.iterfind("./domains/domain"):
        name = el.get("name", "")
        domains[name] = _parse_domain(el.text or "", f"{origin}: domain {name!r}")
    variables: list[Variable] = []
    doms: dict[str, tuple[int, ...]] = {}
    for el in root.iterfind("./variables/variable"):
        name, dom = el.get("name", ""), el.get("domain", "")
        if dom not in domains:
            raise XcspError(f"{origin}: variable {name!r} uses unknown domain {dom!r}")
        if name in doms:
            raise XcspError(f"{origin}: variable {name!r} declared twice")
        doms[name] = domains[dom]
        variables.append(Variable(name=name, domain=domains[dom], attribute=name))
    relations: dict[str, tuple[str, int, list[tuple[int, ...]]]] = {}
    for el in root.iterfind("./relations/relation"):
        name = el.get("name", "")
        semantics = el.get("semantics", "")
        if semantics not in ("supports", "conflicts"):
            raise XcspError(f"{origin}: relation {name!r} has unsupported semantics {semantics!r}")
        arity = int(el.get("arity", "0"))
        relations[name] = (semantics, arity, _parse_tuples(el.text, arity, f"{origin}: relation {name!r}"))
    if root.find("./predicates") is not None:
        raise XcspError(f"{origin}: <predicates> (intensional constraints) are not supported")
    constraints: list[Constraint] = []
    for el in root.iterfind("./constraints/constraint"):
        constraints.append(_constraint(el, relations, doms, origin))
    return Model(key=key, variables=tuple(variables), constraints=tuple(constraints))


def _constraint(
    el: ET.Element,
    relations: dict[str, tuple[str, int, list[tuple[int, ...]]]],
    doms: dict[str, tuple[int, ...]],
    origin: str,
) -> Constraint:
    name, ref = el.get("name", ""), el.get("reference", "")
    where = f"{origin}: constraint {name!r}"
    if ref not in relations:
        raise XcspError(f"{where} references unknown relation {ref!r}")
    scope = tuple(el.get("scope", "").split())
    for v in scope:
        if v not in doms:
            raise XcspError(f"{where} uses undeclared variable {v!r}")
    semantics, arity, rows = relations[ref]
    if len(scope) != arity:
        raise XcspError(f"{where}: scope has {len(scope)} variables, relation {ref!r} has arity {arity}")
    # Tuples outside the variables' domains can never be taken: drop them so `allowed` is exact.
    in_domain = [r for r in rows if all(x in doms[v] for x, v in zip(r, scope, strict=True))]
    table: frozenset[tuple[Value, ...]] = frozenset(in_domain)
    if semantics == "supports":
        return Constraint(rule_id=name, scope=scope, predicate=_membership(table, True), allowed=table)
    size = math.prod(len(doms[v]) for v in scope)
    allowed: frozenset[tuple[Value, ...]] | None = None
    if size <= _MAX_COMPLEMENT:
        allowed = frozenset(t for t in itertools.product(*(doms[v] for v in scope)) if t not in table)
    return Constraint(rule_id=name, scope=scope, predicate=_membership(table, False), allowed=allowed)


def load_xcsp(path: str | Path, *, key: str | None = None) -> Model:
    """Read an XCSP 2.1 file; the model key defaults to ``xcsp:<file name>``."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise XcspError(f"{p}: cannot read: {exc.strerror}") from None
    return parse_xcsp(data, key=key or f"xcsp:{p.name}", origin=str(p))


def load_renault(path: str | Path | None = None) -> Model:
    """The Renault Megane model (99 variables, 113 table constraints)."""
    return load_xcsp(path or RENAULT_PATH, key="renault-megane")


def renault_product(path: str | Path | None = None) -> Product:
    """The Renault model as a catalog product, so the engine facade (state, explain, ...) can be measured.

    Each XCSP variable becomes an enum attribute whose choices are its values (``v<value>``), each
    constraint a table rule over those attributes (supports: allowed rows; conflicts: forbidden rows).
    The product has no prices; its configurations are the model's solutions (``RENAULT_COUNT``).
    """
    model = load_renault(path)
    codes = {v.name: "a_" + re.sub(r"[^A-Za-z0-9_]", "_", v.name) for v in model.variables}
    attributes = tuple(
        Attribute(codes[v.name], AttributeKind.ENUM, Label(v.name),
                  choices=tuple(Choice(f"v{x}", Label(str(x))) for x in v.domain))
        for v in model.variables
    )
    root = ET.fromstring(Path(path or RENAULT_PATH).read_bytes())
    semantics = {el.get("name", ""): el.get("semantics", "") for el in root.iterfind("./relations/relation")}
    reference = {el.get("name", ""): el.get("reference", "") for el in root.iterfind("./constraints/constraint")}
    rules: list[Rule] = []
    for number, c in enumerate(model.constraints):
        allow = semantics[reference[c.rule_id]] == "supports"
        if allow:
            assert c.allowed is not None
            rows = c.allowed
        else:
            rows = frozenset(_forbidden(c, model))
        rules.append(Rule(
            f"c{number}", Label(f"Renault constraint {c.rule_id}"),
            columns=tuple(codes[n] for n in c.scope),
            rows=tuple(tuple(f"v{x}" for x in row) for row in sorted(rows)),
            allow=allow,
        ))
    return Product("renault-megane", Label("Renault Megane"), Decimal("0"), attributes, rules=tuple(rules))


def _forbidden(c: Constraint, model: Model) -> list[tuple[Value, ...]]:
    """The listed (conflict) tuples of a conflicts constraint, read back through its predicate."""
    domains = [model.variable(n).domain for n in c.scope]
    if c.allowed is not None:
        return [t for t in itertools.product(*domains) if t not in c.allowed]
    return [t for t in itertools.product(*domains) if not c.predicate(*t)]
