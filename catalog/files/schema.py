"""The shape of a c2m-catalog/1 document as marshmallow schemas.

These schemas check keys, required keys, types and code patterns of the plain
document (see ``positions.to_plain``). They only validate: building the
snapshot dataclasses is ``build.py``'s job, and checks that need more than one
field (domains, references, uniqueness) live in ``validate.py``.
``schema_problems`` turns marshmallow's nested error dict into positioned
``Problem`` objects with messages a catalog author can act on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

from catalog.files.limits import (
    MAX_AMOUNT,
    MAX_DECIMAL_PLACES,
    MAX_INTEGER,
    MAX_LEAD_TIME_DAYS,
    MAX_PERCENT,
    MAX_POSITION,
    MAX_QUANTITY,
    shorten,
    too_many_digits,
)
from catalog.files.positions import Document
from catalog.files.problems import Path, Problem, format_path

FORMAT = "c2m-catalog/1"
UOMS = ("pc", "m", "mm", "kg", "g", "l", "m2", "set")
KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false"})

CATALOG_CODE = r"[a-z0-9][a-z0-9-]*"
ITEM_CODE = r"[A-Z0-9][A-Z0-9._-]*"
ITEM_TEMPLATE = r"(?:[A-Z0-9._-]|\{[A-Za-z_][A-Za-z0-9_]*\})+"
"""A BOM line item: a part or module code, or a variant part code with ``{attribute}`` placeholders."""
ITEM_PATTERN = r"[A-Z0-9*][A-Z0-9._*-]*"
"""An item code in which ``*`` matches any characters (BOM requirements)."""
ATTRIBUTE_CODE = r"[A-Za-z_][A-Za-z0-9_]*"
VALUE_CODE = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
ID = r"[a-z0-9][a-z0-9_-]*"
WORK_CENTER = r"[A-Za-z0-9][A-Za-z0-9._-]*"


def _pattern(regex: str, what: str) -> Callable[[str], None]:
    compiled = re.compile(regex + r"\Z")

    def check(value: str) -> None:
        if not compiled.match(value):
            raise ValidationError(f"{value!r} is not a valid {what} (expected {regex})")

    return check


def _attribute_code(value: str) -> None:
    _pattern(ATTRIBUTE_CODE, "attribute code")(value)
    if value in KEYWORDS:
        raise ValidationError(f"{value!r} is a rule-language keyword and cannot be an attribute code")


def _value_code(value: str) -> None:
    _pattern(VALUE_CODE, "value code")(value)
    if ".." in value:
        raise ValidationError(f"{value!r} is not a valid value code ('..' is reserved for ranges)")


def _format(value: str) -> None:
    if value != FORMAT:
        raise ValidationError(f"unsupported format {value!r}; this version reads {FORMAT}")


def _currency(value: str) -> None:
    if not re.fullmatch(r"[A-Z]{3}", value):
        raise ValidationError(f"{value!r} is not a 3-letter ISO 4217 currency code such as CNY or EUR")


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("must not be empty")


_Messages = dict[str, str | list[Any] | dict[Any, Any]]
_TYPE_MESSAGES: _Messages = {
    "invalid": "must be a string",
    "null": "must not be null",
    "required": "missing required key",
}


def _messages(**overrides: str) -> _Messages:
    return {**_TYPE_MESSAGES, **overrides}


def _text(*validators: Callable[[str], None], **kwargs: Any) -> fields.String:
    return fields.String(validate=[_not_blank, *validators], error_messages=_TYPE_MESSAGES, **kwargs)


def _int(minimum: int | None = None, maximum: int = MAX_INTEGER, **kwargs: Any) -> fields.Integer:
    """A whole number (never a bool) within ``minimum`` (default ``-maximum``) .. ``maximum``."""
    low = -maximum if minimum is None else minimum
    checks: list[validate.Validator] = [
        validate.Range(min=low, error=f"must be at least {low} (got {{input}})"),
        validate.Range(max=maximum, error=f"must be at most {maximum} (got {{input}})"),
    ]
    return fields.Integer(
        strict=True,
        validate=checks,
        error_messages=_messages(invalid="must be an integer"),
        **kwargs,
    )


def _bool(**kwargs: Any) -> fields.Boolean:
    # marshmallow's Boolean accepts "yes", 1 and friends; a catalog must say true or false
    return fields.Boolean(
        truthy={True}, falsy={False}, error_messages=_messages(invalid="must be true or false"), **kwargs
    )


def _list(inner: fields.Field[Any], **kwargs: Any) -> fields.List[Any]:
    return fields.List(inner, error_messages=_messages(invalid="must be a list"), **kwargs)


def _nested(schema: type[Schema], **kwargs: Any) -> fields.Nested:
    return fields.Nested(schema, error_messages=_messages(type="must be a mapping"), **kwargs)


def _uom() -> fields.String:
    return fields.String(
        allow_none=True,
        validate=validate.OneOf(
            UOMS, error="{input!r} is not a unit of measure; use one of " + ", ".join(UOMS)
        ),
        error_messages=_TYPE_MESSAGES,
    )


class DecimalText(fields.Field[Decimal]):
    """A decimal written as a string ("420.00") or a number; never a bool."""

    def __init__(
        self,
        *,
        minimum: Decimal | None = None,
        below: Decimal | None = None,
        maximum: Decimal = MAX_AMOUNT,
        places: int = MAX_DECIMAL_PLACES,
        **kwargs: Any,
    ) -> None:
        super().__init__(error_messages=_TYPE_MESSAGES, **kwargs)
        self.minimum = minimum
        self.below = below
        self.maximum = maximum
        self.places = places

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            raise ValidationError('must be a decimal number such as "420.00"')
        shown = shorten(str(value))
        if isinstance(value, str) and too_many_digits(value.strip()):
            raise ValidationError(str(too_many_digits(value.strip())))
        try:
            number = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
        except InvalidOperation:
            raise ValidationError(f"{shown!r} is not a decimal number") from None
        if not number.is_finite():
            raise ValidationError(f"{shown!r} is not a finite decimal number")
        if self.minimum is not None and number < self.minimum:
            raise ValidationError(
                f"must not be negative (got {shown})" if self.minimum == 0 else f"must be >= {self.minimum}"
            )
        if self.below is not None and number >= self.below:
            raise ValidationError(f"must be below {self.below} (got {shown})")
        if number.copy_abs() > self.maximum:
            raise ValidationError(f"must be at most {self.maximum} in absolute value (got {shown})")
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > self.places:
            raise ValidationError(f"at most {self.places} decimal places (got {shown})")
        return number


class Expression(fields.Field[str]):
    """Text in the rule language. Formulas may also be written as numbers
    (``qty: 2``), and module params as booleans."""

    def __init__(
        self, *, numbers: bool = False, booleans: bool = False, positive: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(error_messages=_TYPE_MESSAGES, **kwargs)
        self.numbers = numbers
        self.booleans = booleans
        self.positive = positive

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> str:
        if isinstance(value, bool):
            if self.booleans:
                return "true" if value else "false"
        elif isinstance(value, str):
            _not_blank(value)
            return value
        elif isinstance(value, int | Decimal) and self.numbers:
            if value < 0 or (self.positive and value == 0):
                raise ValidationError(
                    f"must be {'positive' if self.positive else 'not negative'} (got {value})"
                )
            if value > MAX_QUANTITY:
                raise ValidationError(f"must be at most {MAX_QUANTITY} (got {shorten(str(value))})")
            if isinstance(value, Decimal) and not value.is_finite():
                raise ValidationError(f"{value!r} is not a finite number")
            return str(value)
        kinds = "a formula (text or number)" if self.numbers else "an expression in the rule language (text)"
        raise ValidationError(f"must be {kinds}")


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class LabelSchema(_Strict):
    """A text in English with an optional Simplified Chinese translation."""

    en = _text(required=True)
    zh_CN = fields.String(data_key="zh-CN", allow_none=True, error_messages=_TYPE_MESSAGES)

    @pre_load
    def _from_string(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, str):
            return {"en": data}
        if not isinstance(data, dict):
            raise ValidationError("must be a text or a mapping {en: ..., zh-CN: ...}")
        return data


def _label(**kwargs: Any) -> fields.Nested:
    return _nested(LabelSchema, **kwargs)


class ChoiceSchema(_Strict):
    code = fields.String(required=True, validate=_value_code, error_messages=_TYPE_MESSAGES)
    name = _label(allow_none=True)
    description = _label(allow_none=True)

    @pre_load
    def _from_scalar(self, data: Any, **kwargs: Any) -> Any:
        # `values: [S, M, L]` is shorthand for codes whose label is the code
        return data if isinstance(data, dict | list) else {"code": data}


class Bound(fields.Field[Any]):
    """An attribute bound or step: a whole number, or for decimal attributes a decimal text ("0.5")."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            if abs(value) > MAX_INTEGER:
                raise ValidationError(
                    f"must be at most {MAX_INTEGER} in absolute value (got {shorten(str(value))})"
                )
            return value
        if isinstance(value, str | Decimal) and not isinstance(value, bool):
            return DecimalText(maximum=Decimal(MAX_INTEGER))._deserialize(value, attr, data)
        raise ValidationError('must be an integer (or, for a decimal attribute, a decimal such as "0.5")')


