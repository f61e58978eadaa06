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
plain page elsewhere. Responses of public operations carry the public limit's
``X-RateLimit-Limit``, ``X-RateLimit-Remaining``, ``X-RateLimit-Reset`` and
``Retry-After`` (of its shortest window, or of the window that was exceeded).

One request costs one round trip to Redis whatever it counts against: the
public limit's and the abuse limit's fixed windows are counted (``INCRBY``, the
window's ``EXPIRE`` when the key is new, its ``TTL`` for the headers) in one
pipeline, under the keys of the ``limits`` library's fixed-window strategy.
Flask-Limiter holds the storage (``RATELIMIT_STORAGE_URI``), the on/off switch
and the strategy (``RATELIMIT_STRATEGY``, fixed windows by default); with another
storage than Redis (memory, development) or another strategy the windows are
counted through the strategy, one call per window.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many
from limits.storage import RedisStorage
from limits.strategies import FixedWindowRateLimiter
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

limiter = Limiter(get_remote_address, default_limits=[], headers_enabled=False)


@limiter.request_filter
def _counted_by_check_limits() -> bool:
    """Flask-Limiter evaluates no route limits of its own: :func:`check_limits` counts every window."""
    return True


PUBLIC_MARK = "_c2m_public_limit"
"""Attribute of a view counted against the public limit (set by :func:`public`)."""


def _public_limit() -> str:
    return str(current_app.config.get("PUBLIC_RATE_LIMIT") or DEFAULT_PUBLIC_RATE_LIMIT)


def public(view: F) -> F:
    """Decorator: count the view against the shared public limit of the caller's address.

    Put it right under the route decorator; :func:`check_limits` counts the request before the view runs.
    """
    setattr(view, PUBLIC_MARK, True)
    return view


def _parsed(text: str) -> tuple[RateLimitItem, ...]:
    """The windows of a limit in Flask-Limiter's notation, shortest first (parsed once per app and text)."""
    parsed: dict[str, tuple[RateLimitItem, ...]] = current_app.extensions.setdefault("c2m.parsed_limits", {})
    items = parsed.get(text)
    if items is None:
        items = parsed[text] = tuple(sorted(parse_many(text)))
    return items


def abuse_limit(name: str) -> list[RateLimitItem]:
    """The parsed limit ``name`` of the current app (its ``RATE_LIMIT_<NAME>`` or the default)."""
    return list(_parsed(str(current_app.config.get(f"RATE_LIMIT_{name}") or ABUSE_LIMITS[name])))


def _enabled() -> bool:
    return bool(current_app.config.get("RATELIMIT_ENABLED", True)) and limiter.enabled


def too_many(retry_after: float, detail: str) -> TooManyRequests:
    """A 429 carrying ``Retry-After`` (whole seconds, at least 1)."""
    return TooManyRequests(detail, retry_after=max(1, math.ceil(retry_after)))


@dataclass(frozen=True, slots=True)
class Window:
    """One fixed window counted for this request: the limit, the count after this request, when it resets."""

    item: RateLimitItem
    key: tuple[str, ...]
    count: int
    reset: float
    """Unix time when the window's counter expires."""

    @property
    def exceeded(self) -> bool:
        return self.count > self.item.amount


def _count(windows: list[tuple[RateLimitItem, tuple[str, ...]]]) -> list[Window]:
    """Count one request against each window; one Redis round trip for all of them."""
    storage = limiter.storage
    if isinstance(storage, RedisStorage) and isinstance(limiter.limiter, FixedWindowRateLimiter):
        pipe = storage.get_connection().pipeline(transaction=False)  # type: ignore[attr-defined]
        for item, key in windows:
            name = storage.prefixed_key(item.key_for(*key))
            pipe.incrby(name, 1)
            pipe.expire(name, item.get_expiry(), nx=True)  # a new window starts its clock
            pipe.ttl(name)
        replies = pipe.execute()
        now = time.time()
        return [
            Window(item, key, int(replies[3 * i]), now + max(int(replies[3 * i + 2]), 0))
            for i, (item, key) in enumerate(windows)
        ]
    strategy = limiter.limiter
    out = []
    for item, key in windows:
        allowed = strategy.hit(item, *key)
        reset, remaining = strategy.get_window_stats(item, *key)
        out.append(Window(item, key, item.amount - remaining if allowed else item.amount + 1, reset))
    return out


def _is_public() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, PUBLIC_MARK, False))


def check_limits() -> None:
    """``before_request``: count the request against the public limit (public operations) and its
    endpoint's abuse limit, in one round trip; 429 when over one of them."""
    name = ENDPOINT_LIMITS.get((request.endpoint or "", request.method))
    public_view = _is_public()
    if (name is None and not public_view) or not _enabled():
        return
    address = get_remote_address()
    windows: list[tuple[RateLimitItem, tuple[str, ...]]] = []
    if public_view:
        windows += [(item, (_prefix(), address, "public")) for item in _parsed(_public_limit())]
    if name is not None:
        windows += [(item, (_prefix(), "abuse", name, address)) for item in abuse_limit(name)]
    counted = _count(windows)
    public_windows = counted[: len(_parsed(_public_limit()))] if public_view else []
    over = [w for w in counted if w.exceeded]
    if public_windows:
        public_over = [w for w in public_windows if w.exceeded]
        g.c2m_rate_window = public_over[-1] if public_over else public_windows[0]
    if over:
        window = over[0]
        what = "public operations" if window in public_windows else (name or "").lower().replace("_", " ")
        raise too_many(
            window.reset - time.time(),
            f"too many requests of this kind ({what}: {window.item}); try again later",
        )


def rate_limit_headers(response: Response) -> Response:
    """``after_request``: the public limit's headers (its shortest window, or the one exceeded)."""
    window: Window | None = g.pop("c2m_rate_window", None)
    if window is None:
        return response
    reset_at = int(window.reset + 1)
    response.headers["X-RateLimit-Limit"] = str(window.item.amount)
    response.headers["X-RateLimit-Remaining"] = str(max(0, window.item.amount - window.count))
    response.headers["X-RateLimit-Reset"] = str(reset_at)
    retry_after = max(int(reset_at - time.time()), 0)
    given = response.headers.get("Retry-After")  # a 429 of another limit says when to come back
    if given is not None and given.isdigit():
        retry_after = max(retry_after, int(given))
    response.headers["Retry-After"] = str(retry_after)
    return response


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
    app.before_request(check_limits)
    app.after_request(rate_limit_headers)
    return limiter
