"""Configuration of the web application: the one place that reads the environment."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from catalog.files.limits import DEFAULT_MAX_ATTRIBUTE_VALUES, DEFAULT_MAX_MODEL_VALUES
from usecases.settings import (
    DEFAULT_CLICK_BUDGET_MS,
    DEFAULT_COMPILE_BUDGET_S,
    DEFAULT_COMPILE_MEMORY_MB,
    DEFAULT_COMPILE_NODE_BUDGET,
)

__all__ = ["DEFAULT_COMPILE_BUDGET_S", "DEFAULT_COMPILE_MEMORY_MB", "DEFAULT_COMPILE_NODE_BUDGET"]

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
"""Largest request body, whatever its transfer encoding (``C2M_MAX_BODY_BYTES``)."""


def from_environment(instance_path: str) -> dict[str, Any]:
    """Settings taken from ``C2M_*`` environment variables, with defaults.

    ``C2M_DATABASE_URL`` (any SQLAlchemy URL; default SQLite in the instance
    folder), ``C2M_REDIS_URL`` (optional), ``C2M_SECRET_KEY`` (random per
    process when unset, which is fine for one process but not for several;
    required when ``C2M_PRODUCTION`` is on). Production settings:
    ``C2M_PRODUCTION`` (refuse unsafe defaults, secure cookies),
    ``C2M_SECURE_COOKIES`` (cookies only over HTTPS), ``C2M_TRUSTED_PROXIES``
    (how many proxies in front set ``X-Forwarded-*``), ``C2M_COMPILE_BUDGET_S``
    and ``C2M_COMPILE_NODE_BUDGET`` (bounds on compiling one product's model).
    """
    db_url = os.environ.get("C2M_DATABASE_URL") or f"sqlite:///{Path(instance_path) / 'c2m.sqlite'}"
    secret = os.environ.get("C2M_SECRET_KEY") or None
    generated = secrets.token_hex(32)
    return {
        "DATABASE_URL": db_url,
        "READ_DATABASE_URL": os.environ.get("C2M_READ_DATABASE_URL") or None,
        "REDIS_URL": os.environ.get("C2M_REDIS_URL") or None,
        # Prefix of the rate-limit keys in Redis (several deployments may share one Redis).
        "RATELIMIT_KEY_PREFIX": os.environ.get("C2M_RATELIMIT_KEY_PREFIX") or "c2m",
        "SECRET_KEY": secret or generated,
        # web.security refuses to start in production when SECRET_KEY is still this value
        "GENERATED_SECRET_KEY": None if secret else generated,
        "SOLVER_BACKEND": os.environ.get("C2M_SOLVER_BACKEND", "auto"),
        # Flask-Limiter notation, e.g. "120 per minute;2000 per hour" (web.limits' default when unset)
        "PUBLIC_RATE_LIMIT": os.environ.get("C2M_PUBLIC_RATE_LIMIT") or None,
        # Production readiness (web.security, web.observability, usecases.catalogs):
        "PRODUCTION": _flag(os.environ.get("C2M_PRODUCTION")),
        "SECURE_COOKIES": _flag(os.environ.get("C2M_SECURE_COOKIES")),
        "TRUSTED_PROXIES": _int(os.environ.get("C2M_TRUSTED_PROXIES"), "C2M_TRUSTED_PROXIES", 0),
        # Compile budgets are always on (usecases.compile_guard has the defaults).
        "COMPILE_BUDGET_S": _float(os.environ.get("C2M_COMPILE_BUDGET_S"), "C2M_COMPILE_BUDGET_S")
        or DEFAULT_COMPILE_BUDGET_S,
        "CLICK_BUDGET_MS": _float(os.environ.get("C2M_CLICK_BUDGET_MS"), "C2M_CLICK_BUDGET_MS")
        or DEFAULT_CLICK_BUDGET_MS,
        "COMPILE_NODE_BUDGET": _int(
            os.environ.get("C2M_COMPILE_NODE_BUDGET"), "C2M_COMPILE_NODE_BUDGET", DEFAULT_COMPILE_NODE_BUDGET
        ),
        "COMPILE_MEMORY_MB": _int(
            os.environ.get("C2M_COMPILE_MEMORY_MB"), "C2M_COMPILE_MEMORY_MB", DEFAULT_COMPILE_MEMORY_MB
        ),
        "CATALOG_MAX_ATTRIBUTE_VALUES": _int(
            os.environ.get("C2M_CATALOG_MAX_ATTRIBUTE_VALUES"),
            "C2M_CATALOG_MAX_ATTRIBUTE_VALUES",
            DEFAULT_MAX_ATTRIBUTE_VALUES,
        ),
        "CATALOG_MAX_MODEL_VALUES": _int(
            os.environ.get("C2M_CATALOG_MAX_MODEL_VALUES"), "C2M_CATALOG_MAX_MODEL_VALUES", DEFAULT_MAX_MODEL_VALUES
        ),
        "MAX_CONTENT_LENGTH": _int(
            os.environ.get("C2M_MAX_BODY_BYTES"), "C2M_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES
        ),
        **rate_limit_settings(),
        **{
            name: _int(os.environ.get(f"C2M_{name}"), f"C2M_{name}", None)
            for name in (
                "LOGIN_LOCKOUT_ACCOUNT_FAILURES",
                "LOGIN_LOCKOUT_ADDRESS_FAILURES",
                "LOGIN_LOCKOUT_BASE_S",
                "LOGIN_LOCKOUT_MAX_S",
            )
        },
    }


RATE_LIMIT_NAMES = ("ORDERS", "CONFIGURATION_WRITES", "ORDER_LOOKUP", "SHARE_LINKS", "LOGIN", "CATALOG_UPLOAD")
"""The abuse limits ``web.limits`` applies; each ``C2M_RATE_LIMIT_<NAME>`` overrides its default."""


def rate_limit_settings() -> dict[str, str | None]:
    """``RATE_LIMIT_<NAME>`` from ``C2M_RATE_LIMIT_<NAME>`` (Flask-Limiter notation, e.g.
    ``"10 per minute;50 per hour"``); None leaves ``web.limits``' default."""
    return {f"RATE_LIMIT_{name}": os.environ.get(f"C2M_RATE_LIMIT_{name}") or None for name in RATE_LIMIT_NAMES}


def _flag(text: str | None) -> bool:
    """An environment switch: ``1``, ``true``, ``yes``, ``on`` (any case) mean on.

    >>> _flag("1"), _flag("True"), _flag(None), _flag("0")
    (True, True, False, False)
    """
    return (text or "").strip().lower() in ("1", "true", "yes", "on")


def _int(text: str | None, name: str, default: int | None) -> int | None:
    """A non-negative integer setting, or ``default`` when unset.

    >>> _int("3", "X", 0), _int(None, "X", 0)
    (3, 0)
    """
    if text is None or not text.strip():
        return default
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {text!r}") from None
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {text!r}")
    return value


def _float(text: str | None, name: str) -> float | None:
    """A positive number of seconds, or None when unset.

    >>> _float("2.5", "X"), _float("", "X")
    (2.5, None)
    """
    if text is None or not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, got {text!r}") from None
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {text!r}")
    return value


DEFAULTS: dict[str, Any] = {
    "API_TITLE": "C2M configurator API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.1.0",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "/docs",
    "OPENAPI_SWAGGER_UI_URL": "/api/v1/static/swagger-ui/",
    "JSON_SORT_KEYS": False,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "BABEL_DEFAULT_LOCALE": "en",
    "LANGUAGES": ["en", "zh_CN"],
}