class DerivedSchema(_Strict):
    """A derived attribute's lookup table: key columns, rows of (key values..., result)."""

    table = _list(fields.String(error_messages=_TYPE_MESSAGES), required=True)
    rows = _list(_list(fields.Raw()), required=True)


class Derived(fields.Field[Any]):
    """A derived attribute's formula (text or number) or its lookup table (a mapping)."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> Any:
        if isinstance(value, dict):
            errors = DerivedSchema().validate(value)
            if errors:
                raise ValidationError(errors)
            return value
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            raise ValidationError("must be a formula (text) or a lookup table {table: [...], rows: [...]}")
        if isinstance(value, str):
            _not_blank(value)
        return value


class TextFieldSchema(_Strict):
    """A free text the buyer writes: engraving, monogram."""

    code = fields.String(required=True, validate=_attribute_code, error_messages=_TYPE_MESSAGES)
    name = _label(required=True)
    description = _label(allow_none=True)
    max_length = _int(1, 1000, required=True)
    min_length = _int(0, 1000, allow_none=True)
    pattern = fields.String(
        allow_none=True, validate=[_not_blank, validate.Length(max=200)], error_messages=_TYPE_MESSAGES
    )
    required = _bool(allow_none=True)
    pos = _int(1, MAX_POSITION, allow_none=True)


class AttributeSchema(_Strict):
    code = fields.String(required=True, validate=_attribute_code, error_messages=_TYPE_MESSAGES)
    name = _label(required=True)
    type = fields.String(
        required=True,
        validate=validate.OneOf(
            ["enum", "bool", "int", "set", "decimal"],
            error="{input!r} is not one of enum, bool, int, set, decimal",
        ),
        error_messages=_TYPE_MESSAGES,
    )
    derived = Derived(allow_none=True, error_messages=_TYPE_MESSAGES)
    places = _int(0, MAX_DECIMAL_PLACES, allow_none=True)
    group = fields.String(allow_none=True, validate=_pattern(ID, "group code"), error_messages=_TYPE_MESSAGES)
    description = _label(allow_none=True)
    values = _list(_nested(ChoiceSchema), allow_none=True)
    default = fields.Raw(allow_none=True)
    min = Bound(allow_none=True)
    max = Bound(allow_none=True)
    step = Bound(allow_none=True)
    unit = fields.String(
        allow_none=True, validate=[_not_blank, validate.Length(max=20)], error_messages=_TYPE_MESSAGES
    )
    min_count = _int(0, allow_none=True)
    max_count = _int(0, allow_none=True)


class RuleSchema(_Strict):
    id = fields.String(required=True, validate=_pattern(ID, "rule id"), error_messages=_TYPE_MESSAGES)
    rule = Expression(allow_none=True)
    table = _list(fields.String(error_messages=_TYPE_MESSAGES), allow_none=True)
    allow = _list(_list(fields.Raw()), allow_none=True)
    forbid = _list(_list(fields.Raw()), allow_none=True)
    message = _label(required=True)


class PriceTableSchema(_Strict):
    columns = _list(fields.String(error_messages=_TYPE_MESSAGES), required=True)
    rows = _list(_list(fields.Raw()), required=True)


class PriceSchema(_Strict):
    id = fields.String(allow_none=True, validate=_pattern(ID, "price id"), error_messages=_TYPE_MESSAGES)
    label = _label(required=True)
    when = Expression(allow_none=True)
    add = Expression(numbers=True, allow_none=True)
    percent = DecimalText(maximum=MAX_PERCENT, allow_none=True)
    table = _nested(PriceTableSchema, allow_none=True)


class ComponentSchema(_Strict):
    """A module's component line: ``pos`` may be left out (10, 20, ...)."""

    pos = _int(1, MAX_POSITION, allow_none=True)
    item = fields.String(
        required=True,
        validate=_pattern(ITEM_TEMPLATE, "part or module code (or variant code such as TOP-{top})"),
        error_messages=_TYPE_MESSAGES,
    )
    qty = Expression(numbers=True, positive=True, allow_none=True)
    when = Expression(allow_none=True)
    scrap_pct = DecimalText(minimum=Decimal(0), below=Decimal(100), allow_none=True)
    op = _int(1, MAX_POSITION, allow_none=True)
    params = fields.Dict(
        keys=fields.String(error_messages=_TYPE_MESSAGES),
        values=Expression(numbers=True, booleans=True),
        allow_none=True,
        error_messages=_messages(invalid="must be a mapping of module attribute to expression"),
    )


