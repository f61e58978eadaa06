"""Gunicorn settings for production (``c2m serve --production`` or
``gunicorn -c web/gunicorn_conf.py 'web:create_app()'``).

Settings come from the environment so one file serves every deployment:

- ``C2M_BIND`` (default ``127.0.0.1:8000``; behind a reverse proxy keep it on
  loopback or a private interface);
- ``C2M_WORKERS`` processes (default: the number of CPU cores; the engine is
  CPU-bound, so more processes than cores only queue);
- ``C2M_THREADS`` threads per process (default 4: requests also wait on
  PostgreSQL, and the compiled models are shared by a process's threads);
- ``C2M_TIMEOUT`` seconds before a silent worker is killed and replaced (default 60);
- ``C2M_MAX_REQUESTS`` requests after which a worker is recycled (default 2000,
  with jitter, so the workers do not restart together).

Each worker compiles the products of every catalog in force when it boots
(``post_worker_init``), so the compiled models, cached per process and keyed by
the version's content hash, are warm before the first buyer arrives.
The application itself logs one JSON line per request (``web.observability``),
so gunicorn's access log is off; its error log goes to stderr.
"""

from __future__ import annotations

import logging
import os
from typing import Any

_log = logging.getLogger("c2m.gunicorn")


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    value = int(raw)
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {raw!r}")
    return value


bind = os.environ.get("C2M_BIND", "127.0.0.1:8000")
workers = _env_int("C2M_WORKERS", os.cpu_count() or 1)
worker_class = "gthread"
threads = _env_int("C2M_THREADS", 4)
timeout = _env_int("C2M_TIMEOUT", 60)
graceful_timeout = 30
keepalive = 5
max_requests = _env_int("C2M_MAX_REQUESTS", 2000)
max_requests_jitter = max(1, max_requests // 10)
# No preloading: each worker opens its own database pool after the fork
# (connections must never be shared between processes).
preload_app = False
accesslog = None
errorlog = "-"
loglevel = os.environ.get("C2M_GUNICORN_LOGLEVEL", "info")
proc_name = "c2m"
# gunicorn's control socket defaults to one path per user: several instances on one host
# (blue/green, tests) would fight over it, and nothing here uses it.
control_socket_disable = True
# Behind a proxy, the app's ProxyFix (C2M_TRUSTED_PROXIES) alone decides what to trust:
# gunicorn would otherwise believe X-Forwarded-Proto from any local client.
forwarded_allow_ips = ""
secure_scheme_headers: dict[str, str] = {}


def post_worker_init(worker: Any) -> None:
    """Compile every product in force in this worker before it takes requests."""
    flask_app = worker.wsgi  # the Flask object ('web:create_app()'); ProxyFix wraps only its wsgi_app
    if not hasattr(flask_app, "app_context"):
        return
    from usecases.catalogs import catalogs_in_force, warm
    from web import database

    try:
        with flask_app.app_context():
            compiled = 0
            for loaded in catalogs_in_force(database.read_session()):
                compiled += warm(loaded.catalog, loaded.content_hash)
        worker.log.info("worker %s: %d product model(s) compiled", worker.pid, compiled)
    except Exception as exc:  # a cold cache is slower, not broken: keep serving
        worker.log.warning("worker %s: warming the model cache failed: %s", worker.pid, exc)
