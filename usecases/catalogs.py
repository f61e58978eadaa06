"""Published catalogs for the storefront and the API, and their compiled configurators.

Everything a request needs from a catalog goes through here:

- :func:`load_catalog` reads which version is in force (or a pinned number)
  through :class:`catalog.repository.CatalogRepository`, the one place that
  query lives; status and validity are read from the database on every call.
  The version's *content* is parsed only the first time its content hash is
  seen by the application's caches (documents are immutable once published,
  so the hash is a perfect cache key).
- :func:`get_configurator` hands out one :class:`configurator.Configurator`
  per (content hash, product, backend), loaded from the stored compiled model
  (:mod:`usecases.compiled_models`) or compiled, and kept in the application's
  :class:`ModelCaches`; :func:`warm` loads them all in a new worker.
- :func:`list_products` is the storefront's product listing: every product of
  every catalog that has a version in force, with labels in one locale.

Only published versions are ever returned: drafts stay in the workspace.
Asking for a pinned ``number`` also returns archived versions, because saved
configurations and orders keep pointing at them.
"""

from __future__ import annotations

import gc
import itertools
import json
import logging
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from threading import Lock
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from catalog.errors import CatalogError
from catalog.files import catalog_from_document
from catalog.models import CatalogVersion, VersionStatus
from catalog.repository import CatalogRepository
from catalog.services import CatalogNotFound, ContentHashMismatch, VersionNotFound
from catalog.snapshot import Attribute, AttributeKind, Catalog, Label, Product
from configurator import AnyDecision, Configurator, ConfiguratorError, State, load_product
from configurator.artifacts import ArtifactInvalid
from configurator.errors import BudgetExceeded
from usecases.caching import BoundedCache
from usecases.compiled_models import OUTDATED, ArtifactStore, ModelPreparing, StoredModel
from usecases.instrumentation import timed, timed_call
from usecases.settings import current_settings

if TYPE_CHECKING:
    from usecases.configurations import InvalidDecision, RenderedState

__all__ = [
    "AmbiguousProduct",
    "LoadedCatalog",
    "ModelCaches",
    "ModelPreparing",
    "ModelTooLarge",
    "ProductListing",
    "ProductNotFound",
    "catalogs_in_force",
    "cache_info",
    "clear_caches",
    "current_caches",
    "find_product",
    "get_configurator",
    "label",
    "list_products",
    "load_catalog",
    "load_pinned",
    "set_caches_source",
    "warm",
]

log = logging.getLogger("usecases.catalogs")

CATALOG_CACHE_SIZE = 32
"""Parsed catalog contents kept per process (one per content hash)."""
CONFIGURATOR_CACHE_SIZE = 64
"""Compiled configurators kept per process (one per content hash and product)."""
STATE_CACHE_SIZE = 1024
"""Computed states (and their documents, renderings, validated histories) kept per process, each."""
ORDER_CACHE_SIZE = 256
"""Computed orders of complete configurations kept per process (each holds a BOM and its documents)."""
FREEZE_MIN_VARIABLES = 1000
"""Models of at least this many solver variables are moved out of the garbage collector's generations
once their configurator is cached (the ``GC_FREEZE`` setting, on by default; see :func:`_freeze`)."""

Decisions = tuple[AnyDecision, ...]
StateKey = tuple[str, str, Decisions]
"""(content hash, product, decisions): a state is a pure function of these."""
DocumentKey = tuple[str, str, Hashable, str, bool]
"""(content hash, product, history and its origins, locale, with reasons)."""
Validated = tuple[tuple[Any, ...], Decisions, "tuple[InvalidDecision, ...]", tuple[str, ...]]
"""A stored history read against a version: raw entries, valid decisions, invalid entries, origins."""


_serials = itertools.count(1)


