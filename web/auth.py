"""API tokens: created once, stored as SHA-256, checked per request with scopes.

A token looks like ``c2m_<random>``; only its hash and a short prefix are kept.
Scopes: ``erp:read`` (read orders, production orders, item master, the changes
feed), ``erp:write`` (act on production orders: acknowledge, reject, start,
ship, cancel), ``webhooks:manage`` (webhook endpoints), ``catalog:write``
(upload, publish), ``orders:write`` (place orders on behalf of a storefront client).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from flask import g, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from usecases.records import ApiToken
from web.errors import ApiProblem

SCOPES = ("erp:read", "erp:write", "webhooks:manage", "catalog:write", "orders:write")
TOKEN_PREFIX = "c2m_"

F = TypeVar("F", bound=Callable[..., Any])


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    session: Session, name: str, scopes: list[str], catalog_code: str | None = None
) -> tuple[ApiToken, str]:
    """Create a token with ``scopes`` (limited to catalog ``catalog_code`` when given);
    returns the row and the secret (shown once)."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValueError(f"unknown scope(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(SCOPES)}")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name,
        prefix=secret[:12],
        token_hash=hash_token(secret),
        scopes=" ".join(sorted(set(scopes))),
        catalog_code=catalog_code,
        created_at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    return row, secret


def authenticate(session: Session) -> ApiToken | None:
    """The token of the current request (``Authorization: Bearer ...``), or None when absent.

    :raise ApiProblem 401: the header is malformed or the token is unknown or revoked.
    """
    header = request.headers.get("Authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise ApiProblem(401, "unauthorized", "use 'Authorization: Bearer <token>'")
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(value.strip()))).first()
    if row is None or row.revoked_at is not None:
        raise ApiProblem(401, "unauthorized", "unknown or revoked API token")
    return row


def token_catalog() -> str | None:
    """The catalog the request's API token is limited to (None: no token, or not limited).

    Views and services filter every query of a limited token by this code, and
    answer 404 for objects of other catalogs (not 403: existence is not revealed).
    """
    token = g.get("api_token")
    return token.catalog_code if token is not None else None


def check_catalog(catalog_code: str) -> None:
    """:raise ApiProblem 403: the request's token is limited to another catalog (for writes
    naming the catalog explicitly, where 404 would be misleading)."""
    limited = token_catalog()
    if limited is not None and limited != catalog_code:
        raise ApiProblem(
            403, "forbidden", f"the token is limited to catalog {limited!r}", catalog=catalog_code
        )


def require_scope(scope: str) -> Callable[[F], F]:
    """Decorator: the request must carry a token with ``scope``.

    :raise ApiProblem 401: no token; 403: the token lacks the scope.
    """
    if scope not in SCOPES:
        raise ValueError(scope)

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from web import database

            token = authenticate(database.session())
            if token is None:
                raise ApiProblem(401, "unauthorized", f"this operation needs an API token with scope {scope}")
            if scope not in token.scopes.split():
                raise ApiProblem(403, "forbidden", f"the token lacks scope {scope}", required_scope=scope)
            g.api_token = token
            return view(*args, **kwargs)

        # flask-smorest reads this to document the security requirement
        wrapper._c2m_scope = scope  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
