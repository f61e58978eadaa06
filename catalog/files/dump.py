"""Write a catalog back out: canonical document, YAML, JSON and content hash.

The canonical document spells every key explicitly in a fixed order (absent
optional values as null), decimals as strings and labels as ``{en, zh-CN}``,
so two equal catalogs always give the same bytes whatever file they came from.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

import yaml

from catalog.files.positions import resolves_to_non_string
from catalog.snapshot import (
    Attribute,
    AttributeKind,
    BomLine,
    BomRequirement,
    Catalog,
    Choice,
    Label,
    Module,
    Operation,
    Part,
    PriceRule,
    Product,
    ProductTest,
    Repeat,
    Rule,
    TextField,
    Value,
)

Document = dict[str, Any]


def document_from_catalog(catalog: Catalog) -> Document:
    """The canonical plain-JSON document of ``catalog``.

    >>> from catalog.snapshot import Catalog, Label
    >>> document_from_catalog(Catalog("shop", Label("Shop", "商店"), "CNY", (), (), ()))
    ... # doctest: +NORMALIZE_WHITESPACE
    {'format': 'c2m-catalog/1', 'code': 'shop', 'name': {'en': 'Shop', 'zh-CN': '商店'}, 'currency': 'CNY',
     'description': None, 'parts': [], 'modules': [], 'products': []}
    """
    return {
        "format": catalog.format,
        "code": catalog.code,
        "name": _label(catalog.name),
        "currency": catalog.currency,
        "description": _optional_label(catalog.description),
        "parts": [_part(p) for p in catalog.parts],
        "modules": [_module(m) for m in catalog.modules],
        "products": [_product(p) for p in catalog.products],
    }


def dump_catalog(catalog: Catalog, format: str = "yaml") -> str:
    """The catalog as a YAML or JSON file text (Chinese stays readable).

    >>> from catalog.snapshot import Catalog, Label
    >>> print(dump_catalog(Catalog("shop", Label("Shop", "商店"), "CNY", (), (), ())), end="")
    format: c2m-catalog/1
    code: shop
    name: {en: Shop, zh-CN: 商店}
    currency: CNY
    description: null
    parts: []
    modules: []
    products: []
    """
    document = document_from_catalog(catalog)
    if format == "json":
        return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if format != "yaml":
        raise ValueError(f"unknown catalog file format {format!r}: expected 'yaml' or 'json'")
    return yaml.dump(
        _styled(document),
        Dumper=_Dumper,
        allow_unicode=True,
        sort_keys=False,
        width=110,
        default_flow_style=False,
    )


def canonical_json(catalog: Catalog) -> bytes:
    """The canonical document as compact UTF-8 JSON with sorted keys."""
    return json.dumps(
        document_from_catalog(catalog), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def content_hash(catalog: Catalog) -> str:
    """SHA-256 (hex) of ``canonical_json``: the identity of a catalog's content."""
    return hashlib.sha256(canonical_json(catalog)).hexdigest()


# --- objects ------------------------------------------------------------------


def _label(label: Label) -> dict[str, str]:
    return {"en": label.en, "zh-CN": label.zh_CN}


def _optional_label(label: Label | None) -> dict[str, str] | None:
    return None if label is None else _label(label)


def _decimal(value: Decimal) -> str:
    return str(value)


def _part(part: Part) -> Document:
    return {
        "code": part.code,
        "name": _label(part.name),
        "uom": part.uom,
        "cost": _decimal(part.cost),
        "lead_time_days": part.lead_time_days,
    }


def _module(module: Module) -> Document:
    return {
        "code": module.code,
        "name": _label(module.name),
        "uom": module.uom,
        "lead_time_days": module.lead_time_days,
        "attributes": [_attribute(a) for a in module.attributes],
        "rules": [_rule(r) for r in module.rules],
        "components": [_line(line) for line in module.components],
        "operations": [_operation(o) for o in module.operations],
    }


def _product(product: Product) -> Document:
    # A repeated component is written as authored (``repeat:``), without the entries unrolling
    # generated from it: loading the written document unrolls it again to the same product.
    attributes, groups, rules, positions = _generated(product.repeats)
    out: Document = {
        "code": product.code,
        "name": _label(product.name),
        "description": _optional_label(product.description),
        "image": product.image,
        "base_price": _decimal(product.base_price),
        "lead_time_days": product.lead_time_days,
        "groups": [{"code": g.code, "name": _label(g.label)} for g in product.groups if g.code not in groups],
        "attributes": [_attribute(a) for a in product.attributes if a.code not in attributes],
        "rules": [_rule(r) for r in product.rules if r.id not in rules],
        "prices": [_price(p) for p in product.prices],
        "bom": [_line(line) for line in product.bom if line.pos not in positions],
        "routing": [_operation(o) for o in product.routing],
        "tests": [_test(t) for t in product.tests],
    }
    # Written only when present: catalogs without requirements keep the
    # canonical document (and so the content hash) they had before the key existed.
    if product.requires:
        out["requires"] = [_requirement(r) for r in product.requires]
    # Derived attributes and texts likewise: written only when present.
    if product.derived:
        out["attributes"] = [
            *out["attributes"],
            *(_attribute(a) for a in product.derived if a.code not in attributes),
        ]
    if product.texts:
        out["texts"] = [_text_field(t) for t in product.texts]
    if product.repeats:
        out["repeat"] = [_repeat(r) for r in product.repeats]
    return out


def _generated(
    repeats: tuple[Repeat, ...],
) -> tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[int]]:
    """Everything the product's repeated components generate: attribute codes, group codes,
    rule ids and BOM positions."""
    parts = [r.generated() for r in repeats]
    return (
        frozenset().union(*(p[0] for p in parts)),
        frozenset().union(*(p[1] for p in parts)),
        frozenset().union(*(p[2] for p in parts)),
        frozenset().union(*(p[3] for p in parts)),
    )


