"""Published catalogs for the storefront and the API, and their compiled configurators.

Everything a request needs from a catalog goes through here:

- :func:`load_catalog` reads which version is in force (or a pinned number)
  with one small query; the version's *content* is parsed only the first time
  its content hash is seen in this process (documents are immutable once
  published, so the hash is a perfect cache key).
- :func:`get_configurator` hands out one :class:`configurator.Configurator`
  per (content hash, product), built once per process and kept in a
  thread-safe LRU; :func:`warm` builds them all right after publishing.
- :func:`list_products` is the storefront's product listing: every product of
  every catalog that has a version in force, with labels in one locale.

Only published versions are ever returned: drafts stay in the workspace.
Asking for a pinned ``number`` also returns archived versions, because saved
configurations and orders keep pointing at them.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from threading import Lock
from typing import Generic, TypeVar

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, defer

from catalog.errors import CatalogError
from catalog.files import catalog_from_document
from catalog.models import CatalogRecord, CatalogVersion, VersionStatus
from catalog.services import CatalogNotFound, ContentHashMismatch, VersionNotFound
from catalog.snapshot import Attribute, AttributeKind, Catalog, Label, Product
from configurator import Configurator, ConfiguratorError, load_product
from configurator.backends.base import CompileBudgetExceeded, SearchLimitExceeded
from configurator.engine import ModelNotCompiled
from usecases.instrumentation import timed, timed_call
from usecases.settings import current_settings

__all__ = [
    "AmbiguousProduct",
    "LoadedCatalog",
    "LruCache",
    "ModelTooLarge",
    "ProductListing",
    "ProductNotFound",
    "catalogs_in_force",
    "cache_info",
    "clear_caches",
    "find_product",
    "get_configurator",
    "label",
    "list_products",
    "load_catalog",
    "load_pinned",
    "warm",
]

CATALOG_CACHE_SIZE = 32
"""Parsed catalog contents kept per process (one per content hash)."""
CONFIGURATOR_CACHE_SIZE = 64
"""Compiled configurators kept per process (one per content hash and product)."""

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LruCache(Generic[K, V]):
    """A small thread-safe LRU map (functools.lru_cache cannot key on a value we
    compute after a database read, nor build outside its lock).

    >>> cache: LruCache[str, int] = LruCache(1)
    >>> cache.put("a", 1), cache.put("b", 2), cache.get("a"), cache.get("b")
    (1, 2, None, 2)
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._data.get(key)
            if value is None:
                self.misses += 1
                return None
            self.hits += 1
            self._data.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> V:
        """Store ``value`` unless another thread stored one first; return the one kept."""
        with self._lock:
            kept = self._data.setdefault(key, value)
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)
            return kept

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._data)


_catalogs: LruCache[str, Catalog] = LruCache(CATALOG_CACHE_SIZE)
_configurators: LruCache[tuple[str, str, str], Configurator] = LruCache(CONFIGURATOR_CACHE_SIZE)
_too_large: LruCache[tuple[str, str, str], ModelTooLarge] = LruCache(CONFIGURATOR_CACHE_SIZE)
# Building a configurator compiles a decision diagram (a few hundred ms): one lock
# per key would be finer, but builds are rare (once per version and product per
# process) and a global build lock keeps two threads from compiling the same model.
_build_lock = Lock()


class AmbiguousProduct(CatalogError):
    """Several catalogs in force have a product with this code: the caller must name the catalog."""

    reason = "ambiguous_product"

    def __init__(self, code: str, catalogs: tuple[str, ...]) -> None:
        super().__init__(f"product {code!r} is in several catalogs ({', '.join(catalogs)}): name the catalog")
        self.code = code
        self.catalogs = catalogs


class ProductNotFound(CatalogError):
    """No catalog in force has a product with this code."""

    reason = "product_not_found"

    def __init__(self, code: str, catalog: str | None = None) -> None:
        where = f"catalog {catalog!r}" if catalog else "any catalog in force"
        super().__init__(f"no product {code!r} in {where}")
        self.code = code
        self.catalog = catalog


