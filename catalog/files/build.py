"""Build snapshot dataclasses from a plain catalog document.

The document must already have passed ``schema.py`` (keys and types) for the
objects being built; domain and cross-reference checks are ``validate.py``'s.
Every object gets a ``loc`` pointing at its mapping in the source.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from catalog.files.positions import Document, Scalar
from catalog.files.problems import Path
from catalog.snapshot import (
    Attribute,
    AttributeKind,
    BomLine,
    BomRequirement,
    Catalog,
    Choice,
    Derivation,
    Group,
    Label,
    Module,
    Operation,
    Part,
    PriceRule,
    PriceTable,
    Product,
    ProductTest,
    Repeat,
    Rule,
    SourceLoc,
    TextField,
    Value,
)

Data = dict[str, Any]


class Builder:
    """Turns validated plain data into snapshot objects, with source locations."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc

    def loc(self, path: Path) -> SourceLoc:
        line, column = self.doc.position(path)
        return SourceLoc(self.doc.file, line, column)

    def text_loc(self, path: Path) -> SourceLoc:
        """Position of the first character of the text at ``path``."""
        if not self.doc.source:  # built from plain data: every position is (0, 0)
            return SourceLoc(self.doc.file, 0, 0)
        node = self.doc.node_at(path)
        if isinstance(node, Scalar) and isinstance(node.value, str):
            line, column = self.doc.text_position(path, node.value, 1, 1)
            return SourceLoc(self.doc.file, line, column)
        return self.loc(path)

    def catalog(self, data: Data) -> Catalog:
        return Catalog(
            code=data["code"],
            name=label(data["name"]),
            currency=data["currency"],
            parts=tuple(self.part(d, ("parts", i)) for i, d in enumerate(data.get("parts") or ())),
            modules=tuple(self.module(d, ("modules", i)) for i, d in enumerate(data.get("modules") or ())),
            products=tuple(
                self.product(d, ("products", i)) for i, d in enumerate(data.get("products") or ())
            ),
            format=data["format"],
            description=optional_label(data.get("description")),
            loc=self.loc(()),
        )

    def part(self, data: Data, path: Path) -> Part:
        return Part(
            code=data["code"],
            name=label(data["name"]),
            uom=data.get("uom") or "pc",
            cost=decimal(data.get("cost"), "0"),
            lead_time_days=data.get("lead_time_days") or 0,
            loc=self.loc(path),
        )

    def module(self, data: Data, path: Path) -> Module:
        return Module(
            code=data["code"],
            name=label(data["name"]),
            components=tuple(
                self.bom_line(d, (*path, "components", i), default_pos=10 * (i + 1))
                for i, d in enumerate(data.get("components") or ())
            ),
            operations=tuple(
                self.operation(d, (*path, "operations", i))
                for i, d in enumerate(data.get("operations") or ())
            ),
            attributes=tuple(
                self.attribute(d, (*path, "attributes", i))
                for i, d in enumerate(data.get("attributes") or ())
            ),
            rules=tuple(self.rule(d, (*path, "rules", i)) for i, d in enumerate(data.get("rules") or ())),
            uom=data.get("uom") or "pc",
            lead_time_days=data.get("lead_time_days") or 0,
            loc=self.loc(path),
        )

    def product(self, data: Data, path: Path) -> Product:
        def items(key: str) -> list[tuple[Data, Path]]:
            return [(d, (*path, key, i)) for i, d in enumerate(data.get(key) or ())]

        return Product(
            code=data["code"],
            name=label(data["name"]),
            base_price=decimal(data["base_price"], "0"),
            attributes=tuple(
                self.attribute(d, p) for d, p in items("attributes") if d.get("derived") is None
            ),
            rules=tuple(self.rule(d, p) for d, p in items("rules")),
            prices=tuple(self.price(d, p, i) for i, (d, p) in enumerate(items("prices"))),
            bom=tuple(self.bom_line(d, p) for d, p in items("bom")),
            routing=tuple(self.operation(d, p) for d, p in items("routing")),
            groups=tuple(Group(d["code"], label(d["name"])) for d, _ in items("groups")),
            tests=tuple(self.test(d, p) for d, p in items("tests")),
            description=optional_label(data.get("description")),
            image=data.get("image"),
            lead_time_days=data.get("lead_time_days") or 0,
            loc=self.loc(path),
            requires=tuple(self.requirement(d, p) for d, p in items("requires")),
            derived=tuple(
                self.attribute(d, p) for d, p in items("attributes") if d.get("derived") is not None
            ),
            texts=tuple(self.text_field(d, p) for d, p in items("texts")),
            repeats=tuple(self.repeat(d, p) for d, p in items("repeat")),
        )

    def repeat(self, data: Data, path: Path) -> Repeat:
        """A repeated component as written (its unrolled entries are built with the product's)."""

        def items(key: str) -> list[tuple[Data, Path]]:
            return [(d, (*path, key, i)) for i, d in enumerate(data.get(key) or ())]

        return Repeat(
            code=data["code"],
            label=label(data["label"]),
            maximum=data["max"],
            minimum=data.get("min") or 0,
            default=data.get("default"),
            group=data.get("group"),
            attributes=tuple(self.attribute(d, p) for d, p in items("attributes")),
            rules=tuple(self.rule(d, p) for d, p in items("rules")),
            bom=tuple(self.bom_line(d, p) for d, p in items("bom")),
            loc=self.loc(path),
        )

    def text_field(self, data: Data, path: Path) -> TextField:
        return TextField(
            code=data["code"],
            label=label(data["name"]),
            max_length=data["max_length"],
            min_length=data.get("min_length") or 0,
            pattern=data.get("pattern"),
            required=bool(data.get("required")),
            pos=data.get("pos"),
            description=optional_label(data.get("description")),
            loc=self.loc(path),
        )

    def derivation(self, data: Any, path: Path) -> Derivation | None:
        if data is None:
            return None
        if isinstance(data, dict):
            return Derivation(
                columns=tuple(data["table"]),
                rows=tuple((tuple(row[:-1]), row[-1]) for row in data["rows"]),
                row_locs=tuple(self.loc((*path, "rows", i)) for i in range(len(data["rows"]))),
            )
        return Derivation(formula=expression(data), text_loc=self.text_loc(path))

    def requirement(self, data: Data, path: Path) -> BomRequirement:
        return BomRequirement(
            id=data["id"],
            message=label(data["message"]),
            items=tuple(data.get("items") or ()),
            positions=tuple(data.get("positions") or ()),
            exactly=data.get("exactly"),
            at_least=data.get("at_least"),
            at_most=data.get("at_most"),
            loc=self.loc(path),
        )

    def attribute(self, data: Data, path: Path) -> Attribute:
        kind = AttributeKind(data["type"])
        choices = tuple(
            choice(d, self.loc((*path, "values", i))) for i, d in enumerate(data.get("values") or ())
        )
        default = data.get("default")
        common: dict[str, Any] = {
            "code": data["code"],
            "kind": kind,
            "label": label(data["name"]),
            "group": data.get("group"),
            "description": optional_label(data.get("description")),
            "loc": self.loc(path),
            "derived": self.derivation(data.get("derived"), (*path, "derived")),
        }
        if kind is AttributeKind.ENUM:
            return Attribute(choices=choices, default=default, **common)
        if kind is AttributeKind.BOOL:
            return Attribute(default=default, **common)
        if kind is AttributeKind.INT:
            step = data.get("step")
            return Attribute(
                minimum=data["min"],
                maximum=data["max"],
                step=1 if step is None else step,
                unit=data.get("unit"),
                default=default,
                **common,
            )
        if kind is AttributeKind.DECIMAL:
            places = data.get("places") or 0
            step = data.get("step")
            return Attribute(
                minimum=scaled(data["min"], places),
                maximum=scaled(data["max"], places),
                step=1 if step is None else scaled(step, places),
                places=places,
                unit=data.get("unit"),
                default=None if default is None else decimal(default, "0").quantize(Decimal(1).scaleb(-places)),
                **common,
            )
        return Attribute(
            choices=choices,
            min_count=data.get("min_count") or 0,
            max_count=data.get("max_count"),
            default_set=None if default is None else tuple(default),
            **common,
        )

    def rule(self, data: Data, path: Path) -> Rule:
        message = label(data["message"])
        if data.get("rule") is not None:
            return Rule(
                id=data["id"],
                message=message,
                text=data["rule"],
                loc=self.loc(path),
                text_loc=self.text_loc((*path, "rule")),
            )
        allow = data.get("allow") is not None
        rows = data["allow"] if allow else data["forbid"]
        return Rule(
            id=data["id"],
            message=message,
            columns=tuple(data["table"]),
            rows=tuple(tuple(cell(c) for c in row) for row in rows),
            allow=allow,
            loc=self.loc(path),
        )

    def price(self, data: Data, path: Path, index: int) -> PriceRule:
        table = data.get("table")
        return PriceRule(
            id=data.get("id") or default_price_id(index),
            label=label(data["label"]),
            when=data.get("when"),
            add=expression(data.get("add")),
            percent=None if data.get("percent") is None else str(decimal(data["percent"], "0")),
            table=None
            if table is None
            else PriceTable(
                columns=tuple(table["columns"]),
                rows=tuple(
                    (tuple(cell(c) for c in row[:-1]), decimal(row[-1], "0")) for row in table["rows"]
                ),
            ),
            loc=self.loc(path),
        )

    def bom_line(self, data: Data, path: Path, default_pos: int | None = None) -> BomLine:
        pos = data.get("pos")
        if pos is None:
            assert default_pos is not None, "product BOM lines have a required pos"
            pos = default_pos
        return BomLine(
            pos=int(pos),
            item=data["item"],
            qty=expression(data.get("qty")) or "1",
            when=data.get("when"),
            scrap_pct=decimal(data.get("scrap_pct"), "0"),
            op=data.get("op"),
            # sorted: a mapping has no order, and the canonical JSON (hence the hash) sorts keys
            params=tuple(sorted((k, expression(v) or "") for k, v in (data.get("params") or {}).items())),
            loc=self.loc(path),
        )

    def operation(self, data: Data, path: Path) -> Operation:
        return Operation(
            op=data["op"],
            name=label(data["name"]),
            work_center=data["work_center"],
            setup_min=expression(data.get("setup_min")) or "0",
            run_min=expression(data.get("run_min")) or "0",
            when=data.get("when"),
            loc=self.loc(path),
        )

    def test(self, data: Data, path: Path) -> ProductTest:
        decisions: list[tuple[str, Value | tuple[str, ...]]] = [
            (attribute, tuple(value) if isinstance(value, list) else value)
            for attribute, value in sorted(data["set"].items())
        ]
        return ProductTest(
            id=data["id"],
            decisions=tuple(decisions),
            expect=data.get("expect") or "accept",
            reason=data.get("reason"),
            loc=self.loc(path),
        )


