"""The Flask application: storefront, manufacturer workspace and REST API."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

# Flask is imported by create_app, not here: the ``c2m`` command line lives in
# this package and most of its commands never build the application.


def _install_settings_source() -> None:
    """Solver settings of the use cases come from the current app's configuration."""
    from flask import current_app, has_app_context

    from usecases.settings import set_settings_source

    set_settings_source(lambda: current_app.config if has_app_context() else None)


def _install_model_caches(app: Flask) -> None:
    """One :class:`usecases.catalogs.ModelCaches` per application, with the database as
    the store of compiled models; the use cases find it through the app context."""
    from flask import current_app, has_app_context
    from sqlalchemy import make_url
    from sqlalchemy.orm import sessionmaker
    from sqlalchemy.pool import NullPool

    from catalog.db import make_engine
    from usecases.catalogs import (
        CATALOG_CACHE_SIZE,
        CONFIGURATOR_CACHE_SIZE,
        STATE_CACHE_SIZE,
        ModelCaches,
        set_caches_source,
    )
    from usecases.compiled_models import ArtifactStore

    store = None
    url = make_url(app.config["DATABASE_URL"])
    in_memory = url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
    if app.config.get("COMPILED_MODEL_STORE", True) and not in_memory:
        # Its own connections, opened only on a cache miss (once per model and process): a
        # request holding a pooled connection never waits for a second one from the same pool.
        store = ArtifactStore(sessionmaker(make_engine(url, poolclass=NullPool), expire_on_commit=False))
    app.extensions["c2m.caches"] = ModelCaches(
        catalog_size=int(app.config.get("CATALOG_CACHE_SIZE") or CATALOG_CACHE_SIZE),
        configurator_size=int(app.config.get("CONFIGURATOR_CACHE_SIZE") or CONFIGURATOR_CACHE_SIZE),
        state_size=int(app.config.get("STATE_CACHE_SIZE") or STATE_CACHE_SIZE),
        artifacts=store,
    )
    set_caches_source(lambda: current_app.extensions.get("c2m.caches") if has_app_context() else None)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create and configure an instance of the Flask application."""
    from flask import Flask

    from web import config as config_module

    app = Flask(__name__, instance_relative_config=True)
    app.config.update(config_module.DEFAULTS)
    app.config.update(config_module.from_environment(app.instance_path))
    if test_config is not None:
        app.config.update(test_config)
    os.makedirs(app.instance_path, exist_ok=True)

    from web import api, database, errors, health, i18n, inputs, limits, observability, security, storefront

    _install_settings_source()
    from jobs.hooks import hook_publishing

    hook_publishing()  # compile-on-publish goes to the job engine when one is configured
    security.init_app(app)  # first: refuses unsafe production settings before anything connects
    inputs.init_app(app)  # before any route: bounded <int:...> converter, body limit, input checks
    observability.init_app(app)
    database.init_app(app)
    _install_model_caches(app)
    app.register_blueprint(health.bp)
    limits.init_app(app)
    i18n.init_app(app)
    app.register_blueprint(storefront.bp)
    from web import accounts, admin

    accounts.init_app(app)
    app.register_blueprint(admin.bp)
    api.init_app(app)
    # after the API: our problem+json handlers replace flask-smorest's default error shape
    errors.init_app(app)
    return app