@dataclass(frozen=True, slots=True)
class LoadedCatalog:
    """A published version and its (cached, immutable) content."""

    code: str
    number: int
    status: str
    """"published" or "archived"."""
    content_hash: str
    valid_from: datetime | None
    valid_to: datetime | None
    catalog: Catalog

    def product(self, code: str) -> Product:
        """The product ``code`` of this version, or :class:`ProductNotFound` (404)."""
        try:
            return self.catalog.product(code)
        except KeyError:
            raise ProductNotFound(code, self.code) from None


@dataclass(frozen=True, slots=True)
class ProductListing:
    """One product as the storefront lists it, labels already in the wanted locale."""

    catalog: str
    version: int
    content_hash: str
    code: str
    name: str
    description: str | None
    image: str | None
    base_price: Decimal
    currency: str
    lead_time_days: int


def _now() -> datetime:
    return datetime.now(UTC)


def _content(version: CatalogVersion, session: Session) -> Catalog:
    cached = _catalogs.get(version.content_hash)
    if cached is not None:
        return cached
    # The document column is deferred: read it only on a cache miss.
    document = session.scalar(select(CatalogVersion.document).where(CatalogVersion.id == version.id))
    assert document is not None
    return _catalogs.put(version.content_hash, catalog_from_document(json.loads(document)))


def _loaded(version: CatalogVersion, code: str, session: Session) -> LoadedCatalog:
    return LoadedCatalog(
        code=code,
        number=version.number,
        status=version.status,
        content_hash=version.content_hash,
        valid_from=version.valid_from,
        valid_to=version.valid_to,
        catalog=_content(version, session),
    )


def load_catalog(
    session: Session, code: str, number: int | None = None, *, at: datetime | None = None
) -> LoadedCatalog:
    """The published version of catalog ``code`` in force at ``at`` (default now), or version ``number``.

    :raise CatalogNotFound: no catalog ``code`` (404).
    :raise VersionNotFound: no version in force, or ``number`` is unknown or a draft (404).
    """
    record = session.scalars(select(CatalogRecord).where(CatalogRecord.code == code)).one_or_none()
    if record is None:
        raise CatalogNotFound(code)
    query = (
        select(CatalogVersion)
        .options(defer(CatalogVersion.document))
        .where(CatalogVersion.catalog_id == record.id)
    )
    if number is not None:
        version = session.scalars(query.where(CatalogVersion.number == number)).one_or_none()
        if version is None or version.status == VersionStatus.DRAFT.value:
            raise VersionNotFound(code, number, f"catalog {code!r} has no published version {number}")
        return _loaded(version, code, session)
    moment = at or _now()
    version = session.scalars(
        query.where(
            CatalogVersion.status == VersionStatus.PUBLISHED.value,
            CatalogVersion.valid_from <= moment,
            or_(CatalogVersion.valid_to.is_(None), CatalogVersion.valid_to > moment),
        )
        .order_by(CatalogVersion.valid_from.desc(), CatalogVersion.number.desc())
        .limit(1)
    ).first()
    if version is None:
        raise VersionNotFound(code, None, f"catalog {code!r} has no published version in force")
    return _loaded(version, code, session)


def load_pinned(session: Session, code: str, number: int, content_hash: str) -> LoadedCatalog:
    """Version ``number`` of ``code`` for a row that pinned it with ``content_hash``.

    The version's status and validity are read from the database on every call
    (an archived version must be refused at once, in every process); only the
    immutable content comes from the cache, by its hash.

    :raise ContentHashMismatch: the stored version's hash differs from the pinned one.
    """
    loaded = load_catalog(session, code, number)
    if loaded.content_hash != content_hash:
        raise ContentHashMismatch(code, number, content_hash, loaded.content_hash)
    return loaded


