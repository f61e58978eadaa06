"""Marshmallow schemas shared by the API's blueprints: problems, catalogs, products, configurations.

Request schemas reject unknown fields (marshmallow's default ``RAISE``), so
the OpenAPI document says ``additionalProperties: false`` and a misspelt
field is a 422 naming it. Response schemas mirror exactly what the views
return. Values of attributes are JSON scalars (a code, an int, a bool) or,
for set attributes, lists of codes; they are declared as ``Raw`` with the
documented JSON type so the spec stays truthful.
"""

from __future__ import annotations

from typing import Any

from marshmallow import INCLUDE, Schema, ValidationError, fields, validate, validates_schema

PROBLEM_JSON = "application/problem+json"

VALUE_JSON_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {"type": "string"},
        {"type": "integer"},
        {"type": "boolean"},
        {"type": "array", "items": {"type": "string"}},
    ],
    "description": "A value code, an integer, a boolean, exact decimal text (\"7.5\") for a decimal attribute, "
                   "or for a set attribute a list of element codes.",
}
ATTRIBUTE_CODE = validate.Length(min=1, max=200)


def value_field(**kwargs: Any) -> fields.Raw:
    """An attribute value (see ``VALUE_JSON_SCHEMA``)."""
    metadata = dict(VALUE_JSON_SCHEMA)
    if kwargs.get("allow_none"):
        metadata = {"oneOf": [*VALUE_JSON_SCHEMA["oneOf"], {"type": "null"}]}
    return fields.Raw(metadata=metadata, **kwargs)


ATTRIBUTE_KINDS = ("enum", "bool", "int", "decimal", "set")
DECIMAL_TEXT = r"^-?[0-9]+(\.[0-9]+)?$"


def bound_field() -> fields.Raw:
    """A bound or step of a numeric attribute: an integer, or for a decimal attribute its exact text ("72.5")."""
    return fields.Raw(
        allow_none=True,
        metadata={
            "oneOf": [{"type": "integer"}, {"type": "string", "pattern": DECIMAL_TEXT}, {"type": "null"}],
            "description": "An integer; for a decimal attribute exact decimal text; null when not numeric.",
        },
    )


# --------------------------------------------------------------------------- problems


