"""Configuration of the web application: the one place that reads the environment."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any


def from_environment(instance_path: str) -> dict[str, Any]:
    """Settings taken from ``C2M_*`` environment variables, with defaults.

    ``C2M_DATABASE_URL`` (any SQLAlchemy URL; default SQLite in the instance
    folder), ``C2M_REDIS_URL`` (optional), ``C2M_SECRET_KEY`` (random per
    process when unset, which is fine for one process but not for several).
    """
    db_url = os.environ.get("C2M_DATABASE_URL") or f"sqlite:///{Path(instance_path) / 'c2m.sqlite'}"
    return {
        "DATABASE_URL": db_url,
        "READ_DATABASE_URL": os.environ.get("C2M_READ_DATABASE_URL") or None,
        "REDIS_URL": os.environ.get("C2M_REDIS_URL") or None,
        "SECRET_KEY": os.environ.get("C2M_SECRET_KEY") or secrets.token_hex(32),
        "SOLVER_BACKEND": os.environ.get("C2M_SOLVER_BACKEND", "auto"),
    }


DEFAULTS: dict[str, Any] = {
    "API_TITLE": "C2M configurator API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.1.0",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "/docs",
    "OPENAPI_SWAGGER_UI_URL": "/api/v1/static/swagger-ui/",
    "JSON_SORT_KEYS": False,
    "MAX_CONTENT_LENGTH": 4 * 1024 * 1024,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "BABEL_DEFAULT_LOCALE": "en",
    "LANGUAGES": ["en", "zh_CN"],
}
