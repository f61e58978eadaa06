"""Repeated components: a product's ``repeat:`` entries unrolled into ordinary attributes.

A repeated component (a wardrobe's sections, a desk's monitor arms) declares
``min``..``max`` instances, each with its own ``attributes``, ``rules`` and
``bom`` lines. Loading a catalog unrolls it up to ``max``, so every consumer
(the configurator's exact model, prices, the BOM explosion, the storefront)
sees ordinary attributes, rules and BOM lines:

- ``<code>_count``: an int attribute ``min``..``max`` (default ``default``,
  else ``min``; in the storefront step ``group``), the number of instances in use;
- instance ``i`` (1..max) gets attribute ``<code><i>_<attribute>`` for each
  instance attribute, in a generated group ``<code>-<i>`` labelled with the
  repeat's ``label`` (``{i}`` in it is replaced by ``i``, else `` i`` is
  appended);
- each instance rule is copied with the instance's attribute names and holds
  only when the instance is in use: ``<code>_count >= i -> (rule)``;
- an instance that is not in use has each of its attributes fixed to its
  canonical value (its ``default``, else the first value, ``false`` or
  ``min``), by the rule ``<code>-<i>-unused``, so unused instances do not
  multiply the number of configurations: counts stay exact;
- each instance BOM line at ``pos: p`` is copied at position ``p * 100 + i``,
  with ``when: <code>_count >= i and (when)``; ``{attribute}`` placeholders of
  variant items and names in ``qty``, ``when`` and ``params`` mean the
  instance's attributes.

Within an instance's texts a name equal to one of the instance attribute codes
means that instance's attribute; other names are the product's attributes.
The same holds for the other instance entries:

- a set attribute is unrolled like any other; an unused instance's set holds
  its ``default`` values, else the first ``min_count`` values (none when
  ``min_count`` is 0);
- a derived attribute (formula or lookup table) is copied per instance with
  its formula's names, or its table's key columns, meaning the instance's
  attributes; it needs no value for unused instances (it is computed);
- a table rule is copied per instance with its columns renamed; for an
  instance that may be unused, a ``<code>_count`` column is added so the table
  binds only while the instance is in use (allowed rows get ``i..max`` in it
  plus one row ``min..i-1`` allowing anything; forbidden rows get ``i..max``).

Problems in generated entries are reported at the repeat entry they come from.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from catalog.files.limits import MAX_POSITION
from catalog.files.positions import Document
from catalog.files.problems import Path, Problem, format_path
from catalog.snapshot import REPEAT_POSITION_FACTOR as POSITION_FACTOR

_TOKEN = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|[0-9][0-9A-Za-z_.]*|[A-Za-z_][A-Za-z0-9_]*")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def rename(text: str, names: dict[str, str]) -> str:
    """``text`` with every name in ``names`` (outside quotes) replaced.

    >>> rename('shelves > 2 and rail == "shelves" and width > 2', {"shelves": "section2_shelves"})
    'section2_shelves > 2 and rail == "shelves" and width > 2'
    """

    def one(match: re.Match[str]) -> str:
        token = match.group(0)
        return names.get(token, token)

    return _TOKEN.sub(one, text)


def _label(data: Any) -> dict[str, str]:
    if isinstance(data, str):
        return {"en": data}
    return {k: v for k, v in dict(data).items() if isinstance(v, str)}


def _numbered(label: dict[str, str], i: int) -> dict[str, str]:
    return {k: v.replace("{i}", str(i)) if "{i}" in v else f"{v} {i}" for k, v in label.items()}


def _choice_codes(attribute: dict[str, Any]) -> list[str]:
    return [str(v.get("code")) if isinstance(v, dict) else str(v) for v in attribute.get("values") or []]


def _canonical(attribute: dict[str, Any]) -> str | None:
    """The rule text that fixes an unused instance's attribute, or None when it has no canonical value."""
    code, kind, default = attribute["code"], attribute["type"], attribute.get("default")
    if kind == "set":
        values = _choice_codes(attribute)
        held = set(default) if isinstance(default, list) else set(values[: attribute.get("min_count") or 0])
        if not values:
            return None
        return " and ".join(f'has({code}, "{v}")' if v in held else f'not has({code}, "{v}")' for v in values)
    if kind == "bool":
        return code if default is True else f"not {code}"
    if kind == "enum":
        values = attribute.get("values") or []
        first = values[0] if values else None
        value = default if default is not None else (first.get("code") if isinstance(first, dict) else first)
        return None if value is None else f'{code} == "{value}"'
    value = default if default is not None else attribute.get("min")
    return None if value is None else f"{code} == {value}"


