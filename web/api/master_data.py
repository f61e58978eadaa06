"""Item master data for the ERP: a catalog version's parts and modules (``erp:read``).

``GET /api/v1/catalogs/{code}/item-master?version=N`` (default: the version in
force) by ``Accept``: ``application/json`` (``c2m-item-master/1``), ``text/csv``
or ``application/xml`` (B2MML ``MaterialInformation`` with one
``MaterialDefinition`` per item). Units are also given as UN/ECE
Recommendation 20 codes. ``ETag`` per version and representation.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields, validate

from bom.export import B2MML_REVISION, item_master, item_master_csv, materials_b2mml, xml_bytes
from usecases.catalogs import load_catalog
from web import database
from web.api.http import BEARER, CSV, JSON, XML, matches, negotiate, not_modified, problems, representation
from web.api.order_schemas import ETAG_HEADER, IF_NONE_MATCH_PARAMETER, NOT_MODIFIED, DocumentLabelSchema
from web.auth import require_scope, token_catalog
from web.errors import ApiProblem

blp = Blueprint(
    "master_data", __name__, url_prefix="/api/v1/catalogs", description="Item master data (parts, modules) for the ERP."
)

OFFERED = (JSON, CSV, XML)


class ItemMasterQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    version = fields.Integer(
        validate=validate.Range(min=1, max=2**31 - 1),
        metadata={"description": "A published version (default: the one in force)."},
    )


class ItemSchema(Schema):
    code = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": ["part", "module"]})
    name = fields.Nested(DocumentLabelSchema, required=True)
    unit = fields.String(required=True, metadata={"description": "The catalog's unit (pc, mm, kg, ...)."})
    unit_code = fields.String(
        required=True, allow_none=True, metadata={"description": "UN/ECE Recommendation 20 code; null when unknown."}
    )
    unit_cost = fields.String(
        required=True, allow_none=True, metadata={"description": "Decimal, in the currency; null for modules."}
    )
    lead_time_days = fields.Integer(required=True)


class ItemMasterSchema(Schema):
    format = fields.String(required=True)
    catalog = fields.String(required=True)
    version = fields.String(required=True)
    currency = fields.String(required=True)
    items = fields.List(fields.Nested(ItemSchema), required=True)


@blp.route("/<string:code>/item-master")
class ItemMaster(MethodView):
    @require_scope("erp:read")
    @blp.doc(
        security=BEARER,
        summary="Item master: parts and modules as JSON, CSV or B2MML MaterialInformation",
        operationId="get_item_master",
        responses={
            "200": {
                "description": "The item master in the negotiated representation.",
                "headers": ETAG_HEADER,
                "content": {
                    JSON: {"schema": ItemMasterSchema},
                    CSV: {"schema": {"type": "string"}},
                    XML: {"schema": {"type": "string"}},
                },
            },
            "304": {"description": NOT_MODIFIED, "headers": ETAG_HEADER},
        },
        parameters=[
            {
                "in": "header",
                "name": "Accept",
                "required": False,
                "schema": {"type": "string", "default": JSON},
                "description": "application/json, text/csv or application/xml (B2MML); anything else answers 406.",
            },
            IF_NONE_MATCH_PARAMETER,
        ],
    )
    @blp.arguments(ItemMasterQuerySchema, location="query")
    @problems(blp, 401, 403, 404, 406, 422)
    def get(self, query: dict[str, Any], code: str) -> Response:
        """Every part and module of the catalog version with unit, unit cost and lead time."""
        limited = token_catalog()
        if limited is not None and limited != code:
            raise ApiProblem(404, "catalog_not_found", f"no catalog {code!r}")
        chosen = negotiate(OFFERED, "the item master")
        loaded = load_catalog(database.read_session(), code, query.get("version"))
        suffix = {JSON: "json", CSV: "csv", XML: f"b2mml{B2MML_REVISION}"}[chosen]
        etag = f"{loaded.content_hash}-items-{suffix}"
        if matches(etag):
            return not_modified(etag, ("Accept",))
        version = str(loaded.number)
        if chosen == JSON:
            body: str | bytes = json.dumps(item_master(loaded.catalog, version), ensure_ascii=False)
        elif chosen == CSV:
            body = item_master_csv(loaded.catalog, version)
        else:
            body = xml_bytes(materials_b2mml(loaded.catalog, version))
        return representation(body, chosen, etag, filename=f"{code}-{version}-items.csv" if chosen == CSV else None)
