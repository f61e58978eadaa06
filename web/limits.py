"""Rate limits for the public (token-less) API operations, with Flask-Limiter.

Counters live in Redis when ``REDIS_URL`` is configured (so every worker
process shares them), else in process memory. Settings (``app.config``):

- ``PUBLIC_RATE_LIMIT``: the limit of public operations per client address,
  in Flask-Limiter's notation (default ``"120 per minute;2000 per hour"``);
- ``RATELIMIT_ENABLED``: ``False`` switches limiting off (benchmarks).

A client over the limit gets ``429`` as ``application/problem+json``
(reason ``too_many_requests``) from ``web.errors``' HTTP error handler.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

DEFAULT_PUBLIC_RATE_LIMIT = "120 per minute;2000 per hour"

F = TypeVar("F", bound=Callable[..., Any])

limiter = Limiter(get_remote_address, default_limits=[], headers_enabled=True)


def _public_limit() -> str:
    return str(current_app.config.get("PUBLIC_RATE_LIMIT") or DEFAULT_PUBLIC_RATE_LIMIT)


def public(view: F) -> F:
    """Decorator: count the view against the shared public limit of the caller's address."""
    return limiter.shared_limit(_public_limit, scope="public")(view)  # type: ignore[return-value]


def init_app(app: Flask) -> Limiter:
    """Attach the limiter to ``app``: Redis storage when ``REDIS_URL`` is set, else memory."""
    redis_url = app.config.get("REDIS_URL")
    app.config.setdefault("RATELIMIT_STORAGE_URI", redis_url or "memory://")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "c2m")
    # The limiter is one object for the process; say explicitly what this app wants,
    # or it would inherit the previous app's setting.
    app.config.setdefault("RATELIMIT_ENABLED", True)
    limiter.init_app(app)
    return limiter
