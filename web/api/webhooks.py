"""Webhook endpoints managed over the API (scope ``webhooks:manage``).

- ``POST /api/v1/webhooks``: register a URL for some event types (all by default);
  the answer carries the signing secret, shown only then (and on rotation).
- ``GET /api/v1/webhooks``, ``GET /api/v1/webhooks/{id}``: endpoints without secrets.
- ``POST /api/v1/webhooks/{id}/rotate-secret``: a new secret; the previous one keeps
  signing as a second signature for 24 hours.
- ``POST /api/v1/webhooks/{id}/disable`` and ``/enable``: idempotent.
- ``GET /api/v1/webhooks/{id}/deliveries``: recent events for the endpoint with their state,
  attempts, next try and last error.

An endpoint receives the events of every catalog, so tokens limited to one
catalog cannot manage endpoints (403).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import g, jsonify
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields, validate

from usecases.outbox import EVENT_TYPES, WebhookError, add_endpoint, disable_endpoint, rotate_secret
from usecases.records import WebhookEndpoint
from usecases.webhook_endpoints import deliveries, enable_endpoint, endpoint_body, get_endpoint
from web import database
from web.api.http import BEARER, problems
from web.auth import require_scope
from web.errors import ApiProblem

blp = Blueprint(
    "webhooks", __name__, url_prefix="/api/v1/webhooks", description="Webhook endpoints: signed event delivery."
)

MAX_DELIVERIES = 200


class WebhookCreateSchema(Schema):
    class Meta:
        unknown = RAISE

    url = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    event_types = fields.List(
        fields.String(validate=validate.OneOf(("*", *EVENT_TYPES))),
        load_default=list,
        metadata={"description": "Event types to receive; empty or [\"*\"]: all."},
    )
    description = fields.String(validate=validate.Length(max=500))


class WebhookEndpointSchema(Schema):
    id = fields.Integer(required=True)
    url = fields.String(required=True)
    event_types = fields.List(fields.String(), required=True)
    description = fields.String(required=True, allow_none=True)
    active = fields.Boolean(required=True)
    created_at = fields.String(required=True)
    disabled_at = fields.String(required=True, allow_none=True)
    previous_secret_expires_at = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Until then deliveries also carry a signature under the previous secret."},
    )


class WebhookEndpointWithSecretSchema(WebhookEndpointSchema):
    secret = fields.String(
        required=True, metadata={"description": "whsec_... signing secret; shown only on creation and rotation."}
    )


class WebhookEndpointListSchema(Schema):
    items = fields.List(fields.Nested(WebhookEndpointSchema), required=True)


class DeliverySchema(Schema):
    event_id = fields.String(required=True)
    type = fields.String(required=True)
    sequence = fields.Integer(required=True, allow_none=True)
    order_number = fields.String(required=True, allow_none=True)
    created_at = fields.String(required=True)
    state = fields.String(
        required=True, metadata={"enum": ["delivered", "pending", "failed", "skipped", "disabled"]}
    )
    attempts = fields.Integer(required=True)
    next_attempt_at = fields.String(required=True, allow_none=True)
    last_error = fields.String(required=True, allow_none=True)
    failed_at = fields.String(required=True, allow_none=True)


class DeliveryListSchema(Schema):
    items = fields.List(fields.Nested(DeliverySchema), required=True)


class DeliveryQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_DELIVERIES))


def _unlimited_token() -> None:
    if g.api_token.catalog_code is not None:
        raise ApiProblem(
            403,
            "forbidden",
            "webhook endpoints receive every catalog's events; a token limited to a catalog cannot manage them",
        )


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    _unlimited_token()
    return get_endpoint(database.session(), endpoint_id)


def _change(endpoint_id: int, change: Callable[[WebhookEndpoint], object], *, secret: bool = False) -> dict[str, Any]:
    """Apply ``change`` to the endpoint, commit, and answer the endpoint as it is now."""
    row = _endpoint(endpoint_id)
    change(row)
    database.session().commit()
    return endpoint_body(row, secret=secret)


@blp.route("")
class Webhooks(MethodView):
    @require_scope("webhooks:manage")
    @blp.doc(security=BEARER, summary="Register a webhook endpoint", operationId="create_webhook")
    @blp.arguments(WebhookCreateSchema)
    @blp.response(201, WebhookEndpointWithSecretSchema)
    @problems(blp, 400, 401, 403, 422)
    def post(self, body: dict[str, Any]) -> Any:
        """Events of the given types are posted to ``url``, signed with the returned secret."""
        _unlimited_token()
        session = database.session()
        try:
            row = add_endpoint(session, body["url"], body["event_types"], description=body.get("description"))
        except WebhookError as exc:
            raise ApiProblem(422, "invalid_webhook", str(exc), field="url") from None
        session.commit()
        response = jsonify(WebhookEndpointWithSecretSchema().dump(endpoint_body(row, secret=True)))
        response.status_code = 201
        response.headers["Location"] = f"{blp.url_prefix}/{row.id}"
        return response

    @require_scope("webhooks:manage")
    @blp.doc(security=BEARER, summary="List webhook endpoints", operationId="list_webhooks")
    @blp.response(200, WebhookEndpointListSchema)
    @problems(blp, 401, 403)
    def get(self) -> dict[str, Any]:
        _unlimited_token()
        rows = database.session().query(WebhookEndpoint).order_by(WebhookEndpoint.id).all()
        return {"items": [endpoint_body(r) for r in rows]}


@blp.route("/<int(max=2147483647):endpoint_id>")
class WebhookById(MethodView):
    @require_scope("webhooks:manage")
    @blp.doc(security=BEARER, summary="A webhook endpoint", operationId="get_webhook")
    @blp.response(200, WebhookEndpointSchema)
    @problems(blp, 401, 403, 404)
    def get(self, endpoint_id: int) -> dict[str, Any]:
        return endpoint_body(_endpoint(endpoint_id))


@blp.route("/<int(max=2147483647):endpoint_id>/rotate-secret")
class RotateSecret(MethodView):
    @require_scope("webhooks:manage")
    @blp.doc(security=BEARER, summary="Rotate a webhook endpoint's signing secret", operationId="rotate_webhook_secret")
    @blp.response(200, WebhookEndpointWithSecretSchema)
    @problems(blp, 401, 403, 404)
    def post(self, endpoint_id: int) -> dict[str, Any]:
        """A new secret (returned once); the previous one also signs deliveries for 24 hours."""
        return _change(endpoint_id, rotate_secret, secret=True)


@blp.route("/<int(max=2147483647):endpoint_id>/disable")
class Disable(MethodView):
    @require_scope("webhooks:manage")
    @blp.doc(security=BEARER, summary="Stop deliveries to a webhook endpoint", operationId="disable_webhook")
    @blp.response(200, WebhookEndpointSchema)
    @problems(blp, 401, 403, 404)
    def post(self, endpoint_id: int) -> dict[str, Any]:
        """Idempotent. Events that go out while it is disabled are not sent to it later (read them
        from the changes feed, ``GET /api/v1/events``)."""
        return _change(endpoint_id, disable_endpoint)


@blp.route("/<int(max=2147483647):endpoint_id>/enable")
class Enable(MethodView):
    @require_scope("webhooks:manage")
    @blp.doc(security=BEARER, summary="Resume deliveries to a webhook endpoint", operationId="enable_webhook")
    @blp.response(200, WebhookEndpointSchema)
    @problems(blp, 401, 403, 404)
    def post(self, endpoint_id: int) -> dict[str, Any]:
        """Idempotent."""
        return _change(endpoint_id, enable_endpoint)


@blp.route("/<int(max=2147483647):endpoint_id>/deliveries")
class Deliveries(MethodView):
    @require_scope("webhooks:manage")
    @blp.doc(security=BEARER, summary="Recent deliveries to a webhook endpoint", operationId="list_webhook_deliveries")
    @blp.arguments(DeliveryQuerySchema, location="query")
    @blp.response(200, DeliveryListSchema)
    @problems(blp, 401, 403, 404, 422)
    def get(self, query: dict[str, Any], endpoint_id: int) -> dict[str, Any]:
        """Newest first: state (delivered, pending, failed, disabled), attempts, next try, last error."""
        row = _endpoint(endpoint_id)
        return {"items": deliveries(database.session(), row, limit=query["limit"])}
