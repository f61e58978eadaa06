"""Webhook endpoints as the API shows them, and the recent deliveries of one endpoint.

An endpoint's deliveries are read from the outbox: every event of a type it
subscribes to, created after the endpoint. The outbox keeps per event the
attempts made, the next try, the endpoints that accepted it and the last error
text of each endpoint that did not (``endpoint <id>: <error>``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from usecases.errors import UseCaseError
from usecases.outbox import subscribes
from usecases.records import OutboxEvent, WebhookEndpoint


def get_endpoint(session: Session, endpoint_id: int) -> WebhookEndpoint:
    """The endpoint ``endpoint_id``.

    :raise UseCaseError: ``webhook_not_found``.
    """
    row = session.get(WebhookEndpoint, endpoint_id)
    if row is None:
        raise UseCaseError("webhook_not_found", f"no webhook endpoint {endpoint_id}")
    return row


def enable_endpoint(endpoint: WebhookEndpoint) -> None:
    """Resume deliveries to ``endpoint`` (idempotent). The caller commits."""
    endpoint.active, endpoint.disabled_at = True, None


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment is not None else None


def endpoint_body(endpoint: WebhookEndpoint, *, secret: bool = False) -> dict[str, Any]:
    """The endpoint without its secret (unless ``secret``: only when created or rotated)."""
    body: dict[str, Any] = {
        "id": endpoint.id,
        "url": endpoint.url,
        "event_types": endpoint.event_types.split(),
        "description": endpoint.description,
        "active": endpoint.active,
        "created_at": _iso(endpoint.created_at),
        "disabled_at": _iso(endpoint.disabled_at),
        "previous_secret_expires_at": _iso(endpoint.previous_secret_expires_at),
    }
    if secret:
        body["secret"] = endpoint.secret
    return body


def _error_for(endpoint_id: int, text: str | None) -> str | None:
    """This endpoint's part of an event's ``last_error`` (``endpoint 3: HTTP 500; endpoint 4: ...``)."""
    if not text:
        return None
    for part in re.split(r"; (?=endpoint \d+: )", text):
        head, _, rest = part.partition(": ")
        if head == f"endpoint {endpoint_id}":
            return rest
    return None


def deliveries(session: Session, endpoint: WebhookEndpoint, *, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` events meant for ``endpoint``, newest first, with their delivery state.

    ``state``: ``delivered`` (this endpoint accepted it), ``failed`` (given up after the
    last attempt), ``skipped`` (the other endpoints have it; this one was disabled when it
    went out), ``disabled`` (still going out, but not to this disabled endpoint), else
    ``pending``. Events an endpoint missed can be read from the changes feed.
    ``attempts`` counts the event's delivery rounds (each round posts to every endpoint
    that has not accepted it yet); ``next_attempt_at`` is null once nothing is left to try.
    """
    out: list[dict[str, Any]] = []
    query = (
        select(OutboxEvent)
        .where(OutboxEvent.created_at >= endpoint.created_at)
        .order_by(OutboxEvent.id.desc())
    )
    for event in session.scalars(query.execution_options(yield_per=200)):
        if not subscribes(endpoint, event.event_type):
            continue
        accepted = str(endpoint.id) in (event.delivered_endpoints or "").split()
        if accepted:
            state = "delivered"
        elif event.failed_at is not None:
            state = "failed"
        elif event.delivered_at is not None:
            state = "skipped"
        elif not endpoint.active:
            state = "disabled"
        else:
            state = "pending"
        out.append(
            {
                "event_id": event.event_id,
                "type": event.event_type,
                "sequence": event.sequence,
                "order_number": event.order_number,
                "created_at": _iso(event.created_at),
                "state": state,
                "attempts": event.attempts,
                "next_attempt_at": _iso(event.next_attempt_at) if state == "pending" else None,
                "last_error": None if accepted else _error_for(endpoint.id, event.last_error),
                "failed_at": _iso(event.failed_at) if state == "failed" else None,
            }
        )
        if len(out) >= limit:
            break
    return out
