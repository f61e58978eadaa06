"""The REST API under ``/api/v1`` (flask-smorest): OpenAPI at ``/api/v1/openapi.json``,
interactive docs at ``/api/v1/docs`` served from local files."""

from __future__ import annotations

import importlib

from flask import Blueprint, Flask, send_from_directory
from flask_smorest import Api

API_MODULES = ("web.api.catalog", "web.api.configurations", "web.api.orders", "web.api.erp")
"""Each module defines ``blp`` (a flask_smorest.Blueprint with url_prefix under /api/v1)."""

swagger_assets = Blueprint("swagger_assets", __name__)


@swagger_assets.get("/api/v1/static/swagger-ui/<path:filename>")
def swagger_file(filename: str):  # type: ignore[no-untyped-def]
    """Swagger UI's own files, from the swagger-ui-bundle package (never a CDN)."""
    import swagger_ui_bundle

    return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)


def _refuse_unknown_query_parameters() -> None:
    """webargs excludes unknown query parameters by default, overriding each schema's own
    ``unknown``; let the schemas decide (they raise), as the OpenAPI document promises."""
    from flask_smorest import Blueprint as SmorestBlueprint

    parser = SmorestBlueprint.ARGUMENTS_PARSER
    parser.DEFAULT_UNKNOWN_BY_LOCATION = {**parser.DEFAULT_UNKNOWN_BY_LOCATION, "query": None, "querystring": None}


class ProblemApi(Api):  # type: ignore[misc]
    """flask-smorest's Api without its generic ``default`` JSON error response: every operation
    declares its own problem responses as ``application/problem+json``."""

    DEFAULT_ERROR_RESPONSE_NAME = None


def init_app(app: Flask) -> Api:
    _refuse_unknown_query_parameters()
    api = ProblemApi(app, spec_kwargs={
        "info": {"description": "Catalogs, configurations, orders and production orders of the C2M configurator."},
    })
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "API token: c2m token create --scope ..."}
    )
    app.register_blueprint(swagger_assets)
    for name in API_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a module not written yet (development only)
            if exc.name != name:
                raise
            continue
        api.register_blueprint(module.blp)
    app.extensions["c2m.api"] = api
    return api