class BomLineSchema(ComponentSchema):
    """A product's super-BOM line: ``pos`` is required."""

    pos = _int(1, MAX_POSITION, required=True)


class OperationSchema(_Strict):
    op = _int(1, MAX_POSITION, required=True)
    name = _label(required=True)
    work_center = fields.String(
        required=True, validate=_pattern(WORK_CENTER, "work center code"), error_messages=_TYPE_MESSAGES
    )
    setup_min = Expression(numbers=True, allow_none=True)
    run_min = Expression(numbers=True, allow_none=True)
    when = Expression(allow_none=True)


class PartSchema(_Strict):
    code = fields.String(
        required=True, validate=_pattern(ITEM_CODE, "part code"), error_messages=_TYPE_MESSAGES
    )
    name = _label(required=True)
    uom = _uom()
    cost = DecimalText(minimum=Decimal(0), allow_none=True)
    lead_time_days = _int(0, MAX_LEAD_TIME_DAYS, allow_none=True)


class ModuleSchema(_Strict):
    code = fields.String(
        required=True, validate=_pattern(ITEM_CODE, "module code"), error_messages=_TYPE_MESSAGES
    )
    name = _label(required=True)
    uom = _uom()
    lead_time_days = _int(0, MAX_LEAD_TIME_DAYS, allow_none=True)
    attributes = _list(_nested(AttributeSchema), allow_none=True)
    rules = _list(_nested(RuleSchema), allow_none=True)
    components = _list(_nested(ComponentSchema), allow_none=True)
    operations = _list(_nested(OperationSchema), allow_none=True)


