"""Checks across fields of a catalog document: domains, references, uniqueness.

Runs on the plain document after ``schema.py`` and skips objects the schema
already found broken (their paths are "dirty"), so one mistake is reported
once rather than cascading. Every problem is collected; nothing stops at the
first one.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from catalog.files.build import Builder, default_price_id, expression
from catalog.files.limits import (
    DEFAULT_LIMITS,
    MAX_AMOUNT,
    MAX_DECIMAL_PLACES,
    CatalogLimits,
    shorten,
    too_many_digits,
)
from catalog.files.positions import Document
from catalog.files.problems import Path, Problem, format_path
from catalog.snapshot import Attribute, AttributeKind


class ExpressionChecker(Protocol):
    """Checks one text of the rule language.

    ``kind`` is "rule", "condition", "formula" or "param"; ``attributes`` are
    the attributes in scope (the product's, or a configurable module's own).
    Returns (line, column, message) for each problem, 1-based within ``text``.
    """

    def __call__(
        self, text: str, kind: str, attributes: Sequence[Attribute]
    ) -> list[tuple[int, int, str]]: ...


COMMON_ATTRIBUTE_KEYS = ("code", "name", "type", "group", "description", "derived")
ATTRIBUTE_KEYS = {
    "enum": ("values", "default"),
    "bool": ("default",),
    "int": ("min", "max", "step", "unit", "default"),
    "decimal": ("min", "max", "step", "places", "unit", "default"),
    "set": ("values", "min_count", "max_count", "default"),
}
_RANGE = re.compile(r"(-?[0-9]+)\.\.(-?[0-9]+)\Z")


@dataclass(slots=True)
class _Scope:
    """The attributes (and rule ids) of one product or module."""

    declared: dict[str, Path] = field(default_factory=dict)
    attributes: dict[str, Attribute] = field(default_factory=dict)
    sound: set[str] = field(default_factory=set)
    """Attributes whose domain is well-formed: values can be checked against them."""
    complete: bool = True
    """Every attribute could be built: expressions can be checked."""
    rule_ids: dict[str, Path] = field(default_factory=dict)

    def ordered(self) -> tuple[Attribute, ...]:
        return tuple(self.attributes.values())

    def sound_attribute(self, code: Any) -> Attribute | None:
        return self.attributes.get(code) if code in self.sound else None

    def names(self) -> str:
        return ", ".join(self.declared) or "(none)"


def clip_oversized_lists(doc: Document, data: object, limits: CatalogLimits) -> list[Problem]:
    """Before the schema runs: refuse attributes listing more values than the limit, and cut
    their lists to it, so that checking a 120,000-value enum does not cost a validation of every
    value first (the document is refused anyway)."""
    out: list[Problem] = []
    if not isinstance(data, dict):
        return out
    limit = limits.max_attribute_values
    for section in ("products", "modules"):
        items = data.get(section)
        for index, item in enumerate(items if isinstance(items, list) else []):
            attributes = item.get("attributes") if isinstance(item, dict) else None
            for position, attribute in enumerate(attributes if isinstance(attributes, list) else []):
                values = attribute.get("values") if isinstance(attribute, dict) else None
                if not isinstance(values, list) or len(values) <= limit:
                    continue
                path: Path = (section, index, "attributes", position)
                line, column = doc.position(path)
                where = format_path(path)
                message = (
                    f"attribute {attribute.get('code')!r} offers {len(values):,} values ({len(values):,} listed "
                    f"values); at most {limit:,} values per attribute are accepted (catalog limit "
                    "max_attribute_values): use a coarser step, a narrower range or several attributes"
                )
                out.append(Problem(doc.file, line, column, where, f"{where}: {message}"))
                attribute["values"] = values[:limit]
    return out


class Validator:
    """Collects every cross-field problem of one document."""

    def __init__(
        self,
        doc: Document,
        dirty: Iterable[Path],
        checker: ExpressionChecker | None,
        limits: CatalogLimits = DEFAULT_LIMITS,
    ) -> None:
        self.limits = limits
        self.doc = doc
        self.dirty = list(dirty)
        self.checker = checker
        self.builder = Builder(doc)
        self.problems: list[Problem] = []
        self.items: dict[str, Path] = {}
        self.modules: dict[str, _Scope] = {}
        self.parts: set[str] = set()

    # --- reporting ---------------------------------------------------------

    def report(self, path: Path, message: str, *, at_key: bool = False) -> None:
        line, column = self.doc.position(path, at_key=at_key)
        self.report_at(path, message, line, column)

    def report_at(self, path: Path, message: str, line: int, column: int) -> None:
        where = format_path(path)
        self.problems.append(Problem(self.doc.file, line, column, where, f"{where}: {message}"))

    def clean(self, path: Path) -> bool:
        """No schema problem inside ``path`` or at one of its ancestors."""
        return not any(d[: len(path)] == path or path[: len(d)] == d for d in self.dirty)

    def unique(self, seen: dict[Any, Path], key: Any, path: Path, what: str) -> None:
        if key in seen:
            self.report(path, f"duplicate {what} {key!r} (already used by {format_path(seen[key])})")
        else:
            seen[key] = path[:-1] if path and path[-1] in ("code", "id", "pos", "op") else path

    # --- catalog -----------------------------------------------------------

    def run(self, data: object) -> list[Problem]:
        if not isinstance(data, dict):
            return self.problems
        parts = _dicts(data.get("parts"), ("parts",))
        modules = _dicts(data.get("modules"), ("modules",))
        for item, path in [*parts, *modules]:
            code = item.get("code")
            if isinstance(code, str):
                self.unique(self.items, code, (*path, "code"), "part/module code")
        self.parts = {p.get("code") for p, _ in parts if isinstance(p.get("code"), str)}  # type: ignore[misc]
        for module, path in modules:  # scopes first: products pass params to modules
            scope = self.attributes(path, module.get("attributes"), groups=None)
            if isinstance(module.get("code"), str):
                self.modules.setdefault(module["code"], scope)
            self.module(module, path, scope)
        self.cycles(modules)
        products: dict[Any, Path] = {}
        for product, path in _dicts(data.get("products"), ("products",)):
            if isinstance(product.get("code"), str):
                self.unique(products, product["code"], (*path, "code"), "product code")
            self.product(product, path)
        return self.problems

    def module(self, module: dict[str, Any], path: Path, scope: _Scope) -> None:
        for attribute, apath in _dicts(module.get("attributes"), (*path, "attributes")):
            if attribute.get("derived") is not None:
                self.report(
                    (*apath, "derived"),
                    "derived attributes are declared on products, not modules",
                    at_key=True,
                )
        self.rules(path, module.get("rules"), scope)
        ops = self.operations(path, "operations", module.get("operations"), scope)
        self.lines(path, "components", module.get("components"), scope, ops, default_pos=True)

    def product(self, product: dict[str, Any], path: Path) -> None:
        groups: dict[Any, Path] = {}
        for group, gpath in _dicts(product.get("groups"), (*path, "groups")):
            if isinstance(group.get("code"), str):
                self.unique(groups, group["code"], (*gpath, "code"), "group code")
        scope = self.attributes(path, product.get("attributes"), groups=set(groups))
        self.derivations(path, product.get("attributes"), scope)
        self.texts(path, product.get("texts"), scope)
        self.rules(path, product.get("rules"), scope)
        self.prices(path, product.get("prices"), scope)
        ops = self.operations(path, "routing", product.get("routing"), scope)
        self.lines(path, "bom", product.get("bom"), scope, ops, default_pos=False)
        self.tests(path, product.get("tests"), scope)
        self.requirements(path, product.get("requires"), product.get("bom"))

    # --- attributes ----------------------------------------------------------

    def attributes(self, path: Path, items: object, groups: set[str] | None) -> _Scope:
        scope = _Scope()
        for data, apath in _dicts(items, (*path, "attributes"), scope):
            code = data.get("code")
            if isinstance(code, str):
                if code in scope.declared:
                    self.report(
                        (*apath, "code"),
                        f"duplicate attribute code {code!r} "
                        f"(already used by {format_path(scope.declared[code])})",
                    )
                    continue
                scope.declared[code] = apath
            if not self.clean(apath):
                scope.complete = False
                continue
            sound, usable = self.attribute(data, apath, groups)
            try:
                attribute = self.builder.attribute(usable, apath)
            except (KeyError, TypeError, ValueError):
                scope.complete = False  # e.g. an int attribute without min: already reported
                continue
            scope.attributes[code] = attribute  # type: ignore[index]
            if sound:
                scope.sound.add(attribute.code)
        self.model_size(path, scope)
        return scope

    def model_size(self, path: Path, scope: _Scope) -> None:
        """Refuse a product or module whose attributes offer more values together than
        :attr:`CatalogLimits.max_model_values`, naming the largest attributes."""
        sizes = {
            code: a.domain_size()
            for code, a in scope.attributes.items()
            if code in scope.sound and a.derived is None
        }
        total = sum(sizes.values())
        limit = self.limits.max_model_values
        if total <= limit:
            return
        largest = sorted(sizes.items(), key=lambda item: -item[1])[:3]
        named = ", ".join(f"{code!r} ({size:,})" for code, size in largest)
        self.report(
            path,
            f"the attributes offer {total:,} values together; at most {limit:,} per product or module are "
            f"accepted (catalog limit max_model_values); largest: {named}",
        )

    def attribute(
        self, data: dict[str, Any], path: Path, groups: set[str] | None
    ) -> tuple[bool, dict[str, Any]]:
        """Check one attribute's keys, domain and default.

        Returns whether its domain is sound and the data to build it from
        (without a bad default, so later checks still see the attribute).
        """
        kind: str = data["type"]
        for key in data:
            if key in COMMON_ATTRIBUTE_KEYS or key in ATTRIBUTE_KEYS[kind]:
                continue
            owners = [k for k, keys in ATTRIBUTE_KEYS.items() if key in keys]
            if owners:
                self.report(
                    (*path, key),
                    f"{key!r} does not apply to {_a(kind)} attribute (only to {', '.join(owners)})",
                    at_key=True,
                )
        group = data.get("group")
        if group is not None and groups is None:
            self.report((*path, "group"), "module attributes have no storefront group")
        elif group is not None and groups is not None and group not in groups:
            self.report(
                (*path, "group"), f"unknown group {group!r}; groups: {', '.join(sorted(groups)) or '(none)'}"
            )
        if kind in ("enum", "set"):
            sound = self.choices(data, path)
        elif kind == "int":
            sound = self.int_domain(data, path)
        elif kind == "decimal":
            sound = self.decimal_domain(data, path)
        else:
            sound = True
        default_ok = self.default(data, path, kind) if sound else True
        return sound, data if default_ok else {**data, "default": None}

    def choices(self, data: dict[str, Any], path: Path) -> bool:
        values = data.get("values") or []
        if not values:
            self.report(
                (*path, "values") if "values" in data else path,
                f"empty domain: {_a(data['type'])} attribute needs at least one value",
            )
            return False
        seen: dict[Any, Path] = {}
        for index, value in enumerate(values):
            code = value.get("code") if isinstance(value, dict) else value
            vpath = (*path, "values", index, "code") if isinstance(value, dict) else (*path, "values", index)
            if code in seen:
                self.report(
                    vpath, f"duplicate value code {code!r} (already used by {format_path(seen[code])})"
                )
            else:
                seen[code] = (*path, "values", index)
        if not self.domain_size(data, path, len(values), f"{len(values):,} listed values"):
            return False
        if data["type"] == "set":
            count = len(seen)
            low, high = data.get("min_count") or 0, data.get("max_count")
            if high is not None and low > high:
                self.report(
                    (*path, "min_count"), f"empty domain: min_count {low} is greater than max_count {high}"
                )
                return False
            if low > count:
                self.report(
                    (*path, "min_count"),
                    f"empty domain: min_count {low} is greater than the number of values ({count})",
                )
                return False
        return True

    def decimal_domain(self, data: dict[str, Any], path: Path) -> bool:
        """A decimal attribute: min, max (and step) with at most ``places`` decimal places."""
        places = data.get("places")
        if places is None:
            self.report(path, "missing required key 'places' for a decimal attribute (e.g. places: 1)")
            return False
        values: dict[str, Decimal] = {}
        sound = True
        for key in ("min", "max", "step"):
            raw = data.get(key)
            if raw is None:
                if key != "step":
                    self.report(path, f"missing required key {key!r} for a decimal attribute")
                    sound = False
                continue
            number = _decimal(raw)
            exponent = None if number is None else number.as_tuple().exponent
            if number is None or not isinstance(exponent, int) or -exponent > places:
                self.report(
                    (*path, key), f"{_show(raw)} is not a decimal with at most {places} decimal places"
                )
                sound = False
                continue
            values[key] = number
        if not sound:
            return False
        step = values.get("step", Decimal(1).scaleb(-places))
        if step <= 0:
            self.report((*path, "step"), f"step must be positive (got {step})")
            return False
        if values["min"] > values["max"]:
            self.report(
                (*path, "min"), f"empty domain: min {values['min']} is greater than max {values['max']}"
            )
            return False
        size = int((values["max"] - values["min"]) / step) + 1
        return self.domain_size(data, path, size, f"{values['min']}..{values['max']}")

    def int_domain(self, data: dict[str, Any], path: Path) -> bool:
        sound = True
        for key in ("min", "max", "step"):
            raw = data.get(key)
            if raw is not None and (isinstance(raw, bool) or not isinstance(raw, int)):
                self.report(
                    (*path, key),
                    f"must be an integer (got {_show(raw)}); for decimal numbers use type: decimal with places",
                )
                return False
        for key in ("min", "max"):
            if data.get(key) is None:
                self.report(path, f"missing required key {key!r} for an int attribute")
                sound = False
        step = data.get("step")
        if step is not None and step <= 0:
            self.report((*path, "step"), f"step must be positive (got {step})")
            sound = False
        if sound and data["min"] > data["max"]:
            self.report((*path, "min"), f"empty domain: min {data['min']} is greater than max {data['max']}")
            sound = False
        if sound:
            size = (data["max"] - data["min"]) // (step or 1) + 1
            sound = self.domain_size(data, path, size, f"{data['min']}..{data['max']}")
        return sound

    def domain_size(self, data: dict[str, Any], path: Path, size: int, shown: str) -> bool:
        """Refuse an attribute offering more values than :attr:`CatalogLimits.max_attribute_values`."""
        limit = self.limits.max_attribute_values
        if size <= limit or data.get("derived") is not None:  # computed, not a solver variable
            return True
        self.report(
            path,
            f"attribute {data.get('code')!r} offers {size:,} values ({shown}); at most {limit:,} values "
            "per attribute are accepted (catalog limit max_attribute_values): use a coarser step, "
            "a narrower range or several attributes",
        )
        return False

    def default(self, data: dict[str, Any], path: Path, kind: str) -> bool:
        default = data.get("default")
        if default is None:
            return True
        dpath = (*path, "default")
        if kind == "enum":
            codes = _codes(data)
            if not isinstance(default, str) or default not in codes:
                self.report(dpath, f"{_show(default)} is not one of {', '.join(codes)}")
                return False
        elif kind == "bool":
            if not isinstance(default, bool):
                self.report(dpath, f"must be true or false (got {_show(default)})")
                return False
        elif kind == "int":
            problem = _int_problem(default, data["min"], data["max"], data.get("step") or 1)
            if problem:
                self.report(dpath, problem)
                return False
        elif kind == "decimal":
            attribute = self.builder.attribute({**data, "default": None}, path)
            if _decimal(default) not in attribute.domain():
                self.report(
                    dpath,
                    f"{_show(default)} is not a value of {attribute.code} ({_describe_domain(attribute)})",
                )
                return False
        else:
            return self.set_default(default, data, dpath)
        return True

    def set_default(self, default: object, data: dict[str, Any], path: Path) -> bool:
        if not isinstance(default, list):
            self.report(path, f"a set default must be a list of value codes (got {_show(default)})")
            return False
        codes = _codes(data)
        ok = True
        for index, code in enumerate(default):
            if not isinstance(code, str) or code not in codes:
                self.report((*path, index), f"{_show(code)} is not one of {', '.join(codes)}")
                ok = False
            elif code in default[:index]:
                self.report((*path, index), f"{code!r} is listed twice")
                ok = False
        low, high = data.get("min_count") or 0, data.get("max_count")
        if high is not None and len(default) > high:
            self.report(path, f"the default selects {len(default)} values but max_count is {high}")
            ok = False
        if len(default) < low:
            self.report(path, f"the default selects {len(default)} values but min_count is {low}")
            ok = False
        return ok

    # --- derived attributes, texts, variant parts ----------------------------

    def derivations(self, path: Path, items: object, scope: _Scope) -> None:
        """A derived attribute: a formula of its own type, or a lookup table over attributes."""
        for data, apath in _dicts(items, (*path, "attributes")):
            derived = data.get("derived")
            if derived is None or not self.clean(apath):
                continue
            dpath = (*apath, "derived")
            if data.get("default") is not None:
                self.report((*apath, "default"), "a derived attribute has no default: its value is computed")
            if data.get("type") == "set":
                self.report(
                    (*apath, "type"), "a derived attribute is an enum, bool, int or decimal, not a set"
                )
                continue
            target = scope.sound_attribute(data.get("code"))
            if not isinstance(derived, dict):
                kind = {"bool": "condition", "int": "formula", "decimal": "formula"}.get(
                    data["type"], "param"
                )
                self.expression(dpath, derived, kind, scope)
                continue
            columns = derived.get("table") or []
            keys: list[Attribute | None] = []
            for index, column in enumerate(columns):
                key = scope.sound_attribute(column)
                if column == data.get("code") or key is None or key.kind is AttributeKind.SET:
                    self.report(
                        (*dpath, "table", index),
                        f"{_show(column)} is not an enum, bool, int or decimal attribute of this product; "
                        f"attributes: {scope.names()}",
                    )
                    return
                keys.append(key)
            seen: dict[tuple[Any, ...], Path] = {}
            for r, row in enumerate(derived.get("rows") or []):
                rpath = (*dpath, "rows", r)
                if len(row) != len(columns) + 1:
                    self.report(
                        rpath,
                        f"a row lists {len(columns)} key value(s) then the result; got {len(row)} cells",
                    )
                    continue
                for c, (key, cell) in enumerate(zip(keys, row, strict=False)):
                    problem = None if key is None else _value_problem(key, cell)
                    if problem:
                        self.report((*rpath, c), problem)
                if target is not None:
                    problem = _value_problem(target, row[-1])
                    if problem:
                        self.report((*rpath, len(columns)), problem)
                marker = tuple(str(v) for v in row[:-1])
                if marker in seen:
                    self.report(rpath, f"the key {row[:-1]} is already listed ({format_path(seen[marker])})")
                else:
                    seen[marker] = rpath

    def texts(self, path: Path, items: object, scope: _Scope) -> None:
        """Free texts: codes unique beside the attributes, a pattern RE2 accepts, sane lengths."""
        seen: dict[Any, Path] = {}
        for data, tpath in _dicts(items, (*path, "texts")):
            code = data.get("code")
            if isinstance(code, str):
                if code in scope.declared:
                    self.report(
                        (*tpath, "code"),
                        f"{code!r} is already an attribute code ({format_path(scope.declared[code])})",
                    )
                self.unique(seen, code, (*tpath, "code"), "text code")
            if not self.clean(tpath):
                continue
            low, high = data.get("min_length") or 0, data["max_length"]
            if low > high:
                self.report((*tpath, "min_length"), f"min_length {low} is greater than max_length {high}")
            pattern = data.get("pattern")
            if pattern is not None:
                problem = pattern_problem(pattern)
                if problem:
                    self.report((*tpath, "pattern"), problem)

    def variant_item(self, item: str, path: Path, scope: _Scope) -> None:
        """``TOP-{top}``: each placeholder names a single-valued attribute (resolutions are checked
        against the parts list by the model checks, which know the valid configurations)."""
        for name in re.findall(r"\{([^{}]*)\}", item):
            attribute = scope.attributes.get(name)
            if attribute is None or attribute.kind is AttributeKind.SET:
                close = difflib.get_close_matches(name, list(scope.attributes), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                column = item.index("{" + name + "}") + 2
                line, col = self.doc.text_position(path, item, 1, column)
                self.report_at(
                    path,
                    f"variant code {item!r}: {{{name}}} is not an enum, bool, int or decimal attribute{hint}",
                    line,
                    col,
                )

    # --- rules -------------------------------------------------------------

    def rules(self, path: Path, items: object, scope: _Scope) -> None:
        for rule, rpath in _dicts(items, (*path, "rules")):
            if isinstance(rule.get("id"), str):
                self.unique(scope.rule_ids, rule["id"], (*rpath, "id"), "rule id")
            if not self.clean(rpath):
                continue
            has_text, has_table = rule.get("rule") is not None, rule.get("table") is not None
            if has_text == has_table:
                found = " (found both)" if has_text else ""
                self.report(rpath, f"a rule needs exactly one of 'rule' (a text) or 'table'{found}")
            kinds = [k for k in ("allow", "forbid") if rule.get(k) is not None]
            if has_table and len(kinds) != 1:
                self.report(
                    rpath,
                    "a table rule needs exactly one of 'allow' or 'forbid'"
                    + (" (found both)" if kinds else ""),
                )
            elif has_table:
                self.table(
                    scope, rule["table"], (*rpath, "table"), rule[kinds[0]], (*rpath, kinds[0]), amount=False
                )
            else:
                for key in kinds:
                    self.report((*rpath, key), f"{key!r} only applies to table rules", at_key=True)
            if has_text:
                self.expression((*rpath, "rule"), rule["rule"], "rule", scope)

    def table(
        self,
        scope: _Scope,
        columns: list[str],
        cpath: Path,
        rows: list[list[Any]],
        rpath: Path,
        *,
        amount: bool,
    ) -> None:
        attributes: list[Attribute | None] = []
        seen: dict[Any, Path] = {}
        for index, column in enumerate(columns):
            path = (*cpath, index)
            attribute = None
            if column in seen:
                self.report(path, f"column {column!r} is listed twice")
            elif column not in scope.declared:
                self.report(path, f"unknown attribute {column!r}; attributes: {scope.names()}")
            else:
                attribute = scope.sound_attribute(column)
                if attribute is not None and attribute.kind is AttributeKind.SET:
                    self.report(
                        path, f"set attribute {column!r} cannot be a table column (use has() in a rule)"
                    )
                    attribute = None
            seen[column] = path
            attributes.append(attribute)
        width = len(columns) + (1 if amount else 0)
        for index, row in enumerate(rows):
            path = (*rpath, index)
            if len(row) != width:
                extra = " plus the amount" if amount else ""
                cells = f"{len(row)} cell{'s' if len(row) != 1 else ''}"
                self.report(path, f"row has {cells} but the table has {len(columns)} columns{extra}")
                continue
            for column_index, (attribute, value) in enumerate(zip(attributes, row, strict=False)):
                problem = _cell_problem(attribute, value) if attribute is not None else None
                if problem:
                    self.report((*path, column_index), problem)
            if amount and _decimal(row[-1]) is None:
                self.report(
                    (*path, len(columns)),
                    f"the amount must be a decimal number (got {_show(row[-1])}) within ±{MAX_AMOUNT} "
                    f"with at most {MAX_DECIMAL_PLACES} decimal places",
                )

    # --- prices --------------------------------------------------------------

    def prices(self, path: Path, items: object, scope: _Scope) -> None:
        ids: dict[Any, Path] = {}
        for index, price, ppath in ((i, d, p) for i, (d, p) in enumerate(_dicts(items, (*path, "prices")))):
            given = price.get("id")
            if isinstance(given, str) or given is None:
                self.unique(
                    ids, given or default_price_id(index), (*ppath, "id") if given else ppath, "price id"
                )
            if not self.clean(ppath):
                continue
            present = [k for k in ("add", "percent", "table") if price.get(k) is not None]
            if len(present) != 1:
                found = f" (found {', '.join(present)})" if present else ""
                self.report(ppath, f"a price rule needs exactly one of 'add', 'percent' or 'table'{found}")
            self.expression((*ppath, "when"), price.get("when"), "condition", scope)
            self.expression((*ppath, "add"), price.get("add"), "formula", scope)
            table = price.get("table")
            if table is not None:
                tpath = (*ppath, "table")
                self.table(
                    scope, table["columns"], (*tpath, "columns"), table["rows"], (*tpath, "rows"), amount=True
                )

    # --- routing and BOM -----------------------------------------------------

    def operations(self, path: Path, key: str, items: object, scope: _Scope) -> dict[int, Path] | None:
        """Check operations; return them by number, or None when some are broken."""
        ops: dict[int, Path] = {}
        complete = True
        for op, opath in _dicts(items, (*path, key)):
            number = op.get("op")
            if isinstance(number, int) and not isinstance(number, bool):
                self.unique(ops, number, (*opath, "op"), "operation number")
            else:
                complete = False
            if self.clean(opath):
                self.expression((*opath, "setup_min"), op.get("setup_min"), "formula", scope)
                self.expression((*opath, "run_min"), op.get("run_min"), "formula", scope)
                self.expression((*opath, "when"), op.get("when"), "condition", scope)
        if not isinstance(items, list | None) or (isinstance(items, list) and len(ops) < len(items)):
            complete = False
        return ops if complete else None

    def lines(
        self,
        path: Path,
        key: str,
        items: object,
        scope: _Scope,
        ops: dict[int, Path] | None,
        *,
        default_pos: bool,
    ) -> None:
        positions: dict[Any, Path] = {}
        owner = "the module" if key == "components" else "the routing"
        for index, line, lpath in ((i, d, p) for i, (d, p) in enumerate(_dicts(items, (*path, key)))):
            pos = line.get("pos")
            if pos is None and default_pos:
                pos = 10 * (index + 1)
                self.unique(positions, pos, lpath, "position (default)")
            elif isinstance(pos, int):
                self.unique(positions, pos, (*lpath, "pos"), "position")
            if not self.clean(lpath):
                continue
            item = line["item"]
            if "{" in item:
                self.variant_item(item, (*lpath, "item"), scope)
            elif item not in self.items:
                close = difflib.get_close_matches(item, list(self.items), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                self.report((*lpath, "item"), f"unknown part or module {item!r}{hint}")
            op = line.get("op")
            if op is not None and ops is not None and op not in ops:
                known = ", ".join(str(n) for n in sorted(ops))
                has = f"has operations {known}" if known else "has no operations"
                self.report((*lpath, "op"), f"unknown operation {op}; {owner} {has}")
            self.expression((*lpath, "qty"), line.get("qty"), "formula", scope)
            self.expression((*lpath, "when"), line.get("when"), "condition", scope)
            self.params(line, lpath, scope)

    def params(self, line: dict[str, Any], path: Path, scope: _Scope) -> None:
        params = line.get("params")
        if not params:
            return
        item = line["item"]
        if item in self.parts:
            self.report(
                (*path, "params"),
                f"params are only for configurable modules; {item!r} is a part",
                at_key=True,
            )
            return
        target = self.modules.get(item)
        if target is None:
            return  # unknown item: reported above
        if not target.declared:
            self.report(
                (*path, "params"), f"module {item!r} is not configurable (it has no attributes)", at_key=True
            )
            return
        for name, value in params.items():
            if name not in target.declared:
                self.report(
                    (*path, "params", name),
                    f"module {item!r} has no attribute {name!r}; attributes: {target.names()}",
                    at_key=True,
                )
            self.expression((*path, "params", name), value, "param", scope)

    def cycles(self, modules: list[tuple[dict[str, Any], Path]]) -> None:
        edges: dict[str, list[tuple[str, Path]]] = {}
        order: dict[str, int] = {}
        for module, path in modules:
            code = module.get("code")
            if not isinstance(code, str) or code in edges:
                continue
            order[code] = len(order)
            edges[code] = [
                (line["item"], (*lpath, "item"))
                for line, lpath in _dicts(module.get("components"), (*path, "components"))
                if isinstance(line.get("item"), str)
            ]
        for code in edges:  # keep only module-to-module edges
            edges[code] = [(item, path) for item, path in edges[code] if item in edges]
        reported: set[tuple[str, ...]] = set()
        for cycle in _find_cycles(edges):
            start = min(range(len(cycle)), key=lambda i: order[cycle[i]])
            ring = cycle[start:] + cycle[:start]
            if tuple(ring) in reported:
                continue
            reported.add(tuple(ring))
            nxt = ring[1] if len(ring) > 1 else ring[0]
            path = next(p for item, p in edges[ring[0]] if item == nxt)
            self.report(path, f"module cycle: {' -> '.join([*ring, ring[0]])}")

    # --- golden tests ----------------------------------------------------------

    def tests(self, path: Path, items: object, scope: _Scope) -> None:
        ids: dict[Any, Path] = {}
        for test, tpath in _dicts(items, (*path, "tests")):
            if isinstance(test.get("id"), str):
                self.unique(ids, test["id"], (*tpath, "id"), "test id")
            if not self.clean(tpath):
                continue
            for code, value in test["set"].items():
                vpath = (*tpath, "set", code)
                if code not in scope.declared:
                    self.report(
                        vpath, f"unknown attribute {code!r}; attributes: {scope.names()}", at_key=True
                    )
                    continue
                attribute = scope.sound_attribute(code)
                problem = _test_value_problem(attribute, value) if attribute is not None else None
                if problem:
                    self.report(vpath, problem)
            reason = test.get("reason")
            if reason is not None and (test.get("expect") or "accept") != "reject":
                self.report((*tpath, "reason"), "a reason only applies to expect: reject")
            elif reason is not None and reason not in scope.rule_ids:
                self.report(
                    (*tpath, "reason"),
                    f"unknown rule {reason!r}; rules: {', '.join(scope.rule_ids) or '(none)'}",
                )

    # --- BOM requirements -----------------------------------------------------

    def requirements(self, path: Path, items: object, bom: object) -> None:
        lines = [line for line, _ in _dicts(bom, (*path, "bom"))]
        positions = {line.get("pos") for line in lines}
        codes = [line["item"] for line in lines if isinstance(line.get("item"), str)]
        ids: dict[Any, Path] = {}
        for req, rpath in _dicts(items, (*path, "requires")):
            if isinstance(req.get("id"), str):
                self.unique(ids, req["id"], (*rpath, "id"), "requirement id")
            if not self.clean(rpath):
                continue
            patterns, numbers = req.get("items") or [], req.get("positions") or []
            if not patterns and not numbers:
                self.report(
                    rpath, "a requirement names BOM lines with 'items' (code patterns) or 'positions'"
                )
            for index, pattern in enumerate(patterns):
                if not any(fnmatch.fnmatchcase(code, pattern) for code in codes):
                    self.report((*rpath, "items", index), f"{pattern!r} matches no item of the product's bom")
            for index, number in enumerate(numbers):
                if number not in positions:
                    known = ", ".join(str(p) for p in sorted(p for p in positions if isinstance(p, int)))
                    self.report(
                        (*rpath, "positions", index), f"the bom has no position {number}; positions: {known}"
                    )
            exactly, low, high = req.get("exactly"), req.get("at_least"), req.get("at_most")
            if exactly is not None and (low is not None or high is not None):
                self.report(rpath, "give either 'exactly' or 'at_least'/'at_most', not both")
            elif exactly is None and low is None and high is None:
                self.report(rpath, "a requirement needs 'exactly', 'at_least' or 'at_most'")
            elif low is not None and high is not None and low > high:
                self.report((*rpath, "at_least"), f"at_least {low} is greater than at_most {high}")

    # --- expressions -------------------------------------------------------------

    def expression(self, path: Path, value: object, kind: str, scope: _Scope) -> None:
        text = expression(value)
        if text is None or self.checker is None or not scope.complete:
            # without a checker the schema has already required non-empty text;
            # with broken attributes in scope the checker would only cascade
            return
        for line, column, message in self.checker(text, kind, scope.ordered()):
            file_line, file_column = self.doc.text_position(path, text, line, column)
            self.report_at(path, message, file_line, file_column)


def _dicts(items: object, path: Path, scope: _Scope | None = None) -> list[tuple[dict[str, Any], Path]]:
    """The mappings of a list with their paths (other entries: schema problems)."""
    if not isinstance(items, list):
        return []
    out = [(item, (*path, i)) for i, item in enumerate(items) if isinstance(item, dict)]
    if scope is not None and len(out) != len(items):
        scope.complete = False
    return out


def _find_cycles(edges: dict[str, list[tuple[str, Path]]]) -> list[list[str]]:
    """Elementary cycles reachable by depth-first search (one per back edge)."""
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(code: str) -> None:
        state[code] = 1
        stack.append(code)
        for item, _ in edges[code]:
            if state.get(item) == 1:
                cycles.append(stack[stack.index(item) :])
            elif item not in state:
                visit(item)
        stack.pop()
        state[code] = 2

    for code in edges:
        if code not in state:
            visit(code)
    return cycles


def pattern_problem(pattern: str) -> str | None:
    """Why a text field's pattern is refused (RE2 syntax: linear-time matching, no backreferences)."""
    import re2

    try:
        re2.compile(pattern)
    except re2.error as exc:
        return f"not a valid pattern: {exc}"
    return None


