"""Marshmallow schemas of the order and ERP endpoints (problems: ``web.api.schemas.ProblemSchema``)."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from usecases.orders import MAX_QUANTITY, ORDER_STATUSES, PRODUCTION_ORDER_STATUSES
from usecases.outbox import EVENT_TYPES
from web.api.schemas import value_field

LOCALES = ("en", "zh-CN")
MAX_LIMIT = 100


class DeliveryAddressSchema(Schema):
    """Where the order is delivered. ``country`` is an ISO 3166-1 alpha-2 code (``CN``, ``DE``)."""

    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    street = fields.String(required=True, validate=validate.Length(min=1, max=500))
    city = fields.String(required=True, validate=validate.Length(min=1, max=200))
    postal_code = fields.String(allow_none=True, validate=validate.Length(max=20))
    country = fields.String(
        required=True,
        validate=validate.Regexp(r"^[A-Z]{2}$", error="an ISO 3166-1 alpha-2 country code such as CN or DE"),
    )
    phone = fields.String(
        allow_none=True,
        validate=validate.Regexp(
            r"^\+?[0-9][0-9 ()\-]{3,38}$", error="a phone number: digits, spaces, ( ) - and an optional leading +"
        ),
    )


class DeliveryAddressOutSchema(Schema):
    name = fields.String(required=True)
    street = fields.String(required=True)
    city = fields.String(required=True)
    postal_code = fields.String(required=True, allow_none=True)
    country = fields.String(required=True)
    phone = fields.String(required=True, allow_none=True)


class PlaceOrderSchema(Schema):
    """Either ``configuration_id`` (a saved configuration) or ``catalog`` + ``product`` + ``decisions``."""

    class Meta:
        unknown = RAISE

    configuration_id = fields.String(validate=validate.Length(min=1, max=36))
    catalog = fields.String(validate=validate.Length(min=1, max=100))
    version = fields.Integer(strict=True, validate=validate.Range(min=1))
    product = fields.String(validate=validate.Length(min=1, max=100))
    decisions = fields.List(
        fields.Dict(keys=fields.String(), values=fields.Raw()), validate=validate.Length(max=500)
    )
    quantity = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=1, max=MAX_QUANTITY))
    customer_name = fields.String(validate=validate.Length(max=200))
    customer_email = fields.Email(validate=validate.Length(max=254))
    locale = fields.String(load_default="en", validate=validate.OneOf(LOCALES))
    purchase_order_ref = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={"description": "The buyer's own purchase-order number, passed on to the ERP."},
    )
    delivery_address = fields.Nested(DeliveryAddressSchema)
    notes = fields.String(
        validate=validate.Length(max=2000), metadata={"description": "The buyer's notes to the manufacturer."}
    )
    texts = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=100)),
        values=fields.String(validate=validate.Length(max=1000)),
        validate=validate.Length(max=50),
        metadata={"description": "The buyer's free texts (engraving, monogram) by text field code; checked "
                  "against the product's text fields and printed on the BOM line and the production order."},
    )

    @validates_schema
    def _one_source(self, data: dict[str, Any], **_: Any) -> None:
        direct = [k for k in ("catalog", "product", "decisions") if k in data]
        if "configuration_id" in data and direct:
            raise ValidationError("give configuration_id or catalog/product/decisions, not both", direct[0])
        if "configuration_id" not in data:
            missing = [k for k in ("catalog", "product", "decisions") if k not in data]
            if missing:
                raise ValidationError("required unless configuration_id is given", missing[0])


IDEMPOTENCY_KEY_MAX = 255
IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": True,
    "schema": {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX},
    "description": "A unique key per order (e.g. a UUID); retries reuse it. Missing or too long: 400.",
}
ORDER_TOKEN_PARAMETER: dict[str, Any] = {
    "in": "header",
    "name": "X-Order-Token",
    "required": False,
    "schema": {"type": "string", "maxLength": 200},
    "description": "The order's access token, instead of the ?token= query parameter.",
}
IF_NONE_MATCH_PARAMETER: dict[str, Any] = {
    "in": "header",
    "name": "If-None-Match",
    "required": False,
    "schema": {"type": "string"},
    "description": "ETags of responses received before (weak or strong, or *): 304 without a body when one matches.",
}
ETAG_HEADER: dict[str, Any] = {
    "ETag": {"schema": {"type": "string"}, "description": "Changes whenever the body would."}
}
NOT_MODIFIED = "Not modified: If-None-Match names the current ETag (no body)."


class OrderAccessQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    token = fields.String(
        validate=validate.Length(max=200),
        metadata={
            "description": "The order's access token (returned once, on creation); or send X-Order-Token."
        },
    )


class OrderLabelSchema(Schema):
    en = fields.String(required=True)
    zh_CN = fields.String(attribute="zh-CN", data_key="zh-CN", required=True)


class OrderPriceLineSchema(Schema):
    rule = fields.String(required=True)
    label = fields.Nested(OrderLabelSchema, required=True)
    amount = fields.String(required=True)
    attributes = fields.List(fields.String(), required=True)


class OrderPriceSchema(Schema):
    currency = fields.String(required=True)
    base = fields.String(required=True)
    lines = fields.List(fields.Nested(OrderPriceLineSchema), required=True)
    unit_total = fields.String(required=True)
    quantity = fields.Integer(required=True)
    total = fields.String(required=True)


class OrderProductionOrderSchema(Schema):
    number = fields.String(required=True)
    status = fields.String(required=True)
    document_sha256 = fields.String(required=True)


class OrderSchema(Schema):
    number = fields.String(required=True, metadata={"example": "SO-2026-000042"})
    status = fields.String(required=True, metadata={"enum": list(ORDER_STATUSES)})
    created_at = fields.String(required=True)
    catalog = fields.String(required=True)
    version = fields.Integer(required=True)
    content_hash = fields.String(required=True)
    product = fields.String(required=True)
    configuration_id = fields.String(required=True, allow_none=True)
    decisions = fields.List(fields.Dict(keys=fields.String(), values=fields.Raw()), required=True)
    configuration = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True)
    quantity = fields.Integer(required=True)
    currency = fields.String(required=True)
    price = fields.Nested(OrderPriceSchema, required=True)
    due_date = fields.String(required=True, allow_none=True)
    customer_name = fields.String(required=True, allow_none=True)
    customer_email = fields.String(required=True, allow_none=True)
    locale = fields.String(required=True)
    purchase_order_ref = fields.String(required=True, allow_none=True)
    delivery_address = fields.Nested(DeliveryAddressOutSchema, required=True, allow_none=True)
    notes = fields.String(required=True, allow_none=True)
    updated_at = fields.String(required=True, metadata={"description": "Last change of the order (ISO 8601, UTC)."})
    bom_sha256 = fields.String(required=True)
    production_orders = fields.List(fields.Nested(OrderProductionOrderSchema), required=True)


class OrderCreatedSchema(OrderSchema):
    access_token = fields.String(
        required=True,
        metadata={"description": "Opens GET /api/v1/orders/{number}?token=...; shown only here."},
    )


class OrderListItemSchema(OrderSchema):
    cursor = fields.String(required=True, metadata={"description": "Resume the listing after this item."})


class OrderPageSchema(Schema):
    items = fields.List(fields.Nested(OrderListItemSchema), required=True)
    next = fields.String(required=True, allow_none=True, metadata={"description": "Cursor of the next page."})


class PageQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    after = fields.String(
        validate=validate.Length(max=200), metadata={"description": "Cursor from a previous page."}
    )
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_LIMIT))
    updated_since = fields.AwareDateTime(
        default_timezone=None,
        metadata={
            "description": "Only those changed at or after this moment (ISO 8601 with an offset, e.g. "
            "2026-12-01T08:00:00Z); creation counts as a change."
        },
    )


class OrderPageQuerySchema(PageQuerySchema):
    status = fields.List(
        fields.String(validate=validate.OneOf(ORDER_STATUSES)),
        metadata={"description": "Keep orders in one of these statuses (repeat the parameter)."},
    )


class ProductionOrderPageQuerySchema(PageQuerySchema):
    status = fields.List(
        fields.String(validate=validate.OneOf(PRODUCTION_ORDER_STATUSES)),
        metadata={"description": "Keep production orders in one of these statuses (repeat the parameter)."},
    )


class ProductionOrderSummarySchema(Schema):
    number = fields.String(required=True, metadata={"example": "PO-2026-000042"})
    order_number = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(PRODUCTION_ORDER_STATUSES)})
    catalog = fields.String(required=True)
    version = fields.Integer(required=True)
    product = fields.String(required=True)
    quantity = fields.Integer(required=True)
    due_date = fields.String(required=True, allow_none=True)
    document_sha256 = fields.String(required=True)
    created_at = fields.String(required=True)
    acknowledged_at = fields.String(required=True, allow_none=True)
    acknowledged_by = fields.String(required=True, allow_none=True)
    order_status = fields.String(required=True, metadata={"enum": list(ORDER_STATUSES)})
    erp_reference = fields.String(required=True, allow_none=True)
    shipment_reference = fields.String(required=True, allow_none=True)
    status_reason = fields.String(required=True, allow_none=True)
    status_changed_at = fields.String(required=True, allow_none=True)
    updated_at = fields.String(required=True)


class ProductionOrderListItemSchema(ProductionOrderSummarySchema):
    cursor = fields.String(required=True)


class ProductionOrderPageSchema(Schema):
    items = fields.List(fields.Nested(ProductionOrderListItemSchema), required=True)
    next = fields.String(required=True, allow_none=True)


class DocumentLabelSchema(Schema):
    en = fields.String(required=True)
    zh_CN = fields.String(attribute="zh-CN", data_key="zh-CN", required=True)


def _values_field(description: str) -> fields.Dict:
    return fields.Dict(keys=fields.String(), values=value_field(), required=True, metadata={"description": description})


class ProvenanceSchema(Schema):
    condition = fields.String(required=True, allow_none=True)
    quantity_formula = fields.String(required=True, allow_none=True)
    inputs = _values_field("The attribute values the line's condition and formula read.")


class BomInstanceSchema(Schema):
    """The instance of a repeated component a BOM line belongs to."""

    component = fields.String(required=True, metadata={"description": "The repeated component's code (`section`)."})
    index = fields.Integer(required=True, metadata={"description": "The instance number, from 1."})
    label = fields.Nested(DocumentLabelSchema, required=True, metadata={"description": "The instance's label."})
    values = _values_field("The instance's attribute values by the component's own attribute codes (`width`).")


def _texts_field(description: str) -> fields.Dict:
    return fields.Dict(keys=fields.String(), values=fields.String(), metadata={"description": description})


class BomItemSchema(Schema):
    level = fields.Integer(required=True)
    position = fields.String(required=True)
    path = fields.String(required=True)
    item = fields.String(required=True)
    name = fields.Nested(DocumentLabelSchema, required=True)
    kind = fields.String(required=True, metadata={"enum": ["part", "module"]})
    quantity_per = fields.String(required=True)
    total_quantity = fields.String(required=True)
    unit = fields.String(required=True)
    scrap_pct = fields.String(required=True)
    total_with_scrap = fields.String(required=True)
    cost = fields.String(required=True)
    op = fields.Integer(required=True, allow_none=True)
    owner = fields.String(required=True)
    provenance = fields.Nested(ProvenanceSchema, required=True)
    configuration = _values_field("A configurable module's attribute values (empty for parts).")
    texts = _texts_field("The buyer's texts printed on this line, by text field code (only when there are some).")
    instance = fields.Nested(
        BomInstanceSchema,
        metadata={
            "description": "The repeated component's instance the line belongs to: its own lines and the lines "
            "below them (absent on the other lines)."
        },
    )


class BomPartSchema(Schema):
    item = fields.String(required=True)
    name = fields.Nested(DocumentLabelSchema, required=True)
    unit = fields.String(required=True)
    total_quantity = fields.String(required=True)
    total_with_scrap = fields.String(required=True)
    unit_cost = fields.String(required=True)
    cost = fields.String(required=True)
    lead_time_days = fields.Integer(required=True)
    paths = fields.List(fields.String(), required=True)


class BomDocumentSchema(Schema):
    """The canonical BOM (``c2m-bom/1``)."""

    format = fields.String(required=True)
    catalog = fields.String(required=True)
    currency = fields.String(required=True)
    product = fields.String(required=True)
    product_name = fields.Nested(DocumentLabelSchema, required=True)
    quantity = fields.Integer(required=True)
    configuration = _values_field("Attribute code -> value, every attribute of the product.")
    items = fields.List(fields.Nested(BomItemSchema), required=True)
    parts = fields.List(fields.Nested(BomPartSchema), required=True)
    total_cost = fields.String(required=True)
    texts = _texts_field("Every text the buyer wrote, by text field code (only when there are some).")


class OperationSchema(Schema):
    sequence = fields.Integer(required=True)
    level = fields.Integer(required=True)
    path = fields.String(required=True)
    item = fields.String(required=True)
    op = fields.Integer(required=True)
    name = fields.Nested(DocumentLabelSchema, required=True)
    work_center = fields.String(required=True)
    quantity = fields.String(required=True)
    setup_min = fields.String(required=True)
    run_min = fields.String(required=True)
    run_total = fields.String(required=True)
    duration = fields.String(required=True)
    condition = fields.String(required=True, allow_none=True)
    inputs = _values_field("The attribute values the operation's condition read.")
    planned_start = fields.String(required=True)
    planned_end = fields.String(required=True)


class MaterialSchema(Schema):
    item = fields.String(required=True)
    name = fields.Nested(DocumentLabelSchema, required=True)
    unit = fields.String(required=True)
    quantity = fields.String(required=True)
    need_date = fields.String(required=True)
    lead_time_days = fields.Integer(required=True)
    latest_order_date = fields.String(required=True)
    consumed_by = fields.List(fields.String(), required=True)


class CalendarSchema(Schema):
    day_start = fields.String(required=True)
    shifts = fields.Integer(required=True)
    shift_hours = fields.Integer(required=True)
    working_days = fields.List(fields.Integer(), required=True)
    holidays = fields.List(fields.String(), required=True)


class FeasibilitySchema(Schema):
    today = fields.String(required=True)
    earliest_start = fields.String(required=True)
    earliest_end = fields.String(required=True)
    due_date_reachable = fields.Boolean(required=True)
    late_materials = fields.List(fields.String(), required=True)


class ProductionOrderDocumentSchema(Schema):
    """The canonical production order (``c2m-production-order/1``): BOM, operations, materials.

    Decimals are strings; dates ISO 8601; datetimes plant-local without offset (see docs/exports.md).
    """

    format = fields.String(required=True)
    number = fields.String(required=True)
    catalog = fields.String(required=True)
    catalog_version = fields.String(required=True)
    catalog_hash = fields.String(required=True)
    product = fields.String(required=True)
    product_name = fields.Nested(DocumentLabelSchema, required=True)
    quantity = fields.Integer(required=True)
    configuration = _values_field(
        "Attribute code -> value: the attributes the product is made with (those of a repeated component's "
        "instance not in use are left out; `bom.configuration` has every attribute)."
    )
    due_date = fields.String(required=True)
    planned_start = fields.String(required=True)
    planned_end = fields.String(required=True)
    calendar = fields.Nested(CalendarSchema, required=True)
    operations = fields.List(fields.Nested(OperationSchema), required=True)
    materials = fields.List(fields.Nested(MaterialSchema), required=True)
    feasibility = fields.Nested(FeasibilitySchema, required=True, allow_none=True)
    bom = fields.Nested(BomDocumentSchema, required=True)
    bom_sha256 = fields.String(required=True)
    texts = _texts_field("Every text the buyer wrote, by text field code (only when there are some).")


class ErpActionSchema(Schema):
    """Optional details of an ERP action; the first value given for a reference stands."""

    class Meta:
        unknown = RAISE

    erp_reference = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={"description": "The ERP's own reference (e.g. its manufacturing order number)."},
    )


class ShipSchema(ErpActionSchema):
    shipment_reference = fields.String(
        validate=validate.Length(min=1, max=200), metadata={"description": "Shipment or tracking reference."}
    )


class StatusReasonSchema(ErpActionSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))


# --------------------------------------------------------------------------- changes feed


class EventSchema(Schema):
    """One event, exactly as its webhook delivers it."""

    id = fields.String(required=True, metadata={"description": "Stable across retries: the webhook-id header."})
    type = fields.String(required=True, metadata={"enum": list(EVENT_TYPES)})
    timestamp = fields.String(required=True)
    sequence = fields.Integer(required=True, metadata={"description": "Gapless, increasing in commit order."})
    order_number = fields.String(required=True, allow_none=True)
    order_sequence = fields.Integer(
        required=True, allow_none=True, metadata={"description": "1, 2, 3, ... per order: a gap means an earlier event is missing."}
    )
    data = fields.Dict(
        required=True,
        metadata={"description": "order.created: {order}; production_order.*: {production_order} (a summary)."},
    )


class EventPageSchema(Schema):
    items = fields.List(fields.Nested(EventSchema), required=True)
    last_sequence = fields.Integer(
        required=True, metadata={"description": "Store it and send it as ?after= next time (unchanged on an empty page)."}
    )
    has_more = fields.Boolean(required=True)


class EventQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    after = fields.Integer(
        load_default=0,
        validate=validate.Range(min=0, max=2**31 - 1),
        metadata={"description": "The last sequence processed."},
    )
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    type = fields.List(
        fields.String(validate=validate.OneOf(EVENT_TYPES)),
        metadata={"description": "Keep events of these types (repeat the parameter)."},
    )
    order = fields.String(validate=validate.Length(min=1, max=32), metadata={"description": "One order's events."})


class DocumentQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    table = fields.String(
        load_default="bom",
        validate=validate.OneOf(("bom", "parts", "operations")),
        metadata={
            "description": "For text/csv: the multi-level BOM (default), the flat parts list or the operations."
        },
    )
