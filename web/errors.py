"""The single mapping from errors to HTTP: RFC 9457 problem documents.

Below ``web/`` nothing knows a status code. Domain errors carry a stable
``reason``; this module turns them (and every werkzeug HTTP error) into
``application/problem+json`` for API paths, so no request yields a stack trace.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException

from bom.errors import BomError
from catalog.errors import CatalogError
from configurator.errors import ConfiguratorError
from usecases.errors import UseCaseError

log = logging.getLogger("web.errors")

PROBLEM_JSON = "application/problem+json"

# reason -> HTTP status; domain reasons not listed map to 422.
STATUS_BY_REASON: dict[str, int] = {
    "catalog_not_found": 404,
    "version_not_found": 404,
    "product_not_found": 404,
    "not_found": 404,
    "configuration_not_found": 404,
    "decision_not_found": 404,
    "order_not_found": 404,
    "webhook_not_found": 404,
    "version_immutable": 409,
    "conflict": 409,
    "nothing_to_undo": 409,
    "idempotency_conflict": 409,
    "unauthorized": 401,
    "forbidden": 403,
    "idempotency_in_progress": 409,
    "catalog_version_mismatch": 409,
    "version_archived": 409,
    "version_expired": 409,
    "quote_expired": 410,
    "quote_price_changed": 409,
    "invalid_transition": 409,
    "stale_revision": 409,
    "stored_record_corrupt": 409,
    "invalid_cursor": 400,
    "model_too_large": 503,
    "model_preparing": 503,
    "click_budget": 503,
}

DOMAIN_ERRORS = (CatalogError, ConfiguratorError, BomError, UseCaseError)


class ApiProblem(Exception):
    """Raised by views to answer with a specific problem document."""

    def __init__(self, status: int, reason: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.reason = reason
        self.detail = detail
        self.extra = extra


def status_of(reason: str) -> int:
    """The HTTP status of a domain reason (422 when the reason is not listed)."""
    return STATUS_BY_REASON.get(reason, 422)


def problem_response(status: int, reason: str, detail: str, **extra: Any) -> Response:
    from werkzeug.http import HTTP_STATUS_CODES

    body: dict[str, Any] = {
        "type": f"about:blank#{reason}" if reason else "about:blank",
        "title": HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "reason": reason,
    }
    if request:
        body["instance"] = request.path
    body.update({k: v for k, v in extra.items() if v is not None})
    resp = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON)
    return resp


def domain_error_payload(exc: Exception) -> dict[str, Any]:
    """Structured details of a domain error, for the ``errors`` member."""
    extra: dict[str, Any] = dict(exc.extra) if isinstance(exc, UseCaseError) else {}
    problems = getattr(exc, "problems", None)
    if problems:
        extra["errors"] = [str(p) for p in problems]
    errors = getattr(exc, "errors", None)
    if errors and not problems:
        extra["errors"] = [str(e) for e in errors]
    for attr in ("product", "attribute", "limit", "value", "field", "line", "column", "rule_id", "missing", "allowed"):
        v = getattr(exc, attr, None)
        if v is not None and isinstance(v, str | int | float | bool | list | tuple):
            extra[attr] = list(v) if isinstance(v, tuple) else v
    return extra


def _sqlite_busy(exc: Exception) -> bool:
    """SQLite's "database is locked" (another writer), as SQLAlchemy raises it."""
    from sqlalchemy.exc import OperationalError

    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig).lower()


def _wants_problem() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best in (
        "application/json",
        PROBLEM_JSON,
    )


def _html_page(status: int, exc: HTTPException | None) -> Any:
    """A styled page for a browser (see web.storefront.error_pages); the plain exception if even that fails."""
    try:
        from web.storefront.error_pages import error_page

        headers = {}
        if exc is not None and status in (405, 429, 503):
            headers = {k: v for k, v in exc.get_response().headers.items() if k.lower() in ("allow", "retry-after")}
        return error_page(status, headers)
    except Exception:  # the error page itself must never turn into a second error
        log.exception("error page for %s failed", status)
        return exc if exc is not None else ("Internal error", 500)


def _domain_response(exc: Exception) -> Any:
    """A domain error as problem+json (API) or a page (browser), with ``Retry-After`` when it says when."""
    reason = getattr(exc, "reason", "error")
    status = status_of(reason)
    retry_after = getattr(exc, "retry_after", None)
    if not _wants_problem():
        # Returned, not raised: an exception raised inside an error handler is not
        # handled again and would turn every such page into a 500.
        if retry_after is not None:
            from werkzeug.exceptions import ServiceUnavailable

            return _html_page(status, ServiceUnavailable(str(exc), retry_after=retry_after))
        return _html_page(status, None)
    resp = problem_response(status, reason, str(exc), **domain_error_payload(exc))
    if retry_after is not None:
        resp.headers["Retry-After"] = str(retry_after)
    return resp


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiProblem)
    def _api_problem(exc: ApiProblem) -> Response:
        return problem_response(exc.status, exc.reason, exc.detail, **exc.extra)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        if not _wants_problem():
            return _html_page(exc.code or 500, exc)
        status = exc.code or 500
        reason = (exc.name or "error").lower().replace(" ", "_")
        extra: dict[str, Any] = {}
        data = getattr(exc, "data", None)  # flask-smorest / webargs validation messages
        if isinstance(data, dict) and "messages" in data:
            extra["errors"] = data["messages"]
            reason = "validation_error" if status == 422 else reason
        resp = problem_response(status, reason, exc.description or exc.name, **extra)
        for key, value in exc.get_response().headers.items():
            if key.lower() in ("allow", "retry-after", "www-authenticate"):
                resp.headers[key] = value
        return resp

    for cls in DOMAIN_ERRORS:

        @app.errorhandler(cls)
        def _domain(exc: Exception) -> Any:
            return _domain_response(exc)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        if isinstance(exc, HTTPException):
            return _http(exc)
        if _sqlite_busy(exc):
            # web.database already ran the view again where that was safe; what is left is a
            # write that met another writer's lock after this request had committed a part.
            log.warning("SQLite busy on %s %s: %s", request.method, request.path, exc)
            if not _wants_problem():
                from werkzeug.exceptions import ServiceUnavailable

                return ServiceUnavailable("The shop is busy; please try again in a moment.", retry_after=1)
            resp = problem_response(
                503, "database_busy", "the database is busy with another write; retry the request in a second"
            )
            resp.headers["Retry-After"] = "1"
            return resp
        log.exception("unhandled error on %s %s", request.method, request.path)
        if not _wants_problem():
            return _html_page(500, None)
        return problem_response(500, "internal_error", "The server could not complete the request.")