def catalogs_in_force(session: Session, *, at: datetime | None = None) -> list[LoadedCatalog]:
    """Every catalog that has a published version in force, by code."""
    out: list[LoadedCatalog] = []
    for code in session.scalars(select(CatalogRecord.code).order_by(CatalogRecord.code)):
        try:
            out.append(load_catalog(session, code, at=at))
        except VersionNotFound:
            continue
    return out


def list_products(
    session: Session, locale: str = "en", *, at: datetime | None = None
) -> list[ProductListing]:
    """Every product of every catalog in force, in catalog then file order, labelled in ``locale``."""
    out: list[ProductListing] = []
    for loaded in catalogs_in_force(session, at=at):
        for product in loaded.catalog.products:
            out.append(
                ProductListing(
                    catalog=loaded.code,
                    version=loaded.number,
                    content_hash=loaded.content_hash,
                    code=product.code,
                    name=product.name.get(locale),
                    description=product.description.get(locale) if product.description else None,
                    image=product.image,
                    base_price=product.base_price,
                    currency=loaded.catalog.currency,
                    lead_time_days=product.lead_time_days,
                )
            )
    return out


def find_product(
    session: Session, product_code: str, catalog_code: str | None = None, *, at: datetime | None = None
) -> tuple[LoadedCatalog, Product]:
    """The catalog in force that sells ``product_code`` (in ``catalog_code`` when given) and the product.

    :raise ProductNotFound: no such product in force (404).
    :raise AmbiguousProduct: several catalogs sell it and ``catalog_code`` is not given (422).
    """
    if catalog_code is not None:
        loaded = load_catalog(session, catalog_code, at=at)
        return loaded, loaded.product(product_code)
    matches = [
        c
        for c in catalogs_in_force(session, at=at)
        if any(p.code == product_code for p in c.catalog.products)
    ]
    if not matches:
        raise ProductNotFound(product_code)
    if len(matches) > 1:
        raise AmbiguousProduct(product_code, tuple(c.code for c in matches))
    return matches[0], matches[0].product(product_code)


class ModelTooLarge(ConfiguratorError):
    """A product's model does not compile within the configured budget (``C2M_COMPILE_BUDGET_S``,
    ``C2M_COMPILE_NODE_BUDGET``): the product cannot be configured; the rest of the shop is unaffected."""

    reason = "model_too_large"

    def __init__(self, product: str, content_hash: str, detail: str) -> None:
        super().__init__(
            f"product {product!r} cannot be configured right now: its model does not compile "
            f"within the budget ({detail}); the manufacturer must simplify it or raise the budget"
        )
        self.product = product
        self.content_hash = content_hash


def _settings(backend: str | None) -> tuple[str, int | None, float | None]:
    """The backend and compile budgets: explicit arguments, else the app's settings, else the engine's."""
    config = current_settings()
    if config is None:
        return backend or "auto", None, None
    chosen = backend or str(config.get("SOLVER_BACKEND") or "auto")
    return chosen, config.get("COMPILE_NODE_BUDGET"), config.get("COMPILE_BUDGET_S")


def _instrument(built: Configurator) -> Configurator:
    """Time the engine's public operations (``usecases.instrumentation``)."""
    for name in ("state", "explain", "repair", "complete", "count", "validate"):
        setattr(built, name, timed_call(name)(getattr(built, name)))
    return built