class GroupSchema(_Strict):
    code = fields.String(required=True, validate=_pattern(ID, "group code"), error_messages=_TYPE_MESSAGES)
    name = _label(required=True)


class TestSchema(_Strict):
    id = fields.String(required=True, validate=_pattern(ID, "test id"), error_messages=_TYPE_MESSAGES)
    set = fields.Dict(
        keys=fields.String(error_messages=_TYPE_MESSAGES),
        values=fields.Raw(allow_none=False),
        required=True,
        error_messages=_messages(invalid="must be a mapping of attribute to value"),
    )
    expect = fields.String(
        allow_none=True,
        validate=validate.OneOf(["accept", "reject"], error="{input!r} is not one of accept, reject"),
        error_messages=_TYPE_MESSAGES,
    )
    reason = fields.String(allow_none=True, validate=_pattern(ID, "rule id"), error_messages=_TYPE_MESSAGES)


class RequirementSchema(_Strict):
    """A BOM requirement: how many of the named super-BOM lines every configuration selects."""

    id = fields.String(required=True, validate=_pattern(ID, "requirement id"), error_messages=_TYPE_MESSAGES)
    items = _list(
        fields.String(validate=_pattern(ITEM_PATTERN, "item code pattern"), error_messages=_TYPE_MESSAGES),
        allow_none=True,
    )
    positions = _list(_int(1, MAX_POSITION), allow_none=True)
    exactly = _int(0, MAX_POSITION, allow_none=True)
    at_least = _int(0, MAX_POSITION, allow_none=True)
    at_most = _int(0, MAX_POSITION, allow_none=True)
    message = _label(required=True)


