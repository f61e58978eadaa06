"""API: products on sale, catalogs, catalog upload and publishing.

``GET /products`` and ``GET /products/{code}`` are public (rate-limited) and
answer in the language of ``Accept-Language`` (``zh-CN`` or ``en``).
Uploading and publishing catalogs needs a token with scope ``catalog:write``.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_smorest import Blueprint

from catalog.files import load_catalog_text
from catalog.services import (
    CatalogVersionInfo,
    import_catalog,
    list_catalogs,
    list_versions,
    publish_version,
)
from catalog.snapshot import Attribute, AttributeKind, Product
from web import database
from web.api.schemas import (
    PROBLEM_JSON,
    CatalogSchema,
    CatalogVersionSchema,
    ProblemSchema,
    ProductDetailSchema,
    ProductPageQuerySchema,
    ProductPageSchema,
    PublishSchema,
    UploadQuerySchema,
)
from web.auth import authenticate, check_catalog, require_scope
from web.errors import ApiProblem
from web.limits import public
from web.services.catalogs import (
    LoadedCatalog,
    attribute_header,
    find_product,
    list_products,
    load_catalog,
    warm,
)
from web.services.compile_guard import check_catalog_compiles, current_limits, load_draft_catalog

blp = Blueprint("catalog", __name__, url_prefix="/api/v1", description="Products on sale and catalogs.")

LOCALES = ("en", "zh-CN")
ACCEPT_LANGUAGE = {
    "in": "header",
    "name": "Accept-Language",
    "required": False,
    "schema": {"type": "string"},
    "description": "zh-CN or en (default en): the language of labels and messages.",
}
SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}]
UPLOAD_TYPES = ("application/json", "application/yaml", "application/x-yaml", "text/yaml", "text/plain")


def request_locale() -> str:
    """The locale of the request from ``Accept-Language``: ``zh-CN`` or ``en``."""
    best = request.accept_languages.best_match(["en", "zh-CN", "zh", "zh-Hans", "zh-Hans-CN"], default="en")
    return "zh-CN" if best and best.lower().startswith("zh") else "en"


def problems(*statuses: int) -> Any:
    """Document the problem responses ``statuses`` of a view (application/problem+json)."""

    def decorate(view: Any) -> Any:
        for status in statuses:
            view = blp.alt_response(status, schema=ProblemSchema, content_type=PROBLEM_JSON)(view)
        return view

    return decorate


# --------------------------------------------------------------------------- rendering


def _attribute(attr: Attribute, locale: str) -> dict[str, Any]:
    values: list[dict[str, Any]] = []
    if attr.kind in (AttributeKind.ENUM, AttributeKind.SET):
        values = [
            {
                "value": c.code,
                "label": c.label.get(locale),
                "description": c.description.get(locale) if c.description else None,
            }
            for c in attr.choices
        ]
    default: Any = attr.default
    if attr.kind is AttributeKind.SET:
        default = sorted(attr.default_set) if attr.default_set is not None else None
    return {**attribute_header(attr, locale), "default": default, "values": values}


def _product_detail(loaded: LoadedCatalog, product: Product, locale: str) -> dict[str, Any]:
    return {
        "catalog": loaded.code,
        "version": loaded.number,
        "content_hash": loaded.content_hash,
        "code": product.code,
        "name": product.name.get(locale),
        "description": product.description.get(locale) if product.description else None,
        "image": product.image,
        "base_price": f"{product.base_price:.2f}",
        "currency": loaded.catalog.currency,
        "lead_time_days": product.lead_time_days,
        "groups": [{"code": g.code, "label": g.label.get(locale)} for g in product.groups],
        "attributes": [_attribute(a, locale) for a in product.attributes],
        "rules": [{"rule_id": r.id, "message": r.message.get(locale)} for r in product.rules],
        "prices": [{"rule_id": p.id, "label": p.label.get(locale)} for p in product.prices],
    }


def _version(info: CatalogVersionInfo) -> dict[str, Any]:
    return {
        "catalog": info.catalog_code,
        "number": info.number,
        "status": info.status.value,
        "content_hash": info.content_hash,
        "created_at": info.created_at,
        "published_at": info.published_at,
        "valid_from": info.valid_from,
        "valid_to": info.valid_to,
        "source": info.source,
        "comment": info.comment,
        "products": [
            {"code": p.code, "name": p.name.en, "base_price": f"{p.base_price:.2f}", "currency": p.currency}
            for p in info.products
        ],
    }


# --------------------------------------------------------------------------- products


@blp.route("/products", methods=["GET"])
@public
@blp.doc(parameters=[ACCEPT_LANGUAGE], summary="Products on sale")
@blp.arguments(ProductPageQuerySchema, location="query")
@blp.response(200, ProductPageSchema)
@problems(422, 429)
def products(query: dict[str, Any]) -> dict[str, Any]:
    """Every product of every catalog version in force, a page at a time (``page``, ``page_size``)."""
    listing = list_products(database.read_session(), request_locale())
    first = (query["page"] - 1) * query["page_size"]
    page = listing[first : first + query["page_size"]]
    return {
        "items": [
            {
                "catalog": p.catalog,
                "version": p.version,
                "code": p.code,
                "name": p.name,
                "description": p.description,
                "image": p.image,
                "base_price": f"{p.base_price:.2f}",
                "currency": p.currency,
                "lead_time_days": p.lead_time_days,
            }
            for p in page
        ],
        "page": query["page"],
        "page_size": query["page_size"],
        "total": len(listing),
    }


@blp.route("/products/<code>", methods=["GET"])
@public
@blp.doc(
    parameters=[
        ACCEPT_LANGUAGE,
        {
            "in": "query",
            "name": "catalog",
            "required": False,
            "schema": {"type": "string"},
            "description": "The catalog, when several sell a product with this code.",
        },
    ],
    summary="A product: attributes, values, groups, rules' messages, base price",
)
@blp.response(200, ProductDetailSchema)
@problems(404, 422, 429)
def product(code: str) -> dict[str, Any]:
    catalog_code = request.args.get("catalog") or None
    loaded, found = find_product(database.read_session(), code, catalog_code)
    return _product_detail(loaded, found, request_locale())


# --------------------------------------------------------------------------- catalogs


@blp.route("/catalogs", methods=["GET"])
@public
@blp.doc(summary="Catalogs on sale (every version with a catalog:write token)")
@blp.response(200, CatalogSchema(many=True))
@problems(401, 429)
def catalogs() -> list[dict[str, Any]]:
    """Catalogs on sale with the version in force; drafts, archived versions, sources and comments
    only with a token of scope ``catalog:write`` (limited to its catalog when the token is)."""
    session = database.read_session()
    token = authenticate(database.session())
    insider = token is not None and "catalog:write" in token.scopes.split()
    out: list[dict[str, Any]] = []
    for info in list_catalogs(session):
        if insider:
            if token is not None and token.catalog_code not in (None, info.code):
                continue
            out.append(
                {
                    "code": info.code,
                    "name": info.name.get(request_locale()),
                    "current_version": info.current_number,
                    "latest_version": info.latest_number,
                    "draft_version": info.draft_number,
                    "versions": [_version(v) for v in list_versions(session, info.code)],
                }
            )
            continue
        if info.current_number is None:
            continue  # nothing on sale: the catalog's existence is not public
        in_force = [v for v in list_versions(session, info.code) if v.number == info.current_number]
        out.append(
            {
                "code": info.code,
                "name": info.name.get(request_locale()),
                "current_version": info.current_number,
                "latest_version": info.current_number,
                "draft_version": None,
                "versions": [{**_version(v), "source": None, "comment": None} for v in in_force],
            }
        )
    return out


def _upload_text() -> tuple[str, str]:
    """The uploaded catalog text and a file name for problem positions."""
    upload = request.files.get("file")
    if upload is not None:
        raw = upload.read()
        name = upload.filename or "upload"
    else:
        if request.files or request.form:
            raise ApiProblem(400, "bad_request", "multipart uploads carry the catalog in a part named 'file'")
        raw = request.get_data(cache=False)
        mimetype = request.mimetype or ""
        if mimetype.startswith("multipart/"):
            raise ApiProblem(400, "bad_request", "multipart uploads carry the catalog in a part named 'file'")
        name = "upload.json" if mimetype.endswith("json") else "upload.yaml"
    if not raw.strip():
        raise ApiProblem(400, "bad_request", "the request carries no catalog: send YAML or JSON as the body")
    try:
        return raw.decode("utf-8"), name
    except UnicodeDecodeError as exc:
        raise ApiProblem(
            422,
            "catalog_invalid",
            f"the catalog is not valid UTF-8 (byte {exc.start})",
            errors=[
                f"{name}:0:0: the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save it as UTF-8"
            ],
        ) from None


UPLOAD_BODY = {
    "required": True,
    "description": "A c2m-catalog/1 file as YAML or JSON, as the body or as the multipart part 'file'.",
    "content": {
        "application/json": {"schema": {"type": "object"}},
        "application/yaml": {"schema": {"type": "string"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            }
        },
    },
}


@blp.route("/catalogs", methods=["POST"])
@require_scope("catalog:write")
@blp.doc(security=SECURITY, requestBody=UPLOAD_BODY, summary="Upload a catalog file (new draft version)")
@blp.arguments(UploadQuerySchema, location="query")
@blp.response(201, CatalogVersionSchema)
@problems(400, 401, 403, 409, 413, 415, 422, 429)
def upload_catalog(query: dict[str, Any]) -> dict[str, Any]:
    """Validate and import a catalog file as the catalog's draft (published at once with ``?publish=true``).

    Every problem in the file is listed in ``errors`` as ``FILE:LINE:COL: message`` (422, reason ``catalog_invalid``).
    """
    from configurator.rules.catalog_check import expression_checker

    text, name = _upload_text()
    # CatalogInvalid (reason catalog_invalid) becomes 422 with every problem line in ``errors``.
    catalog = load_catalog_text(
        text, filename=name, expression_checker=expression_checker, limits=current_limits()
    )
    check_catalog(catalog.code)  # 403 for a token limited to another catalog
    # Before anything is stored: a model over the compile budget is refused (422, catalog_too_complex).
    check_catalog_compiles(catalog)
    session = database.session()
    info = import_catalog(
        session, catalog, source=name, publish=query["publish"], comment=query.get("comment")
    )
    session.commit()
    if query["publish"]:
        warm(catalog, info.content_hash)
    return _version(info)


@blp.route("/catalogs/<code>/versions/<int:number>/publish", methods=["POST"])
@require_scope("catalog:write")
@blp.doc(security=SECURITY, summary="Publish a draft version (and compile its products)")
@blp.arguments(PublishSchema, required=False)
@blp.response(200, CatalogVersionSchema)
@problems(400, 401, 403, 404, 409, 422, 429)
def publish(body: dict[str, Any] | None, code: str, number: int) -> dict[str, Any]:
    """Publish version ``number`` of catalog ``code``; from then on it is write-once.

    The version's products are compiled right away, so the first buyer does not wait.
    """
    body = body or {}
    check_catalog(code)
    session = database.session()
    # The budget may have been lowered since the draft was stored: check again before publishing.
    check_catalog_compiles(load_draft_catalog(session, code, number))
    info = publish_version(
        session, code, number, valid_from=body.get("valid_from"), valid_to=body.get("valid_to")
    )
    session.commit()
    loaded = load_catalog(session, code, number)
    warm(loaded.catalog, loaded.content_hash)
    return _version(info)