def unroll_repeats(data: Any, doc: Document, dirty: list[Path]) -> tuple[list[Problem], bool]:
    """Replace every product's ``repeat`` entries in ``data`` by generated entries (see the module doc).

    ``dirty`` are the paths that already have schema problems: a product whose
    repeat entries have one is not unrolled (its repeat entries are dropped).
    Returns the problems found and whether every repeat entry was unrolled
    (otherwise the product's texts naming its attributes cannot be checked).
    """
    problems: list[Problem] = []
    complete = True
    if not isinstance(data, dict) or not isinstance(data.get("products"), list):
        return problems, complete
    for pi, product in enumerate(data["products"]):
        if not isinstance(product, dict) or "repeat" not in product:
            continue
        repeats = product.get("repeat") or []  # kept: the product keeps its authored form
        base: Path = ("products", pi, "repeat")
        if any(path[: len(base)] == base for path in dirty):
            complete = False
            continue
        for ri, repeat in enumerate(repeats):
            found = _unroll(product, pi, repeat, (*base, ri), doc)
            complete = complete and not found
            problems.extend(found)
    return problems, complete


def _check(repeat: dict[str, Any], at: Path, problem: Any) -> dict[str, str]:
    """Report what cannot be unrolled; return each instance attribute's canonical-value rule text."""
    low: int = repeat.get("min") or 0
    high: int = repeat["max"]
    default = repeat.get("default")
    if low > high:
        problem((*at, "min"), f"min {low} is greater than max {high}")
    elif default is not None and not low <= default <= high:
        problem((*at, "default"), f"default {default} is not between min {low} and max {high}")
    canonical: dict[str, str] = {}
    for k, attribute in enumerate(repeat.get("attributes") or []):
        path = (*at, "attributes", k)
        if attribute.get("derived") is None:
            text = _canonical(attribute)
            if text is None:
                problem(
                    path, f"{attribute['code']} needs a default or a min: unused instances take that value"
                )
            else:
                canonical[attribute["code"]] = text
    codes = {a["code"] for a in repeat.get("attributes") or []}
    for k, rule in enumerate(repeat.get("rules") or []):
        if rule.get("rule") is None and f"{repeat['code']}_count" in (rule.get("table") or []):
            problem(
                (*at, "rules", k, "table"),
                f"a repeated component's table cannot name {repeat['code']}_count: "
                "unrolling adds that column to the instances that may be unused",
            )
        elif rule.get("rule") is None and not codes & set(rule.get("table") or []):
            problem(
                (*at, "rules", k, "table"),
                "a repeated component's table must name at least one of its attributes "
                f"({', '.join(sorted(codes)) or 'it has none'}); a product table belongs in the product's rules",
            )
    for k, line in enumerate(repeat.get("bom") or []):
        if line["pos"] * POSITION_FACTOR + high > MAX_POSITION:
            problem(
                (*at, "bom", k, "pos"),
                f"too large: instance positions are pos * {POSITION_FACTOR} + instance",
            )
    return canonical


