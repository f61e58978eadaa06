"""Production orders for the ERP: read with ``erp:read``, act on with ``erp:write``.

- ``GET /api/v1/production-orders?after=<cursor>&limit=&status=&updated_since=``:
  oldest first, ``{"items": [...], "next": cursor | null}``; each item carries
  its own ``cursor`` so a poller can resume after the last one it processed.
  The page has an ``ETag``; ``If-None-Match`` answers 304.
- ``GET /api/v1/production-orders/{number}``: by ``Accept``: ``application/json``
  (the canonical document, byte for byte as stored), ``text/csv`` (the
  multi-level BOM; ``?table=parts`` or ``?table=operations`` for the other
  tables), ``application/xml`` (B2MML ``OperationsSchedule`` with the
  configuration as ``SegmentParameter``s); anything else is 406. ``ETag`` is
  the document's SHA-256 (suffixed for CSV/XML, which are other
  representations); ``If-None-Match`` (weak comparison) answers 304.
- ``GET /api/v1/production-orders/{number}/operations-definition``: the BOM and
  routing it references (``OperationsDefinitionID``), as B2MML
  ``OperationsDefinitionInformation`` or the canonical BOM JSON.
- ``POST /api/v1/production-orders/{number}/{acknowledge|start|ship|reject|cancel}``
  (``erp:write``): status changes, idempotent (repeating one that took effect
  changes nothing), 409 when the current status does not allow it.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from flask import Response, g, jsonify
from flask.views import MethodView
from flask_smorest import Blueprint

from bom import ProductionOrder, bom_csv, order_b2mml, parts_csv, xml_bytes
from bom.export import B2MML_REVISION, CSV_REVISION, bom_b2mml
from usecases import orders as service
from usecases.records import ProductionOrderRecord
from web import database
from web.api.http import (
    BEARER,
    CSV,
    JSON,
    XML,
    json_with_etag,
    matches,
    negotiate,
    not_modified,
    problems_of,
    representation,
)
from web.api.order_schemas import (
    ETAG_HEADER,
    IF_NONE_MATCH_PARAMETER,
    NOT_MODIFIED,
    BomDocumentSchema,
    DocumentQuerySchema,
    ErpActionSchema,
    ProductionOrderDocumentSchema,
    ProductionOrderPageQuerySchema,
    ProductionOrderPageSchema,
    ProductionOrderSummarySchema,
    ShipSchema,
    StatusReasonSchema,
)
from web.auth import require_scope, token_catalog
from web.errors import ApiProblem

blp = Blueprint(
    "erp",
    __name__,
    url_prefix="/api/v1/production-orders",
    description="Production orders for the ERP: list, fetch as JSON/CSV/B2MML, act on them.",
)

OFFERED = (JSON, CSV, XML)
ACCEPT_PARAMETER: dict[str, Any] = {
    "in": "header",
    "name": "Accept",
    "required": False,
    "schema": {"type": "string", "default": JSON},
    "description": "application/json, text/csv or application/xml (B2MML); anything else answers 406.",
}

OPERATIONS_CSV_COLUMNS = (
    "sequence",
    "level",
    "path",
    "item",
    "op",
    "name_en",
    "name_zh_cn",
    "work_center",
    "quantity",
    "setup_min",
    "run_min",
    "run_total",
    "duration_min",
    "planned_start",
    "planned_end",
)


problems = problems_of(blp)


def operations_csv(order: ProductionOrder) -> str:
    """The scheduled operations as CSV (times in the plant's local time, ISO 8601)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(OPERATIONS_CSV_COLUMNS)
    for s in order.operations:
        o = s.operation
        writer.writerow(
            [
                o.sequence,
                o.level,
                o.path,
                o.item,
                o.op,
                o.name.en,
                o.name.zh_CN or o.name.en,
                o.work_center,
                *(_number(v) for v in (o.quantity, o.setup_min, o.run_min, o.run_total, o.duration)),
                s.planned_start.isoformat(timespec="seconds"),
                s.planned_end.isoformat(timespec="seconds"),
            ]
        )
    return buffer.getvalue()


def _number(value: Decimal) -> str:
    return "0" if value == 0 else format(value.normalize(), "f")


def _require(number: str) -> ProductionOrderRecord:
    row = service.find_production_order(database.read_session(), number)
    limited = token_catalog()
    # A token limited to a catalog does not learn that other catalogs' orders exist.
    if row is None or (limited is not None and row.order.catalog_code != limited):
        raise ApiProblem(404, "production_order_not_found", f"no production order {number!r}")
    return row


@blp.route("")
class ProductionOrders(MethodView):
    @require_scope("erp:read")
    @blp.doc(security=BEARER, summary="List production orders", operationId="list_production_orders",
        parameters=[IF_NONE_MATCH_PARAMETER])
    @blp.arguments(ProductionOrderPageQuerySchema, location="query")
    @blp.response(200, ProductionOrderPageSchema, headers=ETAG_HEADER)
    @blp.alt_response(304, description=NOT_MODIFIED, headers=ETAG_HEADER)
    @problems(400, 401, 403, 422)
    def get(self, query: dict[str, Any]) -> Response:
        """Production orders oldest first; follow ``next`` until it is null (``status``, ``updated_since`` filter)."""
        items, following = service.list_production_orders(
            database.read_session(),
            after=query.get("after"),
            limit=query["limit"],
            status=query.get("status"),
            catalog=token_catalog(),
            updated_since=query.get("updated_since"),
        )
        return json_with_etag(ProductionOrderPageSchema(), {"items": items, "next": following})


@blp.route("/<string:number>")
class ProductionOrderDocument(MethodView):
    @require_scope("erp:read")
    @blp.doc(
        security=BEARER,
        summary="A production order as JSON, CSV or B2MML",
        operationId="get_production_order",
        responses={
            "200": {
                "description": "The document in the negotiated representation.",
                "headers": {"ETag": {"schema": {"type": "string"}}},
                "content": {
                    JSON: {"schema": ProductionOrderDocumentSchema},
                    CSV: {"schema": {"type": "string"}},
                    XML: {"schema": {"type": "string"}},
                },
            },
            "304": {
                "description": "Not modified (If-None-Match matched the ETag).",
                "headers": {"ETag": {"schema": {"type": "string"}}},
            },
        },
        parameters=[ACCEPT_PARAMETER, IF_NONE_MATCH_PARAMETER],
    )
    @blp.arguments(DocumentQuerySchema, location="query")
    @problems(401, 403, 404, 406, 422)
    def get(self, query: dict[str, Any], number: str) -> Response:
        """The production order; representation by ``Accept``, cached with ``ETag``/``If-None-Match``."""
        row = _require(number)
        chosen = negotiate(OFFERED)
        table = query["table"]
        etag = {
            JSON: row.document_hash,
            CSV: f"{row.document_hash}-csv{CSV_REVISION}-{table}",
            XML: f"{row.document_hash}-b2mml{B2MML_REVISION}",
        }[chosen]
        if matches(etag):
            return not_modified(etag, ("Accept",))
        if chosen == JSON:
            body: str | bytes = row.document
            mimetype = JSON
        else:
            production, catalog = service.stored_with_catalog(database.read_session(), row)
            if chosen == XML:
                body, mimetype = xml_bytes(order_b2mml(production, catalog)), XML
            else:
                text = {"bom": bom_csv, "parts": parts_csv}.get(table)
                body = text(production.bom) if text is not None else operations_csv(production)
                mimetype = CSV
        return representation(body, mimetype, etag, filename=f"{row.number}-{table}.csv" if chosen == CSV else None)


@blp.route("/<string:number>/operations-definition")
class OperationsDefinition(MethodView):
    @require_scope("erp:read")
    @blp.doc(
        security=BEARER,
        summary="The BOM and routing a production order references, as B2MML or JSON",
        operationId="get_operations_definition",
        responses={
            "200": {
                "description": "B2MML OperationsDefinitionInformation (its ID is the production order's "
                "OperationsDefinitionID), or the canonical BOM (c2m-bom/1).",
                "headers": ETAG_HEADER,
                "content": {JSON: {"schema": BomDocumentSchema}, XML: {"schema": {"type": "string"}}},
            },
            "304": {"description": NOT_MODIFIED, "headers": ETAG_HEADER},
        },
        parameters=[
            {**ACCEPT_PARAMETER, "description": "application/json or application/xml (B2MML); else 406."},
            IF_NONE_MATCH_PARAMETER,
        ],
    )
    @problems(401, 403, 404, 406)
    def get(self, number: str) -> Response:
        """The configured product's operations definition: material bill and operations segments."""
        row = _require(number)
        chosen = negotiate((JSON, XML))
        etag = f"{row.order.bom_hash}-{f'b2mml{B2MML_REVISION}' if chosen == XML else 'json'}"
        if matches(etag):
            return not_modified(etag, ("Accept",))
        if chosen == JSON:
            return representation(row.order.bom, JSON, etag)
        production, catalog = service.stored_with_catalog(database.read_session(), row)
        routed = [s.operation for s in production.operations]
        return representation(xml_bytes(bom_b2mml(production.bom, routed, catalog)), XML, etag)


def _by(token: Any) -> str:
    return f"{token.name} ({token.prefix}…)"


def _act(number: str, action: str, body: dict[str, Any]) -> Response:
    token = g.api_token
    if token.catalog_code is not None:
        _require(number)  # 404 for another catalog's production order
    outcome = service.transition(database.session(), number, action, _by(token), **body)
    if outcome is None:
        raise ApiProblem(404, "production_order_not_found", f"no production order {number!r}")
    row, _changed = outcome
    return jsonify(ProductionOrderSummarySchema().dump(service.production_order_summary(row, row.order)))


ACTIONS = (
    ("acknowledge", ErpActionSchema, "Acknowledge receipt of a production order",
     "released -> acknowledged: the ERP took the order over."),
    ("start", ErpActionSchema, "Mark a production order in production",
     "released or acknowledged -> in_production."),
    ("ship", ShipSchema, "Mark a production order shipped",
     "acknowledged or in_production -> shipped, with the shipment reference."),
    ("reject", StatusReasonSchema, "Reject a production order",
     "released or acknowledged -> rejected (the order cannot be made), with the reason."),
    ("cancel", StatusReasonSchema, "Cancel a production order",
     "released, acknowledged or in_production -> cancelled, with the reason."),
)


def _action_view(action: str, schema: type, summary: str, description: str) -> None:
    def post(self: MethodView, body: dict[str, Any], number: str) -> Response:
        return _act(number, action, body)

    post.__doc__ = (
        f"{description} Idempotent: repeating it once it took effect changes nothing (the first "
        "references and reason stand); 409 ``invalid_transition`` from another status."
    )
    post = problems(400, 401, 403, 404, 409, 422)(post)
    post = blp.response(200, ProductionOrderSummarySchema)(post)
    post = blp.arguments(schema, required=False)(post)
    post = blp.doc(security=BEARER, summary=summary, operationId=f"{action}_production_order")(post)
    post = require_scope("erp:write")(post)
    view = type(action.title(), (MethodView,), {"post": post})
    blp.route(f"/<string:number>/{action}")(view)


for _action, _schema, _summary, _description in ACTIONS:
    _action_view(_action, _schema, _summary, _description)