def _repeat(repeat: Repeat) -> Document:
    return {
        "code": repeat.code,
        "label": _label(repeat.label),
        "group": repeat.group,
        "min": repeat.minimum,
        "max": repeat.maximum,
        "default": repeat.default,
        "attributes": [_attribute(a) for a in repeat.attributes],
        "rules": [_rule(r) for r in repeat.rules],
        "bom": [_line(line) for line in repeat.bom],
    }


def _text_field(field: TextField) -> Document:
    return {
        "code": field.code,
        "name": _label(field.label),
        "description": _optional_label(field.description),
        "max_length": field.max_length,
        "min_length": field.min_length,
        "pattern": field.pattern,
        "required": field.required,
        "pos": field.pos,
    }


def _scaled(value: int | None, places: int) -> str | None:
    return None if value is None else format(Decimal(value).scaleb(-places), "f")


def _requirement(requirement: BomRequirement) -> Document:
    return {
        "id": requirement.id,
        "items": list(requirement.items),
        "positions": list(requirement.positions),
        "exactly": requirement.exactly,
        "at_least": requirement.at_least,
        "at_most": requirement.at_most,
        "message": _label(requirement.message),
    }


def _choice(choice: Choice) -> Document:
    return {
        "code": choice.code,
        "name": _label(choice.label),
        "description": _optional_label(choice.description),
    }


def _attribute(attribute: Attribute) -> Document:
    out: Document = {
        "code": attribute.code,
        "name": _label(attribute.label),
        "type": attribute.kind.value,
        "group": attribute.group,
        "description": _optional_label(attribute.description),
    }
    kind = attribute.kind
    if kind is AttributeKind.INT:
        out.update(min=attribute.minimum, max=attribute.maximum, step=attribute.step, unit=attribute.unit)
    if kind is AttributeKind.DECIMAL:
        places = attribute.places
        out.update(
            places=places,
            min=_scaled(attribute.minimum, places),
            max=_scaled(attribute.maximum, places),
            step=_scaled(attribute.step, places),
            unit=attribute.unit,
        )
    if kind in (AttributeKind.ENUM, AttributeKind.SET):
        out["values"] = [_choice(c) for c in attribute.choices]
    if kind is AttributeKind.SET:
        out.update(min_count=attribute.min_count, max_count=attribute.max_count)
        out["default"] = None if attribute.default_set is None else list(attribute.default_set)
    elif isinstance(attribute.default, Decimal):
        out["default"] = format(attribute.default, "f")
    else:
        out["default"] = attribute.default
    derived = attribute.derived
    if derived is not None:
        if derived.formula is not None:
            out["derived"] = derived.formula
        else:
            out["derived"] = {
                "table": list(derived.columns),
                "rows": [[*(_cell(v) for v in key), _cell(result)] for key, result in derived.rows],
            }
    return out


def _cell(value: Value | tuple[Value, ...]) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _rule(rule: Rule) -> Document:
    if not rule.is_table:
        return {"id": rule.id, "rule": rule.text, "message": _label(rule.message)}
    return {
        "id": rule.id,
        "table": list(rule.columns),
        "allow" if rule.allow else "forbid": [[_cell(c) for c in row] for row in rule.rows],
        "message": _label(rule.message),
    }


def _price(price: PriceRule) -> Document:
    out: Document = {"id": price.id, "label": _label(price.label), "when": price.when}
    if price.table is not None:
        out["table"] = {
            "columns": list(price.table.columns),
            "rows": [[*(_cell(c) for c in cells), _decimal(amount)] for cells, amount in price.table.rows],
        }
    elif price.percent is not None:
        out["percent"] = price.percent
    else:
        out["add"] = price.add
    return out


def _line(line: BomLine) -> Document:
    return {
        "pos": line.pos,
        "item": line.item,
        "qty": line.qty,
        "when": line.when,
        "scrap_pct": _decimal(line.scrap_pct),
        "op": line.op,
        "params": dict(line.params),
    }


def _operation(operation: Operation) -> Document:
    return {
        "op": operation.op,
        "name": _label(operation.name),
        "work_center": operation.work_center,
        "setup_min": operation.setup_min,
        "run_min": operation.run_min,
        "when": operation.when,
    }


def _test(test: ProductTest) -> Document:
    return {
        "id": test.id,
        "set": {code: _cell(value) for code, value in test.decisions},
        "expect": test.expect,
        "reason": test.reason,
    }


# --- YAML presentation ------------------------------------------------------------


class _Flow(list[Any]):
    """A list written inline: ``[a, b]``."""


class _FlowMap(dict[str, Any]):
    """A mapping written inline: ``{en: Frame, zh-CN: 车架}``."""


def _styled(value: Any) -> Any:
    """Mark short lists and labels for inline style; the data is unchanged."""
    if isinstance(value, dict):
        if set(value) == {"en", "zh-CN"}:
            return _FlowMap(value)
        return {k: _styled(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_styled(v) for v in value]
        if all(not isinstance(v, dict) for v in value):
            return _Flow(items)
        return items
    return value


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # repeated labels are written out, never as &anchors


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    # Our reader uses the YAML 1.2 core schema and PyYAML writes for 1.1: quote
    # whatever either of them would read as something other than a string.
    if resolves_to_non_string(data):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


def _represent_flow(dumper: yaml.SafeDumper, data: _Flow) -> yaml.SequenceNode:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)


def _represent_flow_map(dumper: yaml.SafeDumper, data: _FlowMap) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(_Flow, _represent_flow)
_Dumper.add_representer(_FlowMap, _represent_flow_map)