def _a(kind: str) -> str:
    return f"an {kind}" if kind in ("enum", "int") else f"a {kind}"


def _codes(data: dict[str, Any]) -> list[Any]:
    return [v.get("code") if isinstance(v, dict) else v for v in data.get("values") or []]


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return repr(shorten(value)) if isinstance(value, str) else shorten(str(value))


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        return None
    if isinstance(value, str) and too_many_digits(value.strip()):
        return None
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        return None
    if not number.is_finite() or number.copy_abs() > MAX_AMOUNT:
        return None
    exponent = number.as_tuple().exponent
    return number if isinstance(exponent, int) and -exponent <= MAX_DECIMAL_PLACES else None


def _int_problem(value: object, low: int, high: int, step: int) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"must be an integer (got {_show(value)})"
    if not low <= value <= high:
        return f"{value} is outside {low}..{high}"
    if (value - low) % step:
        return f"{value} is not on the step grid {low}, {low + step}, {low + 2 * step}, ... (step {step})"
    return None


def _describe_domain(attribute: Attribute) -> str:
    if attribute.kind is AttributeKind.DECIMAL:
        values = attribute.domain()
        more = f", {values[1]}" if len(values) > 1 else ""
        return f"{values[0]}{more} .. {values[-1]}"
    if attribute.kind is AttributeKind.INT:
        step = f" step {attribute.step}" if attribute.step != 1 else ""
        return f"{attribute.minimum}..{attribute.maximum}{step}"
    if attribute.kind is AttributeKind.BOOL:
        return "true or false"
    return "one of " + ", ".join(c.code for c in attribute.choices)


