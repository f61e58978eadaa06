"""The Flask application: storefront, manufacturer workspace and REST API."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

# Old module paths of what moved to the ``usecases`` package. A finder aliases
# them to the new modules (the same module objects, so patching either name
# patches both). Remove once no caller imports the old paths.
_MOVED = {
    "web.models": "usecases.records",
    "web.webhooks": "usecases.outbox",
    "web.services": "usecases",
    **{
        f"web.services.{name}": f"usecases.{name}"
        for name in (
            "catalogs",
            "check_reports",
            "cleanup",
            "compile_guard",
            "configurations",
            "orders",
            "publishing",
            "version_diff",
            "webhook_endpoints",
        )
    },
}


class _Alias(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(self.target)

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the target module is already imported."""


class _MovedModules(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        moved = _MOVED.get(fullname)
        return None if moved is None else importlib.util.spec_from_loader(fullname, _Alias(moved))


if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
    sys.meta_path.insert(0, _MovedModules())

# Flask is imported by create_app, not here: the ``c2m`` command line lives in
# this package and most of its commands never build the application.


def _install_settings_source() -> None:
    """Solver settings of the use cases come from the current app's configuration."""
    from flask import current_app, has_app_context

    from usecases.settings import set_settings_source

    set_settings_source(lambda: current_app.config if has_app_context() else None)


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
    from jobs.engine import hook_publishing

    hook_publishing()  # compile-on-publish goes to the job engine when one is configured
    security.init_app(app)  # first: refuses unsafe production settings before anything connects
    inputs.init_app(app)  # before any route: bounded <int:...> converter, body limit, input checks
    observability.init_app(app)
    database.init_app(app)
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