class ModelCaches:
    """The caches of the catalog use cases, created once per application and injected.

    - ``catalogs``: parsed catalog content by content hash;
    - ``configurators``: compiled configurators by model key and backend;
    - ``too_large``: models known not to compile within the budget (by the same key);
    - ``states``, ``soft_states``: engine states by (content hash, product, decisions),
      the latter with the origins of "Finish for me" entries;
    - ``validations``: a stored history (its JSON text) validated against a version;
    - ``documents``, ``rendered``: state documents and their JSON bytes, by state key,
      locale and whether reasons are included;
    - ``orders``: what an order of a complete configuration computes before it is stored
      (validation, price, BOM, routing, schedule and their documents), by content hash,
      product, values, quantity, texts, day and work calendar (``usecases.orders``).

    Every key names immutable content (a published version never changes), so
    no entry goes stale and none is ever invalidated.

    With an ``artifacts`` store (:class:`usecases.compiled_models.ArtifactStore`),
    a configurator missing here is loaded from its stored compiled model, and
    one compiled here is stored for the other processes.
    """

    def __init__(
        self,
        *,
        catalog_size: int = CATALOG_CACHE_SIZE,
        configurator_size: int = CONFIGURATOR_CACHE_SIZE,
        state_size: int = STATE_CACHE_SIZE,
        artifacts: ArtifactStore | None = None,
    ) -> None:
        self.catalogs: BoundedCache[str, Catalog] = BoundedCache("catalogs", catalog_size)
        self.configurators: BoundedCache[tuple[str, str, str], Configurator] = BoundedCache(
            "configurators", configurator_size
        )
        self.too_large: BoundedCache[tuple[str, str, str], ModelTooLarge] = BoundedCache(
            "too_large", configurator_size
        )
        self.states: BoundedCache[StateKey, State] = BoundedCache("states", state_size)
        self.soft_states: BoundedCache[tuple[str, str, Decisions, tuple[str, ...]], State] = BoundedCache(
            "soft_states", state_size
        )
        self.validations: BoundedCache[tuple[str, str, str], Validated] = BoundedCache("validations", state_size)
        self.documents: BoundedCache[DocumentKey, dict[str, Any]] = BoundedCache("documents", state_size)
        self.rendered: BoundedCache[DocumentKey, RenderedState] = BoundedCache("rendered", state_size)
        self.orders: BoundedCache[Hashable, Any] = BoundedCache("orders", ORDER_CACHE_SIZE)
        self.artifacts = artifacts
        self.artifact_loads = 0
        self.artifact_rejects = 0
        self.compiles = 0
        self.clears = 0
        self.serial = next(_serials)
        """How many times :meth:`clear` dropped every entry (a frozen heap must then be unfrozen)."""
        # Building a configurator compiles a model (or loads its artifact): one lock per
        # key would be finer, but builds are rare (once per model per process) and one
        # lock keeps two threads from compiling the same model.
        self.build_lock = Lock()

    def stats(self) -> dict[str, object]:
        """Entries, hits, misses and evictions of every cache, plus how configurators were obtained."""
        return {
            "caches": [c.stats().as_dict() for c in self._all()],
            "artifact_loads": self.artifact_loads,
            "artifact_rejects": self.artifact_rejects,
            "compiles": self.compiles,
            "artifact_store": self.artifacts is not None,
            "gc_frozen_objects": gc.get_freeze_count(),
        }

    def _all(self) -> tuple[BoundedCache[Any, Any], ...]:
        return (
            self.catalogs,
            self.configurators,
            self.too_large,
            self.states,
            self.soft_states,
            self.validations,
            self.documents,
            self.rendered,
            self.orders,
        )

    def clear(self) -> None:
        for cache in self._all():
            cache.clear()
        self.artifact_loads = self.artifact_rejects = self.compiles = 0
        self.clears += 1


CachesSource = Callable[[], "ModelCaches | None"]


def _no_source() -> ModelCaches | None:
    return None


_source: CachesSource = _no_source
_standalone: ModelCaches | None = None
_standalone_lock = Lock()


def set_caches_source(source: CachesSource) -> None:
    """Install where the use cases find their caches (the web app: its own :class:`ModelCaches`)."""
    global _source
    _source = source


def current_caches() -> ModelCaches:
    """The caches of the running application; outside one (scripts, doctests), one
    per process without an artifact store, made on first use."""
    global _standalone
    caches = _source()
    if caches is not None:
        return caches
    with _standalone_lock:
        if _standalone is None:
            _standalone = ModelCaches()
        return _standalone


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
    caches = current_caches().catalogs
    cached = caches.get(version.content_hash)
    if cached is not None:
        return cached
    # The document column is deferred: read it only on a cache miss.
    document = CatalogRepository(session).document(version.id)
    return caches.put(version.content_hash, catalog_from_document(json.loads(document)))


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
    repo = CatalogRepository(session)
    # One query (the catalog joined) on the way that succeeds; which of catalog or version is
    # missing is asked only when there is none.
    if number is not None:
        version = repo.by_code(code, number)
        if version is None or version.status == VersionStatus.DRAFT.value:
            if repo.get(code) is None:
                raise CatalogNotFound(code)
            raise VersionNotFound(code, number, f"catalog {code!r} has no published version {number}")
        return _loaded(version, code, session)
    version = repo.effective_by_code(code, at or _now())
    if version is None:
        if repo.get(code) is None:
            raise CatalogNotFound(code)
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
    for code in [record.code for record in CatalogRepository(session).all()]:
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