def _unroll(
    product: dict[str, Any], pi: int, repeat: dict[str, Any], at: Path, doc: Document
) -> list[Problem]:
    problems: list[Problem] = []

    def problem(path: Path, message: str) -> None:
        line, column = doc.position(path)
        where = format_path(path)
        problems.append(Problem(doc.file, line, column, where, f"{where}: {message}"))

    code: str = repeat["code"]
    low: int = repeat.get("min") or 0
    high: int = repeat["max"]
    default = repeat.get("default")
    attributes: list[dict[str, Any]] = repeat.get("attributes") or []
    canonical = _check(repeat, at, problem)
    if problems:
        return problems

    label = _label(repeat["label"])
    count = f"{code}_count"
    plain_label = {k: v.replace("{i}", "").replace("  ", " ").strip() for k, v in label.items()}
    attrs = product.get("attributes") or []
    groups = product.get("groups") or []
    rules = product.get("rules") or []
    bom = product.get("bom") or []
    product.update(attributes=attrs, groups=groups, rules=rules, bom=bom)
    prefix = ("products", pi)

    count_attribute: dict[str, Any] = {
        "code": count,
        "name": {k: f"{v}: number" if k == "en" else f"{v}数量" for k, v in plain_label.items()},
        "type": "int",
        "min": low,
        "max": high,
        "default": low if default is None else default,
    }
    if repeat.get("group") is not None:
        count_attribute["group"] = repeat["group"]
    attrs.append(count_attribute)
    doc.aliases[(*prefix, "attributes", len(attrs) - 1)] = at
    for i in range(1, high + 1):
        names = {a["code"]: f"{code}{i}_{a['code']}" for a in attributes}
        group = f"{code.lower()}-{i}"
        groups.append({"code": group, "name": _numbered(label, i)})
        doc.aliases[(*prefix, "groups", len(groups) - 1)] = at
        for k, attribute in enumerate(attributes):
            instance = copy.deepcopy(attribute)
            instance["code"] = names[attribute["code"]]
            instance["group"] = group
            derived = attribute.get("derived")
            if isinstance(derived, str):
                instance["derived"] = rename(derived, names)
                doc.rewritten.add((*prefix, "attributes", len(attrs), "derived"))
            elif isinstance(derived, dict) and isinstance(derived.get("table"), list):
                instance["derived"]["table"] = [names.get(c, c) for c in derived["table"]]
            attrs.append(instance)
            doc.aliases[(*prefix, "attributes", len(attrs) - 1)] = (*at, "attributes", k)
        for k, rule in enumerate(repeat.get("rules") or []):
            instance = copy.deepcopy(rule)
            instance["id"] = f"{rule['id']}-{i}"
            if rule.get("rule") is None:
                _table_rule(instance, names, count, i, low, high)
            else:
                text = rename(rule["rule"], names)
                instance["rule"] = text if i <= low else f"{count} >= {i} -> ({text})"
            instance["message"] = {
                k: f"{_numbered(label, i).get(k, '')}: {v}" for k, v in _label(rule["message"]).items()
            }
            rules.append(instance)
            path = (*prefix, "rules", len(rules) - 1)
            doc.aliases[path] = (*at, "rules", k)
            if rule.get("rule") is not None:
                doc.rewritten.add((*path, "rule"))
        if i > low and canonical:
            fixed = " and ".join(f"({rename(t, names)})" for t in canonical.values())
            rules.append(
                {
                    "id": f"{code.lower()}-{i}-unused",
                    "rule": f"{count} < {i} -> {fixed}",
                    "message": {
                        k: (f"{v} is not used" if k == "en" else f"{v} 未使用")
                        for k, v in _numbered(label, i).items()
                    },
                }
            )
            doc.aliases[(*prefix, "rules", len(rules) - 1)] = at
        for k, line in enumerate(repeat.get("bom") or []):
            bom.append(_bom_line(line, names, count, i, low))
            path = (*prefix, "bom", len(bom) - 1)
            doc.aliases[path] = (*at, "bom", k)
            for key in ("when", "qty", "params", "item"):
                doc.rewritten.add((*path, key))
    return problems


def _table_rule(rule: dict[str, Any], names: dict[str, str], count: str, i: int, low: int, high: int) -> None:
    """Rename a table rule's columns for instance ``i``; bind it only while the instance is in use."""
    columns = [names.get(c, c) if isinstance(c, str) else c for c in rule.get("table") or []]
    rule["table"] = columns
    if i <= low:
        return
    in_use = f"{i}..{high}"
    for key in ("allow", "forbid"):
        rows = rule.get(key)
        if not isinstance(rows, list):
            continue
        rule[key] = [[in_use, *row] if isinstance(row, list) else row for row in rows]
        if key == "allow":
            rule[key].append([f"{low}..{i - 1}", *(["*"] * len(columns))])
    rule["table"] = [count, *columns]


def _param(value: Any, names: dict[str, str]) -> Any:
    """A module parameter (an expression, or a number or true/false as written) for one instance."""
    return rename(value, names) if isinstance(value, str) else value


def _bom_line(line: dict[str, Any], names: dict[str, str], count: str, i: int, low: int) -> dict[str, Any]:
    """Instance ``i``'s copy of a repeated component's BOM line."""
    instance = copy.deepcopy(line)
    instance["pos"] = line["pos"] * POSITION_FACTOR + i
    instance["item"] = _PLACEHOLDER.sub(lambda m: "{" + names.get(m.group(1), m.group(1)) + "}", line["item"])
    when = None if line.get("when") is None else rename(line["when"], names)
    if i > low:
        when = f"{count} >= {i}" if when is None else f"{count} >= {i} and ({when})"
    if when is not None:
        instance["when"] = when
    if line.get("qty") is not None:
        instance["qty"] = _param(line["qty"], names)
    if line.get("params"):
        instance["params"] = {key: _param(v, names) for key, v in line["params"].items()}
    return instance


__all__ = ["POSITION_FACTOR", "rename", "unroll_repeats"]