def _value_problem(attribute: Attribute, value: object) -> str | None:
    """Is ``value`` one value of a single-valued attribute?"""
    if attribute.kind is AttributeKind.INT:
        assert attribute.minimum is not None and attribute.maximum is not None
        ok = _int_problem(value, attribute.minimum, attribute.maximum, attribute.step) is None
    elif attribute.kind is AttributeKind.BOOL:
        ok = isinstance(value, bool)
    elif attribute.kind is AttributeKind.DECIMAL:
        ok = not isinstance(value, bool) and _decimal(value) in attribute.domain()
    else:
        ok = isinstance(value, str) and value in {c.code for c in attribute.choices}
    return (
        None if ok else f"{_show(value)} is not a value of {attribute.code} ({_describe_domain(attribute)})"
    )


def _cell_problem(attribute: Attribute, value: object) -> str | None:
    """A table cell: a value, "lo..hi" (int attributes), a list of values, or "*"."""
    if value == "*":
        return None
    if isinstance(value, list):
        if not value:
            return "an empty list matches nothing; use '*' for any value"
        for element in value:
            problem = _value_problem(attribute, element)
            if problem:
                return problem
        return None
    if isinstance(value, str) and ".." in value and attribute.kind is AttributeKind.INT:
        match = _RANGE.match(value.replace(" ", ""))
        if not match:
            return f"{value!r} is not a range lo..hi"
        low, high = int(match.group(1)), int(match.group(2))
        assert attribute.minimum is not None and attribute.maximum is not None
        if low > high:
            return f"range {value!r} is empty"
        if low < attribute.minimum or high > attribute.maximum:
            return (
                f"range {value!r} goes outside the domain of {attribute.code} ({_describe_domain(attribute)})"
            )
        return None
    problem = _value_problem(attribute, value)
    if problem and attribute.kind is AttributeKind.INT:
        problem += ", a range 'lo..hi' or '*'"
    return problem


def _test_value_problem(attribute: Attribute, value: object) -> str | None:
    if attribute.kind is not AttributeKind.SET:
        return _value_problem(attribute, value)
    codes = [c.code for c in attribute.choices]
    if not isinstance(value, list):
        return f"a set attribute takes a list of value codes (got {_show(value)})"
    for element in value:
        if not isinstance(element, str) or element not in codes:
            return f"{_show(element)} is not a value of {attribute.code} (one of {', '.join(codes)})"
    return None