class RepeatSchema(_Strict):
    """A repeated component: ``min``..``max`` instances, each with its own attributes, rules and BOM lines."""

    code = fields.String(required=True, validate=_attribute_code, error_messages=_TYPE_MESSAGES)
    label = _label(required=True)
    min = _int(0, 99, allow_none=True)
    max = _int(1, 99, required=True)
    default = _int(0, 99, allow_none=True)
    group = fields.String(allow_none=True, validate=_pattern(ID, "group code"), error_messages=_TYPE_MESSAGES)
    attributes = _list(_nested(AttributeSchema), allow_none=True)
    rules = _list(_nested(RuleSchema), allow_none=True)
    bom = _list(_nested(BomLineSchema), allow_none=True)


class ProductSchema(_Strict):
    code = fields.String(
        required=True, validate=_pattern(CATALOG_CODE, "product code"), error_messages=_TYPE_MESSAGES
    )
    name = _label(required=True)
    description = _label(allow_none=True)
    image = fields.String(allow_none=True, validate=_pattern(ID, "image name"), error_messages=_TYPE_MESSAGES)
    base_price = DecimalText(minimum=Decimal(0), required=True)
    lead_time_days = _int(0, MAX_LEAD_TIME_DAYS, allow_none=True)
    groups = _list(_nested(GroupSchema), allow_none=True)
    attributes = _list(_nested(AttributeSchema), allow_none=True)
    rules = _list(_nested(RuleSchema), allow_none=True)
    prices = _list(_nested(PriceSchema), allow_none=True)
    bom = _list(_nested(BomLineSchema), allow_none=True)
    routing = _list(_nested(OperationSchema), allow_none=True)
    tests = _list(_nested(TestSchema), allow_none=True)
    requires = _list(_nested(RequirementSchema), allow_none=True)
    texts = _list(_nested(TextFieldSchema), allow_none=True)
    repeat = _list(_nested(RepeatSchema), allow_none=True)


class CatalogSchema(_Strict):
    format = fields.String(required=True, validate=_format, error_messages=_TYPE_MESSAGES)
    code = fields.String(
        required=True, validate=_pattern(CATALOG_CODE, "catalog code"), error_messages=_TYPE_MESSAGES
    )
    name = _label(required=True)
    currency = fields.String(required=True, validate=_currency, error_messages=_TYPE_MESSAGES)
    description = _label(allow_none=True)
    parts = _list(_nested(PartSchema), allow_none=True)
    modules = _list(_nested(ModuleSchema), allow_none=True)
    products = _list(_nested(ProductSchema), allow_none=True)


# --- from marshmallow errors to positioned problems ---------------------------


def schema_problems(data: object, doc: Document) -> tuple[list[Problem], list[Path]]:
    """Check ``data`` against ``CatalogSchema``; return problems and the paths
    they concern (later checks skip objects under those paths)."""
    errors = _validate(data)
    problems: list[Problem] = []
    paths: list[Path] = []
    for path, message, at_key in _flatten(errors, ()):
        text = _explain(path, message, doc)
        line, column = doc.position(path, at_key=at_key)
        where = format_path(path)
        if not path and text.startswith("must be a mapping"):
            text = (
                "a catalog must be a mapping with format, code, name, currency, parts, modules and products"
            )
        # a missing or unknown key is named in the text: prefix the mapping's path
        prefix = format_path(path[:-1]) if text.startswith(("missing required key", "unknown key")) else where
        problems.append(Problem(doc.file, line, column, where, f"{prefix}: {text}" if prefix else text))
        if message != "Unknown field.":  # an unknown key is ignored: the rest is still usable
            paths.append(path)
    return problems, paths