def get_configurator(
    catalog: Catalog, product_code: str, content_hash: str, *, backend: str | None = None
) -> Configurator:
    """The configurator of ``product_code`` in ``catalog`` (whose content hash is ``content_hash``).

    Built once per process and (hash, product, backend), then shared: the
    engine is stateless per call, so one instance serves every request.
    ``backend`` defaults to the app's ``SOLVER_BACKEND``; compilation is bounded
    by ``COMPILE_NODE_BUDGET`` / ``COMPILE_BUDGET_S`` when set. A model that
    exceeds them is remembered, so later requests fail at once instead of
    compiling again (the version's content never changes).

    :raise UnknownProduct: the catalog has no such product (404 via its reason).
    :raise ModelTooLarge: the model does not compile within the budget (503).
    """
    chosen, node_budget, time_budget_s = _settings(backend)
    key = (content_hash, product_code, chosen)
    hit = _configurators.get(key)
    if hit is not None:
        return hit
    failed = _too_large.get(key)
    if failed is not None:
        raise failed
    with _build_lock:
        hit = _configurators.get(key)
        if hit is not None:
            return hit
        try:
            with timed("compile"):
                built = load_product(
                    catalog,
                    product_code,
                    catalog_key=content_hash,
                    backend=chosen,
                    node_budget=node_budget,
                    time_budget_s=time_budget_s,
                )
        except (CompileBudgetExceeded, SearchLimitExceeded, ModelNotCompiled) as exc:
            # SearchLimitExceeded here: the SAT fallback refuses a rule spanning too many combinations;
            # ModelNotCompiled: no backend of the chain compiled the model within its budget
            error = ModelTooLarge(product_code, content_hash, str(exc))
            _too_large.put(key, error)
            raise error from None
        return _configurators.put(key, _instrument(built))


def warm(catalog: Catalog, content_hash: str, *, backend: str | None = None) -> int:
    """Compile every product of a just-published version so the first buyer does not wait.

    Returns the number of products compiled (a product over the compile budget
    is skipped: its buyers get :class:`ModelTooLarge`). The parsed content is cached too.
    """
    _catalogs.put(content_hash, catalog)
    compiled = 0
    for product in catalog.products:
        try:
            get_configurator(catalog, product.code, content_hash, backend=backend)
        except ModelTooLarge:
            continue
        compiled += 1
    return compiled


def cache_info() -> dict[str, int]:
    """Sizes and hit counts of the per-process caches (for diagnostics and tests)."""
    return {
        "catalogs": len(_catalogs),
        "catalog_hits": _catalogs.hits,
        "catalog_misses": _catalogs.misses,
        "configurators": len(_configurators),
        "configurator_hits": _configurators.hits,
        "configurator_misses": _configurators.misses,
    }


def clear_caches() -> None:
    """Forget every parsed catalog and configurator (tests)."""
    _catalogs.clear()
    _configurators.clear()
    _too_large.clear()


def label(text: Label | None, locale: str) -> str | None:
    """``text`` in ``locale`` (None stays None).

    >>> label(Label("Frame", "车架"), "zh-CN"), label(None, "en")
    ('车架', None)
    """
    return text.get(locale) if text is not None else None


def _bounds(attr: Attribute) -> dict[str, object]:
    """min, max and step; a decimal attribute's as exact text ("72.5") with its places."""
    if attr.kind is AttributeKind.DECIMAL:
        def text(scaled: int | None) -> str | None:
            return None if scaled is None else format(Decimal(scaled).scaleb(-attr.places), "f")

        return {"min": text(attr.minimum), "max": text(attr.maximum), "step": text(attr.step), "places": attr.places}
    return {
        "min": attr.minimum,
        "max": attr.maximum,
        "step": attr.step if attr.kind is AttributeKind.INT else None,
    }


def attribute_header(attr: Attribute, locale: str) -> dict[str, object]:
    """The catalog facts of an attribute as the API shows them (product detail and state alike)."""
    return {
        "code": attr.code,
        "label": attr.label.get(locale),
        "description": attr.description.get(locale) if attr.description else None,
        "kind": attr.kind.value,
        "group": attr.group,
        "unit": attr.unit,
        **_bounds(attr),
        "min_count": attr.min_count if attr.kind is AttributeKind.SET else None,
        "max_count": attr.max_count if attr.kind is AttributeKind.SET else None,
    }
