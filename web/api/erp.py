"""Production orders for the ERP to pull (every operation needs a token with ``erp:read``).

- ``GET /api/v1/production-orders?after=<cursor>&limit=&status=``: oldest first,
  ``{"items": [...], "next": cursor | null}``; each item carries its own
  ``cursor`` so a poller can resume after the last one it processed.
- ``GET /api/v1/production-orders/{number}``: by ``Accept``: ``application/json``
  (the canonical document, byte for byte as stored), ``text/csv`` (the
  multi-level BOM; ``?table=parts`` or ``?table=operations`` for the other
  tables), ``application/xml`` (B2MML ``OperationsSchedule``); anything else is
  406. ``ETag`` is the document's SHA-256 (suffixed for CSV/XML, which are other
  representations); ``If-None-Match`` answers 304.
- ``POST /api/v1/production-orders/{number}/acknowledge``: the ERP took the
  order over; idempotent: the first acknowledgement (who, when) stands. It uses
  ``erp:read`` too: acknowledging only records receipt, it changes nothing the
  ERP did not already read, so a read-only integration can do it.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from flask import Response, g, request
from flask.views import MethodView
from flask_smorest import Blueprint

from bom import ProductionOrder, bom_csv, order_b2mml, parts_csv, xml_bytes
from web import database
from web.api.order_schemas import (
    DocumentQuerySchema,
    ProductionOrderDocumentSchema,
    ProductionOrderPageQuerySchema,
    ProductionOrderPageSchema,
    ProductionOrderSummarySchema,
)
from web.api.schemas import ProblemSchema
from web.auth import require_scope, token_catalog
from web.errors import ApiProblem
from web.models import ProductionOrderRecord
from web.services import orders as service

blp = Blueprint(
    "erp",
    __name__,
    url_prefix="/api/v1/production-orders",
    description="Production orders for the ERP: list, fetch as JSON/CSV/B2MML, acknowledge.",
)

PROBLEM = "application/problem+json"
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]
JSON, CSV, XML = "application/json", "text/csv", "application/xml"
OFFERED = (JSON, CSV, XML)

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


def problems(*codes: int) -> Any:
    def decorate(view: Any) -> Any:
        for code in codes:
            view = blp.alt_response(code, schema=ProblemSchema, content_type=PROBLEM)(view)
        return view

    return decorate


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
    @blp.doc(security=BEARER, summary="List production orders")
    @blp.arguments(ProductionOrderPageQuerySchema, location="query")
    @blp.response(200, ProductionOrderPageSchema)
    @problems(400, 401, 403, 422)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Production orders oldest first; follow ``next`` until it is null (``status`` filters)."""
        items, following = service.list_production_orders(
            database.read_session(),
            after=query.get("after"),
            limit=query["limit"],
            status=query.get("status"),
            catalog=token_catalog(),
        )
        return {"items": items, "next": following}


@blp.route("/<string:number>")
class ProductionOrderDocument(MethodView):
    @require_scope("erp:read")
    @blp.doc(
        security=BEARER,
        summary="A production order as JSON, CSV or B2MML",
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
            "304": {"description": "Not modified (If-None-Match matched the ETag)."},
        },
    )
    @blp.arguments(DocumentQuerySchema, location="query")
    @problems(401, 403, 404, 406, 422)
    def get(self, query: dict[str, Any], number: str) -> Response:
        """The production order; representation by ``Accept``, cached with ``ETag``/``If-None-Match``."""
        row = _require(number)
        accept = request.accept_mimetypes
        chosen = accept.best_match(OFFERED) if accept else JSON
        if chosen is None:
            raise ApiProblem(
                406,
                "not_acceptable",
                f"this document is available as {', '.join(OFFERED)}",
                available=list(OFFERED),
            )
        table = query["table"]
        etag = {
            JSON: row.document_hash,
            CSV: f"{row.document_hash}-csv-{table}",
            XML: f"{row.document_hash}-b2mml",
        }[chosen]
        if request.if_none_match.contains(etag) or request.if_none_match.star_tag:
            not_modified = Response(status=304)
            not_modified.set_etag(etag)
            not_modified.vary.add("Accept")
            return not_modified
        if chosen == JSON:
            body: str | bytes = row.document
            mimetype = JSON
        else:
            production = service.rebuild_production_order(database.read_session(), row)
            if chosen == XML:
                body, mimetype = xml_bytes(order_b2mml(production)), XML
            else:
                text = {"bom": bom_csv, "parts": parts_csv}.get(table)
                body = text(production.bom) if text is not None else operations_csv(production)
                mimetype = CSV
        response = Response(body, mimetype=mimetype)  # text/csv gets "; charset=utf-8" from werkzeug
        if chosen == CSV:
            response.headers["Content-Disposition"] = f'attachment; filename="{row.number}-{table}.csv"'
        response.set_etag(etag)
        response.vary.add("Accept")
        return response


@blp.route("/<string:number>/acknowledge")
class Acknowledge(MethodView):
    @require_scope("erp:read")
    @blp.doc(security=BEARER, summary="Acknowledge receipt of a production order")
    @blp.response(200, ProductionOrderSummarySchema)
    @problems(401, 403, 404)
    def post(self, number: str) -> dict[str, Any]:
        """Record that the ERP took the order over; repeating it changes nothing."""
        token = g.api_token
        if token.catalog_code is not None:
            _require(number)  # 404 for another catalog's production order
        by = f"{token.name} ({token.prefix}…)"
        row = service.acknowledge(database.session(), number, by)
        if row is None:
            raise ApiProblem(404, "production_order_not_found", f"no production order {number!r}")
        return service.production_order_summary(row, row.order)
