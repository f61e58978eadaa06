"""Rate limits and login lockout, with Flask-Limiter.

Counters live in Redis when ``REDIS_URL`` (``C2M_REDIS_URL``) is configured, so
every worker process of every host shares them; only without it do they live in
process memory (one process, or development). Settings (``app.config``):

- ``PUBLIC_RATE_LIMIT``: the limit of the public (token-less) API operations per
  client address, in Flask-Limiter's notation (default ``"120 per minute;2000 per hour"``);
- ``RATE_LIMIT_<NAME>`` (``C2M_RATE_LIMIT_<NAME>``): the abuse limits below, per
  client address, on the API and the storefront and workspace pages alike;
- ``LOGIN_LOCKOUT_*``: the progressive login lockout (see :func:`login_check`);
- ``RATELIMIT_ENABLED``: ``False`` switches limiting off (benchmarks, tests).

A client over a limit gets ``429`` with ``Retry-After`` (seconds): as
``application/problem+json`` (reason ``too_many_requests``) on the API, as a
plain page elsewhere.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many
from werkzeug.exceptions import TooManyRequests

DEFAULT_PUBLIC_RATE_LIMIT = "120 per minute;2000 per hour"

ABUSE_LIMITS: dict[str, str] = {
    "ORDERS": "10 per minute;60 per hour",
    "CONFIGURATION_WRITES": "120 per minute;1200 per hour",
    "ORDER_LOOKUP": "30 per minute;300 per hour",
    "SHARE_LINKS": "30 per minute;300 per hour",
    "LOGIN": "10 per minute;100 per hour",
    "CATALOG_UPLOAD": "10 per minute;60 per hour",
}
"""Default abuse limits per client address; ``C2M_RATE_LIMIT_<NAME>`` overrides each."""

ENDPOINT_LIMITS: dict[tuple[str, str], str] = {
    # order creation
    ("orders.Orders", "POST"): "ORDERS",
    ("storefront.place_order", "POST"): "ORDERS",
    # configuration writes
    ("configurations.create", "POST"): "CONFIGURATION_WRITES",
    ("configurations.add_decision", "POST"): "CONFIGURATION_WRITES",
    ("configurations.replace_decisions", "PUT"): "CONFIGURATION_WRITES",
    ("configurations.remove_decision", "DELETE"): "CONFIGURATION_WRITES",
    ("configurations.complete", "POST"): "CONFIGURATION_WRITES",
    ("configurations.repair", "POST"): "CONFIGURATION_WRITES",
    ("configurations.undo", "POST"): "CONFIGURATION_WRITES",
    ("storefront.start", "POST"): "CONFIGURATION_WRITES",
    ("storefront.set_value", "POST"): "CONFIGURATION_WRITES",
    ("storefront.remove", "POST"): "CONFIGURATION_WRITES",
    ("storefront.repair", "POST"): "CONFIGURATION_WRITES",
    ("storefront.reset", "POST"): "CONFIGURATION_WRITES",
    ("storefront.undo", "POST"): "CONFIGURATION_WRITES",
    ("storefront.finish", "POST"): "CONFIGURATION_WRITES",
    ("storefront.copy_shared", "POST"): "CONFIGURATION_WRITES",
    # order lookup
    ("orders.OrderByNumber", "GET"): "ORDER_LOOKUP",
    ("storefront.order_status", "GET"): "ORDER_LOOKUP",
    ("storefront.order_placed", "GET"): "ORDER_LOOKUP",
    # share links
    ("configurations.shared", "GET"): "SHARE_LINKS",
    ("storefront.shared", "GET"): "SHARE_LINKS",
    # login
    ("admin.login", "POST"): "LOGIN",
    # catalog upload and publishing
    ("catalog.upload_catalog", "POST"): "CATALOG_UPLOAD",
    ("catalog.publish", "POST"): "CATALOG_UPLOAD",
    ("admin.upload", "POST"): "CATALOG_UPLOAD",
    ("admin.save_new_catalog", "POST"): "CATALOG_UPLOAD",
    ("admin.edit", "POST"): "CATALOG_UPLOAD",
    ("admin.publish", "POST"): "CATALOG_UPLOAD",
}
"""Which abuse limit each (endpoint, method) counts against."""

LOGIN_LOCKOUT_DEFAULTS: dict[str, int] = {
    "LOGIN_LOCKOUT_ACCOUNT_FAILURES": 5,
    "LOGIN_LOCKOUT_ADDRESS_FAILURES": 20,
    "LOGIN_LOCKOUT_BASE_S": 60,
    "LOGIN_LOCKOUT_MAX_S": 3600,
}
"""Failed logins before an account (or a client address) is locked, the first lock's length;
each further failure doubles it, up to the maximum. ``C2M_<NAME>`` overrides each."""

FAILURE_MEMORY_S = 24 * 3600
"""How long failed logins are remembered (a success clears the account's count)."""

F = TypeVar("F", bound=Callable[..., Any])

limiter = Limiter(get_remote_address, default_limits=[], headers_enabled=True)


def _public_limit() -> str:
    return str(current_app.config.get("PUBLIC_RATE_LIMIT") or DEFAULT_PUBLIC_RATE_LIMIT)


def public(view: F) -> F:
    """Decorator: count the view against the shared public limit of the caller's address."""
    return limiter.shared_limit(_public_limit, scope="public")(view)  # type: ignore[return-value]


def abuse_limit(name: str) -> list[RateLimitItem]:
    """The parsed limit ``name`` of the current app (its ``RATE_LIMIT_<NAME>`` or the default)."""
    return parse_many(str(current_app.config.get(f"RATE_LIMIT_{name}") or ABUSE_LIMITS[name]))


def _enabled() -> bool:
    return bool(current_app.config.get("RATELIMIT_ENABLED", True)) and limiter.enabled


def too_many(retry_after: float, detail: str) -> TooManyRequests:
    """A 429 carrying ``Retry-After`` (whole seconds, at least 1)."""
    return TooManyRequests(detail, retry_after=max(1, math.ceil(retry_after)))


def check_abuse_limits() -> None:
    """``before_request``: count the request against its endpoint's abuse limit; 429 when over."""
    name = ENDPOINT_LIMITS.get((request.endpoint or "", request.method))
    if name is None or not _enabled():
        return
    strategy = limiter.limiter
    key = (_prefix(), "abuse", name, get_remote_address())
    for item in abuse_limit(name):
        if not strategy.hit(item, *key):
            reset = strategy.get_window_stats(item, *key).reset_time
            raise too_many(
                reset - time.time(),
                f"too many requests of this kind ({name.lower().replace('_', ' ')}: {item}); try again later",
            )


# --------------------------------------------------------------------------- login lockout


def _prefix() -> str:
    """The deployment's key prefix (``C2M_RATELIMIT_KEY_PREFIX``): several deployments may share one Redis."""
    return str(current_app.config.get("RATELIMIT_KEY_PREFIX") or "c2m")


def _setting(name: str) -> int:
    return int(current_app.config.get(name) or LOGIN_LOCKOUT_DEFAULTS[name])


def _lock_length(failures: int, threshold: int) -> int:
    """Seconds of lock after ``failures`` failures: base, doubled per failure past the threshold.

    >>> from flask import Flask
    >>> with Flask("t").app_context():
    ...     [_lock_length(n, 5) for n in (4, 5, 6, 7, 20)]
    [0, 60, 120, 240, 3600]
    """
    if failures < threshold:
        return 0
    return int(min(_setting("LOGIN_LOCKOUT_BASE_S") * 2 ** min(failures - threshold, 30), _setting("LOGIN_LOCKOUT_MAX_S")))


def _subjects(email: str) -> list[tuple[str, int]]:
    return [
        (f"account:{email.strip().lower()}", _setting("LOGIN_LOCKOUT_ACCOUNT_FAILURES")),
        (f"address:{get_remote_address()}", _setting("LOGIN_LOCKOUT_ADDRESS_FAILURES")),
    ]


def login_check(email: str) -> None:
    """Before checking a password: :raise TooManyRequests: the account or the address is locked.

    A lock lasts ``LOGIN_LOCKOUT_BASE_S`` after the threshold's failure and doubles with
    each further failure (up to ``LOGIN_LOCKOUT_MAX_S``); a correct password during a
    lock is refused too, so guessing cannot continue at full speed.
    """
    if not _enabled():
        return
    storage = limiter.storage
    for subject, _threshold in _subjects(email):
        failures = int(storage.get(f"{_prefix()}/login-fail/{subject}"))
        lock = f"{_prefix()}/login-lock/{subject}/{failures}"
        if failures and storage.get(lock):
            raise too_many(
                storage.get_expiry(lock) - time.time(),
                "too many failed sign-ins for this account or from this address; try again later",
            )


def login_failed(email: str) -> None:
    """Count a failed sign-in against the account and the address; lock them past their thresholds."""
    if not _enabled():
        return
    storage = limiter.storage
    for subject, threshold in _subjects(email):
        failures = storage.incr(f"{_prefix()}/login-fail/{subject}", FAILURE_MEMORY_S)
        length = _lock_length(failures, threshold)
        if length:
            storage.incr(f"{_prefix()}/login-lock/{subject}/{failures}", length)


def login_succeeded(email: str) -> None:
    """Forget the account's failed sign-ins (the address keeps its count)."""
    if not _enabled():
        return
    limiter.storage.clear(f"{_prefix()}/login-fail/{_subjects(email)[0][0]}")


def init_app(app: Flask) -> Limiter:
    """Attach the limiter to ``app``: Redis storage when ``REDIS_URL`` is set, else memory."""
    redis_url = app.config.get("REDIS_URL")
    app.config.setdefault("RATELIMIT_STORAGE_URI", redis_url or "memory://")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "c2m")
    # The limiter is one object for the process; say explicitly what this app wants,
    # or it would inherit the previous app's setting.
    app.config.setdefault("RATELIMIT_ENABLED", True)
    limiter.init_app(app)
    app.before_request(check_abuse_limits)
    return limiter