def default_price_id(index: int) -> str:
    """The id of a price rule written without one: ``price-1`` for the first.

    >>> default_price_id(0)
    'price-1'
    """
    return f"price-{index + 1}"


def label(data: Any) -> Label:
    """A label from a string or an ``{en, zh-CN}`` mapping.

    >>> label({"en": "Frame", "zh-CN": "车架"})
    Label(en='Frame', zh_CN='车架')
    >>> label("Frame")
    Label(en='Frame', zh_CN='')
    """
    if isinstance(data, str):
        return Label(data)
    return Label(data["en"], data.get("zh-CN") or "")


def optional_label(data: Any) -> Label | None:
    return None if data is None else label(data)


def choice(data: Any, loc: SourceLoc | None = None) -> Choice:
    if not isinstance(data, dict):
        return Choice(data, Label(data), loc=loc)
    name = data.get("name")
    return Choice(
        data["code"],
        Label(data["code"]) if name is None else label(name),
        optional_label(data.get("description")),
        loc=loc,
    )


def decimal(value: Any, default: str) -> Decimal:
    if value is None:
        return Decimal(default)
    if isinstance(value, str):
        return Decimal(value.strip())
    return Decimal(value)


def scaled(value: Any, places: int) -> int:
    """A decimal bound as an integer count of 10**-places units (exact).

    >>> scaled("70.5", 1), scaled(2, 2)
    (705, 200)
    """
    number = decimal(value, "0").scaleb(places)
    if number != number.to_integral_value():
        raise ValueError(f"{value} has more than {places} decimal places")
    return int(number)


def expression(value: Any) -> str | None:
    """Formula text from a string, number or boolean."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def cell(value: Any) -> Value | tuple[Value, ...]:
    return tuple(value) if isinstance(value, list) else value
