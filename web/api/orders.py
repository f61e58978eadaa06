"""Orders: place one (storefront clients, idempotent), read its status, list them (ERP).

- ``POST /api/v1/orders``: public (storefront) or a token with ``orders:write``;
  header ``Idempotency-Key`` required. Keys are scoped per token (or ``public``).
- ``GET /api/v1/orders/{number}``: with the order's access token (``?token=`` or
  ``X-Order-Token``) returned on creation, or a token with ``erp:read``. A wrong
  order token answers 404, so order numbers cannot be probed.
- ``GET /api/v1/orders``: ``erp:read``; cursor pagination, ``status`` and
  ``updated_since`` filters, ``ETag`` / ``If-None-Match``.
"""

from __future__ import annotations

from typing import Any

from flask import Response, g, request
from flask.views import MethodView
from flask_smorest import Blueprint

from usecases import orders as service
from usecases.errors import UseCaseError
from usecases.records import ApiToken
from web import database
from web.api.http import BEARER, json_with_etag, problems_of
from web.api.order_schemas import (
    ETAG_HEADER,
    IDEMPOTENCY_KEY_MAX,
    IDEMPOTENCY_KEY_PARAMETER,
    IF_NONE_MATCH_PARAMETER,
    NOT_MODIFIED,
    ORDER_TOKEN_PARAMETER,
    OrderAccessQuerySchema,
    OrderCreatedSchema,
    OrderPageQuerySchema,
    OrderPageSchema,
    OrderSchema,
    PlaceOrderSchema,
)
from web.auth import authenticate, require_scope, token_catalog
from web.errors import ApiProblem, problem_response, status_of

blp = Blueprint("orders", __name__, url_prefix="/api/v1/orders", description="Place orders and follow them.")




problems = problems_of(blp)


def token_scope(token: ApiToken) -> str:
    return f"token:{token.id}"


def _check_order_catalog(session: Any, catalog_code: str, body: dict[str, Any]) -> None:
    """A token limited to ``catalog_code`` orders only from that catalog (403 otherwise)."""
    from usecases.records import ConfigurationRecord

    if "configuration_id" in body:
        record = session.get(ConfigurationRecord, body["configuration_id"])
        target = record.catalog_code if record is not None else catalog_code  # unknown: the service 404s
    else:
        target = body.get("catalog", catalog_code)
    if target != catalog_code:
        raise ApiProblem(403, "forbidden", f"the token is limited to catalog {catalog_code!r}", catalog=target)


@blp.route("")
class Orders(MethodView):
    @blp.doc(security=[{}, *BEARER], summary="Place an order", operationId="place_order", parameters=[IDEMPOTENCY_KEY_PARAMETER])
    @blp.arguments(PlaceOrderSchema())  # an instance: a class would be instantiated per request
    @blp.response(201, OrderCreatedSchema, headers={"Location": {"schema": {"type": "string"}}})
    @problems(400, 401, 403, 404, 409, 422)
    def post(self, body: dict[str, Any]) -> Any:
        """Place an order from a saved configuration or from decisions.

        The configuration is re-validated against its catalog version; the
        order, its frozen BOM, the production order and the webhook events are
        stored in one transaction. Retrying with the same ``Idempotency-Key``
        and body replays the first response; the same key with another body
        is refused (422 ``idempotency_key_reused``).
        """
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            raise ApiProblem(
                400,
                "idempotency_key_missing",
                "send an Idempotency-Key header (e.g. a fresh UUID)",
                field="Idempotency-Key",
            )
        if len(key) > IDEMPOTENCY_KEY_MAX:
            raise ApiProblem(
                400,
                "idempotency_key_invalid",
                f"the Idempotency-Key header is longer than {IDEMPOTENCY_KEY_MAX} characters",
                field="Idempotency-Key",
            )
        session = database.session()
        token = authenticate(session)
        if token is not None and "orders:write" not in token.scopes.split():
            raise ApiProblem(
                403, "forbidden", "the token lacks scope orders:write", required_scope="orders:write"
            )
        scope = token_scope(token) if token is not None else service.public_scope(request.remote_addr)
        if token is not None and token.catalog_code is not None:
            _check_order_catalog(session, token.catalog_code, body)
        try:
            placed = service.place_order(session, idempotency_key=key, scope=scope, **body)
        except UseCaseError as exc:
            if exc.reason != "idempotency_in_progress":
                raise
            resp = problem_response(status_of(exc.reason), exc.reason, exc.detail)
            resp.headers["Retry-After"] = str(exc.extra.get("retry_after", 1))
            return resp
        # The stored answer is the order in its documented shape (OrderCreatedSchema, checked by
        # the contract tests): sent as stored, a replay byte for byte the first answer.
        response = Response(placed.document, status=201, mimetype="application/json")
        response.headers["Location"] = f"{blp.url_prefix}/{placed.number}"
        return response

    @require_scope("erp:read")
    @blp.doc(security=BEARER, summary="List orders (ERP)", operationId="list_orders", parameters=[IF_NONE_MATCH_PARAMETER])
    @blp.arguments(OrderPageQuerySchema, location="query")
    @blp.response(200, OrderPageSchema, headers=ETAG_HEADER)
    @blp.alt_response(304, description=NOT_MODIFIED, headers=ETAG_HEADER)
    @problems(400, 401, 403, 422)
    def get(self, query: dict[str, Any]) -> Response:
        """Orders oldest first; follow ``next`` until it is null (``status``, ``updated_since`` filter)."""
        items, following = service.list_orders(
            database.read_session(),
            after=query.get("after"),
            limit=query["limit"],
            catalog=token_catalog(),
            status=query.get("status"),
            updated_since=query.get("updated_since"),
        )
        return json_with_etag(OrderPageSchema(), {"items": items, "next": following})


@blp.route("/<string:number>")
class OrderByNumber(MethodView):
    @blp.doc(security=[{}, *BEARER], summary="An order's status", operationId="get_order", parameters=[ORDER_TOKEN_PARAMETER])
    @blp.arguments(OrderAccessQuerySchema, location="query")
    @blp.response(200, OrderSchema)
    @problems(401, 403, 404, 422)
    def get(self, query: dict[str, Any], number: str) -> Any:
        """The order with its production orders: with its access token, or an ``erp:read`` token."""
        session = database.read_session()
        bearer = authenticate(database.session())
        order = service.find_order(session, number)
        if bearer is not None:
            if "erp:read" not in bearer.scopes.split():
                raise ApiProblem(
                    403, "forbidden", "the token lacks scope erp:read", required_scope="erp:read"
                )
            g.api_token = bearer
            if order is not None and bearer.catalog_code not in (None, order.catalog_code):
                order = None  # a token limited to another catalog: 404, as for an unknown number
        else:
            access = query.get("token") or request.headers.get("X-Order-Token")
            if not access:
                raise ApiProblem(
                    401,
                    "unauthorized",
                    "send the order's access token (?token=...) or an API token with erp:read",
                )
            if order is not None and not service.order_token_matches(order, access):
                order = None
        if order is None:
            raise ApiProblem(
                404, "order_not_found", f"no order {number!r} (or the access token does not match)"
            )
        return service.order_body(order, list(order.production_orders))