def _flatten(errors: object, path: Path, at_key: bool = False) -> list[tuple[Path, str, bool]]:
    out: list[tuple[Path, str, bool]] = []
    if isinstance(errors, dict):
        for key, value in errors.items():
            if key == "_schema":
                out.extend(_flatten(value, path, at_key))
            elif key in ("key", "value") and isinstance(value, list):
                # fields.Dict reports {"<entry>": {"key": [...], "value": [...]}}
                out.extend(_flatten(value, path, key == "key"))
            else:
                out.extend(_flatten(value, (*path, key), at_key))
    elif isinstance(errors, list):
        for message in errors:
            if isinstance(message, str):
                out.append((path, message, at_key or message == "Unknown field."))
            else:
                out.extend(_flatten(message, path, at_key))
    return out


_TYPE_PREFIXES = ("must be a", "must be an", "must be true or false", "must not be null")


def _explain(path: Path, message: str, doc: Document) -> str:
    if message == "Unknown field.":
        allowed = allowed_keys(path[:-1])
        return f"unknown key {path[-1]!r}; allowed keys: {', '.join(allowed)}"
    if message == "Invalid input type.":
        message = "must be a mapping"
    if message == "missing required key" and path:
        return f"missing required key {path[-1]!r}"
    if message.startswith(_TYPE_PREFIXES) and "(got" not in message:
        node = doc.node_at(path)
        if node is None and path:
            parent = doc.node_at(path[:-1])
            node = parent if not isinstance(parent, dict) else None
        if node is not None:
            return f"{message} (got {_describe(node)})"
    return message


def _describe(node: object) -> str:
    from catalog.files.positions import Mapping as MappingNode
    from catalog.files.positions import Scalar

    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, Scalar):
        value = node.value
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "true" if value else "false"
        return repr(value) if isinstance(value, str) else str(value)
    return "a list"


def allowed_keys(path: Path) -> list[str]:
    """The keys the schema allows in the mapping at ``path``.

    >>> allowed_keys(("parts", 0))
    ['code', 'name', 'uom', 'cost', 'lead_time_days']
    """
    current: object = CatalogSchema()
    for part in path:
        while isinstance(current, fields.Nested | fields.List):
            if isinstance(current, fields.List):
                if not isinstance(part, int):
                    return []
                current = current.inner
                break
            current = current.schema
        else:
            if isinstance(current, Schema) and isinstance(part, str):
                current = _fields_by_key(current).get(part)
                continue
            return []
    while isinstance(current, fields.Nested):
        current = current.schema
    return list(_fields_by_key(current)) if isinstance(current, Schema) else []


def _fields_by_key(schema: Schema) -> dict[str, fields.Field[Any]]:
    return {f.data_key or name: f for name, f in schema.fields.items()}


# --- a fast path for the long lists of simple items ----------------------------
#
# A feature model imported as a catalog has tens of thousands of groups,
# attributes and rules, each a small mapping of strings that marshmallow takes
# ~0.1 ms to validate. ``_validate`` sends to marshmallow only the items of a
# product's ``groups``, ``attributes`` and ``rules`` that the checks below
# cannot vouch for, then puts the original indices back into its errors. The
# checks accept an item only when every key is a field of its schema that they
# know, every required field is present, and each value is one marshmallow
# accepts: an accepted item has no errors, so the errors are the same.

_FAST_LISTS: dict[str, type[Schema]] = {"groups": GroupSchema, "attributes": AttributeSchema, "rules": RuleSchema}
_ATTRIBUTE_CODE_RE = re.compile(ATTRIBUTE_CODE + r"\Z")
_ID_RE = re.compile(ID + r"\Z")
_LABEL_KEYS = frozenset({"en", "zh-CN"})