def solver_settings(backend: str | None = None) -> tuple[str, int | None, float | None]:
    """The backend name and compile budgets (node, seconds) the use cases compile with."""
    return _settings(backend)


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


_freeze_lock = Lock()
_last_freeze: tuple[int, int, int] | None = None
"""(serial number of the caches, their configurator and catalog evictions, their clears) at this process's last freeze."""


def _freeze(caches: ModelCaches, built: Configurator) -> None:
    """Move what the process keeps (a large model's configurator, its catalog) out of the collector's
    generations, so that clicks stop paying full collections over objects that live as long as the cache.

    A large model holds about a million objects (Automotive02_V4: its constraints, the catalog, the
    compiled form); every full collection walked them all, pausing clicks for up to a second. Frozen
    objects are never collected as cycles (reference counting still frees the others), so: the young
    generations are collected before each freeze, only models of at least :data:`FREEZE_MIN_VARIABLES`
    variables are frozen (small ones cost the collector little), and once a configurator or catalog has
    left the caches since the last freeze (evicted, cleared, or another set of caches froze last),
    everything is unfrozen first and fully collected, so the dropped entries are reclaimed: what stays
    frozen is bounded by what the caches hold (plus old garbage present at a freeze, until the next
    unfreeze).
    """
    global _last_freeze
    config = current_settings() or {}
    if not config.get("GC_FREEZE", True) or len(built.model.variables) < FREEZE_MIN_VARIABLES:
        return
    mark = (caches.serial, caches.configurators.evictions + caches.catalogs.evictions, caches.clears)
    with _freeze_lock, timed("gc_freeze"):
        if _last_freeze is not None and _last_freeze != mark:
            gc.unfreeze()
            gc.collect()  # a full pass: what left the caches is reclaimed now
        else:
            # The young generations only: a full pass walks the whole heap (0.9 s on Automotive02_V4)
            # and finds nothing there after a build; old garbage is frozen until the next unfreeze.
            gc.collect(1)
        gc.freeze()
        _last_freeze = mark


def _keep(caches: ModelCaches, key: tuple[str, str, str], built: Configurator) -> Configurator:
    """Cache a configurator built here (instrumented) and freeze a large one (see :func:`_freeze`)."""
    kept = caches.configurators.put(key, _instrument(built))
    if kept is built:
        _freeze(caches, built)
    return kept


def get_configurator(
    catalog: Catalog,
    product_code: str,
    content_hash: str,
    *,
    backend: str | None = None,
    caches: ModelCaches | None = None,
) -> Configurator:
    """The configurator of ``product_code`` in ``catalog`` (whose content hash is ``content_hash``).

    Built once per process and (hash, product, backend), then shared: the
    engine is stateless per call, so one instance serves every request.
    ``caches`` defaults to the application's (:func:`current_caches`). On a
    miss the compiled model is loaded from the artifact store when it holds
    it (:func:`usecases.compiled_models.prepare` writes it off the request
    path); otherwise it is compiled here, as for a version never prepared.
    A stored artifact that fails its checks, or one of an older artifact format
    only, is logged naming its record, never used, and replaced by the
    compilation done here (stored in the current format). A large model's
    configurator is moved out of the garbage collector's generations once
    cached (:func:`_freeze`).
    ``backend`` defaults to the app's ``SOLVER_BACKEND``; compilation is bounded
    by ``COMPILE_NODE_BUDGET`` / ``COMPILE_BUDGET_S`` when set. A model that
    exceeds them is remembered, so later requests fail at once instead of
    compiling again (the version's content never changes).

    :raise UnknownProduct: the catalog has no such product (404 via its reason).
    :raise ModelTooLarge: the model does not compile within the budget (503).
    :raise ModelPreparing: another process is compiling it right now (503, Retry-After).
    """
    caches = caches or current_caches()
    chosen, node_budget, time_budget_s = _settings(backend)
    key = (content_hash, product_code, chosen)
    hit = caches.configurators.get(key)
    if hit is not None:
        return hit
    failed = caches.too_large.get(key)
    if failed is not None:
        raise failed
    with caches.build_lock:
        hit = caches.configurators.peek(key)
        if hit is not None:
            return hit
        try:
            product = catalog.product(product_code)
        except KeyError:
            product = None  # load_product below raises UnknownProduct with suggestions
        stored = None
        if caches.artifacts is not None and product is not None:
            stored = caches.artifacts.find(content_hash, product_code, chosen)
            built = _from_store(caches, stored, catalog, product, content_hash, key)
            if built is not None:
                return _keep(caches, key, built)
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
        except BudgetExceeded as exc:
            # No backend of the chain compiled the model within its budget (or a rule spans more
            # value combinations than any backend tabulates).
            error = ModelTooLarge(product_code, content_hash, str(exc))
            caches.too_large.put(key, error)
            raise error from None
        caches.compiles += 1
        if stored is not None and stored.status in ("ready", OUTDATED) and product is not None:
            # The stored artifact was rejected (damaged, or of an older format): store this compilation.
            assert caches.artifacts is not None
            _store(caches.artifacts, catalog, product, content_hash, chosen, built)
        return _keep(caches, key, built)


