"""The REST API under ``/api/v1`` (flask-smorest): OpenAPI at ``/api/v1/openapi.json``,
interactive docs at ``/api/v1/docs`` served from local files."""

from __future__ import annotations

import functools
import importlib
from typing import Any

from flask import Blueprint, Flask, send_from_directory
from flask_smorest import Api
from marshmallow import Schema

API_MODULES = (
    "web.api.catalog",
    "web.api.configurations",
    "web.api.orders",
    "web.api.erp",
    "web.api.master_data",
    "web.api.events",
    "web.api.webhooks",
)
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


def _manual_parameters_doc(doc: dict[str, Any], doc_info: dict[str, Any], **_: Any) -> dict[str, Any]:
    """Add the parameters given with ``@blp.doc(parameters=[...])`` to those the
    ``@blp.arguments`` schemas declare (flask-smorest would let the manual list replace them all)."""
    extra = doc_info.get("manual_parameters") or []
    if extra:
        manual = {(p.get("in"), p.get("name")) for p in extra if isinstance(p, dict)}
        kept = [
            p
            for p in doc.get("parameters", [])
            if not isinstance(p, dict) or (p.get("in"), p.get("name")) not in manual
        ]
        doc["parameters"] = kept + list(extra)  # a manual declaration replaces a generated one
    return doc


def _merge_manual_parameters(blueprint: Any) -> None:
    """Move each operation's manual ``parameters`` aside so :func:`_manual_parameters_doc` appends them."""
    for info in blueprint._docs.values():
        for method, operation in info.items():
            if method == "parameters" or not isinstance(operation, dict):
                continue
            manual = operation.get("manual_doc") or {}
            if "parameters" in manual:
                operation["manual_parameters"] = manual.pop("parameters")
    if _manual_parameters_doc not in blueprint._prepare_doc_cbks:
        blueprint._prepare_doc_cbks.append(_manual_parameters_doc)


def _share_schemas(blueprint: Any) -> None:
    """Let the copies of ``blueprint``'s documentation share its schema instances.

    flask-smorest deep-copies a blueprint's whole documentation when it registers
    it (so that registering it again, for another application, starts from the
    same source), and a deep copy of a marshmallow schema rebuilds all its fields.
    The documentation only reads the schemas, and the views already share these
    very instances to parse and dump, so each is its own deep copy: the
    documentation dictionaries are still copied, the schemas are not.
    """

    def share(node: Any) -> None:
        if isinstance(node, dict):
            for value in node.values():
                share(value)
        elif isinstance(node, list | tuple):
            for value in node:
                share(value)
        elif isinstance(node, Schema) and "__deepcopy__" not in vars(node):
            node.__deepcopy__ = functools.partial(_itself, node)  # type: ignore[attr-defined]

    share(blueprint._docs)


def _itself(schema: Schema, memo: dict[int, Any]) -> Schema:
    return schema


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
        _merge_manual_parameters(module.blp)
        _share_schemas(module.blp)
        api.register_blueprint(module.blp)
    _document_input_refusals(api)
    app.extensions["c2m.api"] = api
    return api


INPUT_REFUSALS = {
    "400": "Bad input anywhere in the request (a NUL character, a number out of range): web.inputs",
    "413": "The request body is larger than the body limit (chunked or not)",
    "415": "The body's Content-Type is not one this operation accepts",
    "422": "The body is not acceptable (validation, nesting, text or numbers out of range)",
    "429": "Too many requests: see Retry-After",
}
"""Problems ``web.inputs`` and ``web.limits`` may answer for any operation (before its view runs)."""


def _document_input_refusals(api: Api) -> None:
    """Add the problem responses every operation can give to each operation of the document."""
    paths = api.spec._paths  # apispec keeps the operations here until the document is rendered
    content: dict[str, object] | None = None
    methods = ("get", "post", "put", "patch", "delete")
    for operations in paths.values():
        for method, operation in operations.items():
            if method not in methods:
                continue
            for response in operation.get("responses", {}).values():
                if isinstance(response, dict) and "application/problem+json" in response.get("content", {}):
                    content = {"application/problem+json": response["content"]["application/problem+json"]}
                    break
    if content is None:
        return
    for operations in paths.values():
        for method, operation in operations.items():
            if method not in methods:
                continue
            responses = operation.setdefault("responses", {})
            statuses = ["400", "422", "429"]
            if method in ("post", "put", "patch"):
                statuses += ["413", "415"]
            for status in statuses:
                if status not in responses and int(status) not in responses:
                    responses[status] = {"description": INPUT_REFUSALS[status], "content": content}
