"""Marshmallow schemas of the order and ERP endpoints (problems: ``web.api.schemas.ProblemSchema``)."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate, validates_schema

from web.services.orders import MAX_QUANTITY

LOCALES = ("en", "zh-CN")
MAX_LIMIT = 100


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

    @validates_schema
    def _one_source(self, data: dict[str, Any], **_: Any) -> None:
        direct = [k for k in ("catalog", "product", "decisions") if k in data]
        if "configuration_id" in data and direct:
            raise ValidationError("give configuration_id or catalog/product/decisions, not both", direct[0])
        if "configuration_id" not in data:
            missing = [k for k in ("catalog", "product", "decisions") if k not in data]
            if missing:
                raise ValidationError("required unless configuration_id is given", missing[0])


class IdempotencyHeaderSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    idempotency_key = fields.String(
        data_key="Idempotency-Key",
        validate=validate.Length(min=1, max=255),
        metadata={"description": "Required: a unique key per order (e.g. a UUID); retries reuse it."},
    )


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
    zh_CN = fields.String(data_key="zh-CN", required=True)


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
    status = fields.String(required=True)
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


class ProductionOrderPageQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(("released", "acknowledged")))


class ProductionOrderSummarySchema(Schema):
    number = fields.String(required=True, metadata={"example": "PO-2026-000042"})
    order_number = fields.String(required=True)
    status = fields.String(required=True)
    catalog = fields.String(required=True)
    version = fields.Integer(required=True)
    product = fields.String(required=True)
    quantity = fields.Integer(required=True)
    due_date = fields.String(required=True, allow_none=True)
    document_sha256 = fields.String(required=True)
    created_at = fields.String(required=True)
    acknowledged_at = fields.String(required=True, allow_none=True)
    acknowledged_by = fields.String(required=True, allow_none=True)


class ProductionOrderListItemSchema(ProductionOrderSummarySchema):
    cursor = fields.String(required=True)


class ProductionOrderPageSchema(Schema):
    items = fields.List(fields.Nested(ProductionOrderListItemSchema), required=True)
    next = fields.String(required=True, allow_none=True)


class ProductionOrderDocumentSchema(Schema):
    """The canonical production order (``c2m-production-order/1``): BOM, operations, materials."""

    format = fields.String(required=True)
    number = fields.String(required=True)
    catalog = fields.String(required=True)
    catalog_version = fields.String(required=True)
    catalog_hash = fields.String(required=True)
    product = fields.String(required=True)
    quantity = fields.Integer(required=True)
    due_date = fields.String(required=True)
    operations = fields.List(fields.Dict(), required=True)
    materials = fields.List(fields.Dict(), required=True)
    bom = fields.Dict(required=True)
    bom_sha256 = fields.String(required=True)


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