class ProblemSchema(Schema):
    """An RFC 9457 problem document; ``reason`` is the stable machine-readable cause."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    reason = fields.String(required=True)
    instance = fields.String()
    errors = fields.Raw(metadata={"description": "Field messages or FILE:LINE:COL problem lines."})


# --------------------------------------------------------------------------- decisions


class DecisionSchema(Schema):
    """One decision: ``{"attribute", "value"}`` or, for one element of a set, ``{"attribute", "element", "included"}``."""

    attribute = fields.String(required=True, validate=ATTRIBUTE_CODE)
    value = value_field()
    element = fields.String(validate=ATTRIBUTE_CODE)
    included = fields.Boolean()
    origin = fields.String(
        validate=validate.OneOf(("buyer", "completed")),
        metadata={"description": "Who made it: the buyer (the default) or \"Finish for me\" (completed), "
                  "as the configuration's decisions report it."},
    )

    @validates_schema
    def _one_shape(self, data: dict[str, Any], **_: Any) -> None:
        if ("value" in data) == ("element" in data):
            raise ValidationError("give either 'value' or 'element'", "value")
        if "included" in data and "element" not in data:
            raise ValidationError("'included' goes with 'element'", "included")
        if "value" in data and data["value"] is None:
            raise ValidationError("a value is required", "value")


class DecisionOutSchema(Schema):
    attribute = fields.String(required=True)
    value = value_field()
    element = fields.String()
    included = fields.Boolean()
    origin = fields.String(
        metadata={"description": "\"completed\": filled by \"Finish for me\", not the buyer's own choice "
                  "(absent: the buyer's)."}
    )


class InvalidDecisionSchema(Schema):
    index = fields.Integer(
        required=True, metadata={"description": "Position in the stored history (0 = oldest)."}
    )
    decision = fields.Raw(required=True, metadata={"description": "The stored entry as it was saved."})
    reason = fields.String(required=True)
    detail = fields.String(required=True)


ON_CONFLICT = fields.String(
    load_default="reject",
    validate=validate.OneOf(("reject", "keep")),
    metadata={
        "description": "reject: 409 and nothing stored; keep: store it, the state reports the conflict."
    },
)


def texts_field(**kwargs: object) -> fields.Dict:
    """The buyer's free texts (engraving, monogram) by the product's text field code."""
    return fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=100)),
        values=fields.String(validate=validate.Length(max=1000)),
        validate=validate.Length(max=50),
        metadata={"description": "The buyer's free texts (engraving, monogram) by text field code. Each is "
                  "checked like an order's (length, pattern); surrounding spaces are removed and empty ones "
                  "left out. A required text may still be empty here: ordering asks for it."},
        **kwargs,  # type: ignore[arg-type]
    )


class CreateConfigurationSchema(Schema):
    product = fields.String(required=True, validate=validate.Length(min=1, max=200))
    catalog = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Needed only when several catalogs sell the product."},
    )
    decisions = fields.List(
        fields.Nested(DecisionSchema), load_default=list, validate=validate.Length(max=500)
    )
    texts = texts_field(load_default=dict)
    on_conflict = ON_CONFLICT


def revision_field(*, strict: bool = True) -> fields.Integer:
    """``strict``: a JSON number only (query strings are text, so they are not strict)."""
    return fields.Integer(
        strict=strict,
        validate=validate.Range(min=1, max=2**31 - 1),
        metadata={
            "description": "The configuration's revision this change was made on (from the last answer): "
            "when it is no longer the stored one the change is refused with 409 stale_revision and "
            "the current configuration. Without it the change applies to the stored revision."
        },
    )


class AddDecisionSchema(DecisionSchema):
    on_conflict = ON_CONFLICT
    revision = revision_field()


class ReplaceDecisionsSchema(Schema):
    decisions = fields.List(fields.Nested(DecisionSchema), required=True, validate=validate.Length(max=500))
    on_conflict = ON_CONFLICT
    revision = revision_field()


class ReplaceTextsSchema(Schema):
    texts = texts_field(required=True)
    revision = revision_field()


class RemoveDecisionQuerySchema(Schema):
    element = fields.String(
        validate=ATTRIBUTE_CODE, metadata={"description": "For a set attribute: remove only this element."}
    )
    revision = revision_field(strict=False)


class RevisionQuerySchema(Schema):
    revision = revision_field(strict=False)


class StateQuerySchema(Schema):
    reasons = fields.Boolean(
        load_default=False,
        metadata={"description": "Explain every greyed value (slower: one diagnosis per value)."},
    )


class ExplainQuerySchema(Schema):
    attribute = fields.String(required=True, validate=ATTRIBUTE_CODE)
    value = fields.String(
        required=True,
        validate=validate.Length(max=2000),
        metadata={"description": "As text: a code, an integer, true/false; for a set one element code."},
    )
    included = fields.Boolean(
        load_default=True, metadata={"description": "For a set element: in (true) or out."}
    )


class RepairSchema(Schema):
    attribute = fields.String(required=True, validate=ATTRIBUTE_CODE)
    value = value_field(required=True)
    included = fields.Boolean(load_default=True)
    apply = fields.Boolean(load_default=False)


class CompleteSchema(Schema):
    objective = fields.String(load_default="defaults", validate=validate.OneOf(("defaults", "cheapest")))
    apply = fields.Boolean(load_default=False)


# --------------------------------------------------------------------------- state


class RuleMessageSchema(Schema):
    rule_id = fields.String(required=True)
    message = fields.String(required=True)


class ReasonSchema(Schema):
    decisions = fields.List(fields.Nested(DecisionOutSchema), required=True)
    rules = fields.List(fields.Nested(RuleMessageSchema), required=True)


class ValueStateSchema(Schema):
    value = value_field(required=True)
    label = fields.String(required=True)
    possible = fields.Boolean(required=True)
    selected = fields.Boolean(required=True)
    source = fields.String(allow_none=True, required=True)
    price_delta = fields.String(
        allow_none=True, required=True, metadata={"description": "Decimal string; null when impossible."}
    )
    possible_out = fields.Boolean(metadata={"description": "Set elements: leaving it out is possible."})
    replaces_completed = fields.Boolean(
        metadata={"description": "Only values filled by \"Finish for me\" stand in its way: choosing it re-fills "
                  "them, so its price_delta is null and the new total comes with the answer."}
    )
    reason = fields.Nested(
        ReasonSchema, metadata={"description": "Only with ?reasons=true, on greyed values."}
    )


class AttributeHeaderSchema(Schema):
    """The catalog facts of an attribute (``usecases.catalogs.attribute_header``), shared by the product
    detail, the state and derived attributes."""

    code = fields.String(required=True)
    label = fields.String(required=True)
    description = fields.String(allow_none=True)
    kind = fields.String(required=True, validate=validate.OneOf(ATTRIBUTE_KINDS))
    group = fields.String(allow_none=True)
    unit = fields.String(allow_none=True)
    min = bound_field()
    max = bound_field()
    step = bound_field()
    places = fields.Integer(metadata={"description": "Decimal attributes only: decimal places of their values."})
    min_count = fields.Integer(allow_none=True)
    max_count = fields.Integer(allow_none=True)


class AttributeStateSchema(AttributeHeaderSchema):
    value = value_field(allow_none=True)
    source = fields.String(
        allow_none=True,
        metadata={"description": "Where the value comes from: user (the buyer's choice), implied (required by a "
                  "rule), default, cheapest (suggested), completed (filled by \"Finish for me\"), null (open)."},
    )
    values = fields.List(fields.Nested(ValueStateSchema), required=True)
    rules = fields.List(
        fields.Nested(RuleMessageSchema), metadata={"description": "Rules that constrain it."}
    )


class GroupSchema(Schema):
    code = fields.String(required=True)
    label = fields.String(required=True)


class StatePriceLineSchema(Schema):
    rule_id = fields.String(required=True)
    label = fields.String(required=True)
    amount = fields.String(required=True)
    attributes = fields.List(fields.String(), required=True)


class StatePriceSchema(Schema):
    currency = fields.String(required=True)
    base = fields.String(required=True)
    total = fields.String(required=True)
    lines = fields.List(fields.Nested(StatePriceLineSchema), required=True)


class ConflictSchema(Schema):
    decisions = fields.List(fields.Nested(DecisionOutSchema), required=True)
    rules = fields.List(fields.Nested(RuleMessageSchema), required=True)
    dropped = fields.List(fields.Nested(DecisionOutSchema), required=True)


class DerivedAttributeSchema(AttributeHeaderSchema):
    """A derived attribute: computed from others, read-only."""

    description = fields.String(allow_none=True, required=True)
    group = fields.String(allow_none=True, required=True)
    unit = fields.String(allow_none=True, required=True)
    value = value_field(allow_none=True, required=True)


class StateSchema(Schema):
    product = fields.String(required=True)
    label = fields.String(required=True)
    locale = fields.String(required=True)
    groups = fields.List(fields.Nested(GroupSchema), required=True)
    decisions = fields.List(fields.Nested(DecisionOutSchema), required=True)
    attributes = fields.List(fields.Nested(AttributeStateSchema), required=True)
    price = fields.Nested(StatePriceSchema, required=True)
    complete = fields.Boolean(required=True)
    missing = fields.List(fields.String(), required=True)
    count = fields.Integer(required=True)
    conflict = fields.Nested(ConflictSchema, allow_none=True, required=True)
    derived = fields.List(
        fields.Nested(DerivedAttributeSchema),
        metadata={"description": "Products with derived attributes only: each one's value once the attributes "
                  "it reads are settled (null before)."},
    )


class SharedConfigurationSchema(Schema):
    """A configuration seen through its share link: read-only, so no id or token."""

    catalog = fields.String(required=True)
    version = fields.Integer(required=True)
    content_hash = fields.String(required=True)
    product = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    decisions = fields.List(
        fields.Raw(), required=True, metadata={"description": "Stored history, oldest first."}
    )
    invalid_decisions = fields.List(fields.Nested(InvalidDecisionSchema), required=True)
    texts = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": "The buyer's free texts (engraving, monogram) by text field code, as stored."},
    )
    state = fields.Nested(StateSchema, required=True)


class ConfigurationSchema(SharedConfigurationSchema):
    id = fields.String(required=True)
    share_token = fields.String(required=True)
    revision = fields.Integer(
        required=True, metadata={"description": "Counts stored changes; send it with the next change."}
    )


class ExplanationSchema(Schema):
    attribute = fields.String(required=True)
    value = value_field(required=True)
    possible = fields.Boolean(required=True)
    decisions = fields.List(fields.Nested(DecisionOutSchema), required=True)
    rules = fields.List(fields.Nested(RuleMessageSchema), required=True)


class RepairResultSchema(Schema):
    drop = fields.List(fields.Nested(DecisionOutSchema), required=True)
    keep = fields.List(fields.Nested(DecisionOutSchema), required=True)
    decisions = fields.List(fields.Nested(DecisionOutSchema), required=True)
    applied = fields.Boolean(required=True)
    configuration = fields.Nested(ConfigurationSchema, allow_none=True, required=True)


class CompletionSchema(Schema):
    objective = fields.String(required=True)
    values = fields.Dict(keys=fields.String(), values=value_field(), required=True)
    applied = fields.Boolean(required=True)
    configuration = fields.Nested(ConfigurationSchema, allow_none=True, required=True)


# --------------------------------------------------------------------------- catalogs and products


class ProductSummarySchema(Schema):
    catalog = fields.String(required=True)
    version = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String(allow_none=True)
    image = fields.String(allow_none=True)
    base_price = fields.String(required=True)
    currency = fields.String(required=True)
    lead_time_days = fields.Integer(required=True)


class ProductPageQuerySchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class ProductPageSchema(Schema):
    items = fields.List(fields.Nested(ProductSummarySchema), required=True)
    page = fields.Integer(required=True)
    page_size = fields.Integer(required=True)
    total = fields.Integer(required=True, metadata={"description": "Products on sale in all."})


class ChoiceSchema(Schema):
    value = value_field(required=True)
    label = fields.String(required=True)
    description = fields.String(allow_none=True)


class AttributeSchema(AttributeHeaderSchema):
    default = value_field(allow_none=True)
    values = fields.List(fields.Nested(ChoiceSchema), required=True)


class PriceRuleInfoSchema(Schema):
    rule_id = fields.String(required=True)
    label = fields.String(required=True)


class ProductDetailSchema(ProductSummarySchema):
    content_hash = fields.String(required=True)
    groups = fields.List(fields.Nested(GroupSchema), required=True)
    attributes = fields.List(fields.Nested(AttributeSchema), required=True)
    rules = fields.List(fields.Nested(RuleMessageSchema), required=True)
    prices = fields.List(fields.Nested(PriceRuleInfoSchema), required=True)


class VersionProductSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    base_price = fields.String(required=True)
    currency = fields.String(required=True)


class CatalogVersionSchema(Schema):
    catalog = fields.String(required=True)
    number = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("draft", "published", "archived")))
    content_hash = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    published_at = fields.DateTime(allow_none=True)
    valid_from = fields.DateTime(allow_none=True)
    valid_to = fields.DateTime(allow_none=True)
    source = fields.String(allow_none=True)
    comment = fields.String(allow_none=True)
    products = fields.List(fields.Nested(VersionProductSchema), required=True)
    checks = fields.Dict(
        allow_none=True,
        metadata={
            "description": "The catalog checks stored when the version was published: checked_at, "
            "content_hash, skipped, skipped_by, skip_reason, warnings (count) and findings (the warnings)."
        },
    )


class DiffExampleSchema(Schema):
    configuration = fields.Dict(keys=fields.String(), values=value_field(), required=True)
    reasons = fields.List(fields.String(), required=True)


class PriceChangeSchema(Schema):
    configuration = fields.Dict(keys=fields.String(), values=value_field(), required=True)
    before = fields.String(required=True)
    after = fields.String(required=True)
    delta = fields.String(required=True, metadata={"description": "Signed, e.g. +12.50."})
    lines = fields.List(fields.String(), required=True)


class ProductDiffSchema(Schema):
    product = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("added", "removed", "same", "changed")))
    configurations_a = fields.Integer(allow_none=True, required=True)
    configurations_b = fields.Integer(allow_none=True, required=True)
    in_both = fields.Integer(allow_none=True, required=True)
    only_in_a = fields.Integer(allow_none=True, required=True)
    only_in_b = fields.Integer(allow_none=True, required=True)
    attributes_added = fields.List(fields.String(), required=True)
    attributes_removed = fields.List(fields.String(), required=True)
    rules_changed = fields.List(fields.String(), required=True)
    example_only_in_a = fields.Nested(DiffExampleSchema, allow_none=True, required=True)
    example_only_in_b = fields.Nested(DiffExampleSchema, allow_none=True, required=True)
    price_changes = fields.List(fields.Nested(PriceChangeSchema), required=True)
    priced_configurations = fields.Integer(required=True)
    error = fields.String(allow_none=True, required=True)


class AffectedConfigurationSchema(Schema):
    id = fields.String(required=True)
    product = fields.String(required=True)
    reasons = fields.List(fields.String(), required=True)


class AffectedOrderSchema(Schema):
    number = fields.String(required=True)
    product = fields.String(required=True)
    status = fields.String(required=True)
    reasons = fields.List(fields.String(), required=True)


class AffectedSchema(Schema):
    configurations_checked = fields.Integer(required=True)
    orders_checked = fields.Integer(required=True)
    configurations = fields.List(fields.Nested(AffectedConfigurationSchema), required=True)
    orders = fields.List(fields.Nested(AffectedOrderSchema), required=True)


class CatalogDiffSchema(Schema):
    catalog = fields.String(required=True)
    a = fields.String(required=True, metadata={"description": "Version A as CODE@NUMBER."})
    b = fields.String(required=True, metadata={"description": "Version B as CODE@NUMBER."})
    products = fields.List(fields.Nested(ProductDiffSchema), required=True)
    affected = fields.Nested(
        AffectedSchema,
        allow_none=True,
        required=True,
        metadata={"description": "Saved configurations and open orders on A that B does not accept."},
    )


class CatalogSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    current_version = fields.Integer(allow_none=True, required=True)
    latest_version = fields.Integer(allow_none=True, required=True)
    draft_version = fields.Integer(allow_none=True, required=True)
    versions = fields.List(fields.Nested(CatalogVersionSchema), required=True)


class UploadQuerySchema(Schema):
    publish = fields.Boolean(
        load_default=False, metadata={"description": "Publish the imported version at once."}
    )
    comment = fields.String(validate=validate.Length(max=2000))
    skip_checks = fields.Boolean(
        load_default=False,
        metadata={
            "description": "With publish: emergencies only, publish without the catalog checks "
            "(needs skip_reason; logged and shown on the version)."
        },
    )
    skip_reason = fields.String(validate=validate.Length(max=2000))


class PublishSchema(Schema):
    valid_from = fields.DateTime(metadata={"description": "Start of sale, UTC when naive (default now)."})
    valid_to = fields.DateTime(allow_none=True, metadata={"description": "End of sale (default open)."})
    skip_checks = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Emergencies only: publish without the catalog checks "
            "(needs skip_reason; logged and shown on the version)."
        },
    )
    skip_reason = fields.String(validate=validate.Length(max=2000))