def _from_store(
    caches: ModelCaches,
    stored: StoredModel | None,
    catalog: Catalog,
    product: Product,
    content_hash: str,
    key: tuple[str, str, str],
) -> Configurator | None:
    """The configurator of a stored compiled model, or None when it must be compiled here."""
    if stored is None or stored.abandoned:
        return None
    if stored.status == OUTDATED:
        # Written by an older release: never read (its layout may mean something else now).
        caches.artifact_rejects += 1
        log.warning("compiled model record %s (%s:%s): %s; compiling the model again", stored.record_id,
                    content_hash, product.code, stored.detail)
        return None
    if stored.status == "preparing":
        raise ModelPreparing(product.code, content_hash, stored.updated_at)
    if stored.status == "failed":
        error = ModelTooLarge(product.code, content_hash, stored.detail or "stored as over the budget")
        caches.too_large.put(key, error)
        raise error
    assert caches.artifacts is not None
    try:
        with timed("artifact_load"):
            built = caches.artifacts.load(stored, catalog, product, content_hash)
    except ArtifactInvalid as exc:
        # Never used: compiled again here, and the fresh artifact replaces the bad one.
        caches.artifact_rejects += 1
        log.error("%s; compiling the model again", exc)
        return None
    caches.artifact_loads += 1
    return built


def _store(
    store: ArtifactStore, catalog: Catalog, product: Product, content_hash: str, backend: str, built: Configurator
) -> None:
    """Share a model compiled here; a failure to store is logged, the request still gets its answer."""
    try:
        store.save(catalog, product, content_hash, backend, built)
    except (SQLAlchemyError, ValueError, BudgetExceeded) as exc:
        # BudgetExceeded: the priced part (compiled to be stored with the model) is over its budget.
        log.warning("compiled model %s:%s not stored: %s", content_hash, product.code, exc)


def warm(
    catalog: Catalog, content_hash: str, *, backend: str | None = None, caches: ModelCaches | None = None
) -> int:
    """Load (or compile) every product of a published version so the first buyer does not wait.

    Returns the number of products ready (a product over the compile budget
    is skipped: its buyers get :class:`ModelTooLarge`; one another process is
    still preparing is skipped too). The parsed content is cached as well.
    """
    caches = caches or current_caches()
    caches.catalogs.put(content_hash, catalog)
    compiled = 0
    for product in catalog.products:
        try:
            get_configurator(catalog, product.code, content_hash, backend=backend, caches=caches)
        except (ModelTooLarge, ModelPreparing):
            continue
        compiled += 1
    return compiled


def cache_info(caches: ModelCaches | None = None) -> dict[str, int]:
    """Sizes and hit counts of the catalog caches (for diagnostics and tests)."""
    caches = caches or current_caches()
    return {
        "catalogs": len(caches.catalogs),
        "catalog_hits": caches.catalogs.hits,
        "catalog_misses": caches.catalogs.misses,
        "configurators": len(caches.configurators),
        "configurator_hits": caches.configurators.hits,
        "configurator_misses": caches.configurators.misses,
        "artifact_loads": caches.artifact_loads,
        "compiles": caches.compiles,
        "states": len(caches.states),
        "state_hits": caches.states.hits,
        "state_misses": caches.states.misses,
    }


def clear_caches(caches: ModelCaches | None = None) -> None:
    """Forget every parsed catalog and configurator (tests)."""
    (caches or current_caches()).clear()


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
