"""API: products on sale, catalogs, catalog upload and publishing.

``GET /products`` and ``GET /products/{code}`` are public (rate-limited) and
answer in the language of ``Accept-Language`` (``zh-CN`` or ``en``).
Uploading and publishing catalogs needs a token with scope ``catalog:write``.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request
from flask_smorest import Blueprint

from catalog.files import load_catalog_text
from catalog.services import (
    CatalogVersionInfo,
    import_catalog,
    list_catalogs,
    list_versions,
    load_version,
)
from catalog.snapshot import Attribute, AttributeKind, Product
from jobs.settings import broker_url
from usecases.catalogs import (
    LoadedCatalog,
    attribute_header,
    find_product,
    list_products,
    load_catalog,
    warm,
)
from usecases.compile_guard import check_catalog_compiles, current_limits
from usecases.compiled_models import prepare_version
from usecases.publishing import (
    ChecksFailed,
    Published,
    VersionChecks,
    compile_jobs_available,
    publish_checked,
    version_checks,
)
from usecases.version_diff import affected_records, diff_json, semantic_diff
from web import database
from web.api.http import problems_of
from web.api.schemas import (
    CatalogDiffSchema,
    CatalogSchema,
    CatalogVersionSchema,
    ProductDetailSchema,
    ProductPageQuerySchema,
    ProductPageSchema,
    PublishSchema,
    UploadQuerySchema,
)
from web.auth import authenticate, check_catalog, require_scope
from web.errors import ApiProblem
from web.limits import public

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


problems = problems_of(blp)


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


def _version(
    info: CatalogVersionInfo, checks: VersionChecks | None = None, *, findings: bool = True
) -> dict[str, Any]:
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
        "checks": checks.as_json(findings=findings) if checks is not None else None,
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
        checks = version_checks(session, info.code)
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
                    "versions": [
                        _version(v, checks.get(v.number), findings=False)
                        for v in list_versions(session, info.code)
                    ],
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
                "versions": [
                    {**_version(v, checks.get(v.number), findings=False), "source": None, "comment": None}
                    for v in in_force
                ],
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
    With ``publish=true`` every catalog check runs on the uploaded content first: an error stores
    nothing and answers 422 (reason ``checks_failed``, ``errors`` as linter lines, ``findings`` as
    objects); warnings are stored with the version (``checks``). ``skip_checks=true`` with a
    ``skip_reason`` publishes without checks (emergencies; logged and shown on the version).
    """
    from configurator.rules.catalog_check import expression_checker

    text, name = _upload_text()
    # CatalogInvalid (reason catalog_invalid) becomes 422 with every problem line in ``errors``.
    catalog = load_catalog_text(
        text, filename=name, expression_checker=expression_checker, limits=current_limits()
    )
    check_catalog(catalog.code)  # 403 for a token limited to another catalog
    session = database.session()
    if not query["publish"]:
        if query["skip_checks"]:
            raise ApiProblem(400, "bad_request", "skip_checks only applies with publish=true")
        # Before anything is stored: a model over the compile budget is refused (422,
        # catalog_too_complex). Publishing checks it inside publish_checked.
        check_catalog_compiles(catalog, session=session, defer=compile_jobs_available())
        info = import_catalog(session, catalog, source=name, publish=False, comment=query.get("comment"))
        session.commit()
        return _version(info)
    published = _publish_checked(
        session,
        catalog.code,
        catalog=catalog,
        source=name,
        comment=query.get("comment"),
        skip_checks=query["skip_checks"],
        skip_reason=query.get("skip_reason"),
    )
    _prepare(session, catalog.code, published.info.number)
    warm(catalog, published.info.content_hash)
    return _version(published.info, version_checks(session, catalog.code).get(published.info.number))


def _publish_checked(session: Any, code: str, **arguments: Any) -> Published:
    """``publish_checked`` with the API's errors: 422 ``checks_failed`` lists every finding."""
    token = g.get("api_token")
    actor = f"api:token {token.id} ({token.name})" if token is not None else "api"
    try:
        published = publish_checked(session, code, actor=actor, backend=_backend(), **arguments)
    except ChecksFailed as exc:
        session.rollback()
        raise ApiProblem(
            422,
            exc.reason,
            str(exc),
            errors=exc.errors,
            findings=exc.findings_json(),
        ) from None
    except Exception:
        session.rollback()
        raise
    session.commit()
    return published