def _fast_label(value: object) -> bool:
    if type(value) is str:
        return bool(value.strip())
    if type(value) is not dict or not value.keys() <= _LABEL_KEYS:
        return False
    en, zh = value.get("en"), value.get("zh-CN")
    return type(en) is str and bool(en.strip()) and (zh is None or type(zh) is str)


def _fast_label_or_none(value: object) -> bool:
    return value is None or _fast_label(value)


def _fast_none(value: object) -> bool:
    return value is None


def _fast_id(value: object) -> bool:
    return type(value) is str and _ID_RE.match(value) is not None


def _fast_id_or_none(value: object) -> bool:
    return value is None or _fast_id(value)


def _fast_attribute_code(value: object) -> bool:
    return type(value) is str and _ATTRIBUTE_CODE_RE.match(value) is not None and value not in KEYWORDS


_TYPES = frozenset({"enum", "bool", "int", "set", "decimal"})

_FAST_FIELDS: dict[type[Schema], dict[str, Callable[[object], bool]]] = {
    GroupSchema: {"code": _fast_id, "name": _fast_label},
    AttributeSchema: {
        "code": _fast_attribute_code,
        "name": _fast_label,
        "type": lambda v: type(v) is str and v in _TYPES,
        "derived": _fast_none,
        "places": _fast_none,
        "group": _fast_id_or_none,
        "description": _fast_label_or_none,
        "values": _fast_none,
        "default": lambda v: True,  # fields.Raw(allow_none=True) takes any value
        "min": _fast_none,
        "max": _fast_none,
        "step": _fast_none,
        "unit": _fast_none,
        "min_count": _fast_none,
        "max_count": _fast_none,
    },
    RuleSchema: {
        "id": _fast_id,
        "rule": lambda v: v is None or (type(v) is str and bool(v.strip())),
        "table": _fast_none,
        "allow": _fast_none,
        "forbid": _fast_none,
        "message": _fast_label,
    },
}


def _required(schema: type[Schema]) -> frozenset[str]:
    return frozenset(f.data_key or name for name, f in schema().fields.items() if f.required)


_REQUIRED: dict[type[Schema], frozenset[str]] = {schema: _required(schema) for schema in _FAST_FIELDS}


def _fast_valid(item: object, schema: type[Schema]) -> bool:
    """Whether marshmallow's ``schema`` surely accepts ``item`` (False: ask marshmallow)."""
    if type(item) is not dict:
        return False
    checks = _FAST_FIELDS[schema]
    if not _REQUIRED[schema] <= item.keys():
        return False
    for key, value in item.items():
        check = checks.get(key)
        if check is None or not check(value):
            return False
    return True


def _validate(data: object) -> dict[Any, Any]:
    """``CatalogSchema().validate(data)``, with the items :func:`_fast_valid` vouches for left out."""
    products = data.get("products") if type(data) is dict else None
    if type(products) is not list:
        return CatalogSchema().validate(data)  # type: ignore[arg-type]
    kept: dict[tuple[int, str], list[int]] = {}
    pruned_products: list[object] = []
    for p, product in enumerate(products):
        if type(product) is not dict:
            pruned_products.append(product)
            continue
        pruned = dict(product)
        for key, schema in _FAST_LISTS.items():
            items = product.get(key)
            if type(items) is not list:
                continue
            indices = [i for i, item in enumerate(items) if not _fast_valid(item, schema)]
            kept[(p, key)] = indices
            pruned[key] = [items[i] for i in indices]
        pruned_products.append(pruned)
    errors = CatalogSchema().validate({**data, "products": pruned_products})  # type: ignore[dict-item]
    product_errors = errors.get("products")
    if isinstance(product_errors, dict):
        for p, found in product_errors.items():
            if not isinstance(p, int) or not isinstance(found, dict):
                continue
            for key in _FAST_LISTS:
                indices = kept.get((p, key))
                listed = found.get(key)
                if indices is not None and isinstance(listed, dict):
                    found[key] = {indices[j] if isinstance(j, int) else j: e for j, e in listed.items()}
    return errors
