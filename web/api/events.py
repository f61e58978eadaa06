"""The changes feed: every event (order created, production order released, acknowledged,
in production, shipped, rejected, cancelled) in sequence order, for ERP polling.

``GET /api/v1/events?after=<last sequence processed>`` (``erp:read``) returns the
events exactly as their webhooks deliver them. Sequence numbers are gapless and
become visible in increasing order, so a poller that stores ``last_sequence``
and asks again never misses an event nor sees one twice.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from usecases import orders as service
from web import database
from web.api.http import BEARER, json_with_etag, problems
from web.api.order_schemas import (
    ETAG_HEADER,
    IF_NONE_MATCH_PARAMETER,
    NOT_MODIFIED,
    EventPageSchema,
    EventQuerySchema,
)
from web.auth import require_scope, token_catalog

blp = Blueprint("events", __name__, url_prefix="/api/v1/events", description="The changes feed for ERP polling.")


@blp.route("")
class Events(MethodView):
    @require_scope("erp:read")
    @blp.doc(security=BEARER, summary="Events after a sequence number", operationId="list_events",
        parameters=[IF_NONE_MATCH_PARAMETER])
    @blp.arguments(EventQuerySchema, location="query")
    @blp.response(200, EventPageSchema, headers=ETAG_HEADER)
    @blp.alt_response(304, description=NOT_MODIFIED, headers=ETAG_HEADER)
    @problems(blp, 400, 401, 403, 422)
    def get(self, query: dict[str, Any]) -> Response:
        """Events with ``sequence`` > ``after``, oldest first; store ``last_sequence`` and poll again
        (``has_more``: ask again right away). ``type`` and ``order`` filter."""
        items, last, more = service.list_events(
            database.read_session(),
            after=query["after"],
            limit=query["limit"],
            types=query.get("type") or (),
            order_number=query.get("order"),
            catalog=token_catalog(),
        )
        return json_with_etag(EventPageSchema(), {"items": items, "last_sequence": last, "has_more": more})