def _prepare(session: Any, code: str, number: int) -> None:
    """Without a job engine, compile the published version's products now, once, and store them
    for every worker (``usecases.compiled_models``); with one, the after-publish hook has queued
    that job, and this request does not compile."""
    if broker_url() is None:
        prepare_version(session, code, number)


def _backend() -> str:
    return str(current_app.config.get("SOLVER_BACKEND") or "auto")


@blp.route("/catalogs/<code>/versions/<int:number>/publish", methods=["POST"])
@require_scope("catalog:write")
@blp.doc(security=SECURITY, summary="Publish a draft version (and compile its products)")
@blp.arguments(PublishSchema, required=False)
@blp.response(200, CatalogVersionSchema)
@problems(400, 401, 403, 404, 409, 422, 429)
def publish(body: dict[str, Any] | None, code: str, number: int) -> dict[str, Any]:
    """Run every catalog check on draft ``number`` of catalog ``code``, then publish it (write-once from then on).

    An error publishes nothing: 422, reason ``checks_failed``, with the findings. A draft changed
    while it was checked answers 409. The version's products are compiled right away, so the
    first buyer does not wait.
    """
    body = body or {}
    check_catalog(code)
    session = database.session()
    published = _publish_checked(
        session,
        code,
        number=number,
        valid_from=body.get("valid_from"),
        valid_to=body.get("valid_to"),
        skip_checks=body.get("skip_checks", False),
        skip_reason=body.get("skip_reason"),
    )
    _prepare(session, code, number)
    loaded = load_catalog(session, code, number)
    warm(loaded.catalog, loaded.content_hash)
    return _version(published.info, version_checks(session, code).get(number))


@blp.route("/catalogs/<code>/diff", methods=["GET"])
@require_scope("catalog:write")
@blp.doc(
    security=SECURITY,
    summary="Semantic diff between two versions (configurations only in A, only in B, in both)",
    parameters=[
        {
            "in": "query",
            "name": "from",
            "required": False,
            "schema": {"type": "integer", "minimum": 1},
            "description": "Version A (default: the version in force).",
        },
        {
            "in": "query",
            "name": "to",
            "required": False,
            "schema": {"type": "integer", "minimum": 1},
            "description": "Version B (default: the draft, else the latest version).",
        },
    ],
)
@blp.response(200, CatalogDiffSchema)
@problems(400, 401, 403, 404, 422)
def version_diff(code: str) -> dict[str, Any]:
    """Per product: exact counts of the configurations only in A, only in B and in both, an example of
    each side with the rules or values that make the difference, the largest price changes on a sample,
    and the saved configurations and open orders on A that B does not accept."""
    check_catalog(code)
    session = database.session()
    number_a, number_b = _diff_numbers(session, code)
    info_a, catalog_a = load_version(session, code, number_a, published_only=False)
    info_b, catalog_b = load_version(session, code, number_b, published_only=False)
    result = semantic_diff(catalog_a, catalog_b, backend=_backend())
    affected = affected_records(session, code, info_a.number, catalog_a, catalog_b, backend=_backend())
    return diff_json(result, affected, a=f"{code}@{info_a.number}", b=f"{code}@{info_b.number}")


def _diff_numbers(session: Any, code: str) -> tuple[int, int]:
    def number(name: str) -> int | None:
        raw = request.args.get(name)
        if raw is None or raw == "":
            return None
        if not raw.isdigit() or int(raw) < 1:
            raise ApiProblem(400, "bad_request", f"{name} must be a version number (1, 2, ...)", field=name)
        return int(raw)

    versions = list_versions(session, code)
    a, b = number("from"), number("to")
    if a is None:
        a = load_version(session, code)[0].number
    if b is None:
        draft = next((v for v in versions if v.is_draft), None)
        b = draft.number if draft is not None else versions[-1].number
    return a, b
