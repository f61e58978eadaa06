"""Compiled product models as shared artifacts, stored in the database.

Compiling a product's model is done once per model key (catalog content hash
and product) and backend, by :func:`prepare` when a version is published, and
stored in the ``compiled_models`` table (:class:`usecases.records.CompiledModelRecord`)
as a :mod:`configurator.artifacts` artifact. Every web worker and every new
process then loads it in milliseconds instead of compiling it again.

The database is the artifact store because every process already reaches it
(no shared file system to provision between hosts), a row is written in the
same transaction discipline as everything else, and the "preparing" marker
that other processes must see is a row too. Artifacts are a few hundred
kilobytes for the demo products and a few megabytes for the largest corpus
model, far below what ``bytea``/BLOB columns hold.

While a row says ``preparing``, a request for that model gets
:class:`ModelPreparing` (503 with ``Retry-After``) instead of compiling it
too. A marker older than :data:`PREPARING_STALE_S` is taken as abandoned (the
process that wrote it died): :func:`prepare` takes it over and a request
compiles the model itself, as it does for a model without any row.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, undefer

from catalog.snapshot import Catalog, Product
from configurator import Configurator
from configurator.artifacts import FORMAT_VERSION, ArtifactInvalid, dump, has_priced, load, load_priced
from configurator.build import build_model
from configurator.errors import BudgetExceeded
from usecases.errors import UseCaseError
from usecases.records import CompiledModelRecord

if TYPE_CHECKING:
    from usecases.compile_guard import CompileBudget

__all__ = [
    "OUTDATED",
    "PREPARING_STALE_S",
    "QUEUED",
    "ArtifactStore",
    "ModelPreparing",
    "PreparedModel",
    "StoredModel",
    "list_compiled",
    "model_key",
    "prepare",
    "prepare_version",
]

log = logging.getLogger("usecases.compiled_models")

PREPARING_STALE_S = 900.0
"""Seconds after which a "preparing" marker is taken as abandoned (longer than any compile budget)."""
RETRY_AFTER_S = 5
"""What a request for a model being prepared is told to wait before asking again."""
QUEUED = "queued for a compile job"
"""``detail`` of a "preparing" marker written when a version was published with a model too large
to compile within the request budget: the compile job (:func:`prepare_version` on the job engine)
owns it. Such a marker (and one a job wrote, ``job:<message id>``) never goes stale for
requests: they answer :class:`ModelPreparing` until the job stores the artifact, instead of
compiling a model known to exceed their budget."""
JOB_OWNER = "job:"
OUTDATED = "outdated"
"""Status :meth:`ArtifactStore.find` reports when the only stored artifact of a model is of another
:data:`~configurator.artifacts.FORMAT_VERSION` (written by an older release): it is never read, the
model is compiled again and stored in the current format beside it (older processes of a rolling
deployment keep using theirs)."""


class ModelPreparing(UseCaseError):
    """The product's model is being compiled by another process: ask again shortly (503, Retry-After)."""

    def __init__(self, product: str, content_hash: str, since: datetime) -> None:
        super().__init__(
            "model_preparing",
            f"product {product!r} is being prepared (its model is compiling since "
            f"{_aware(since).isoformat(timespec='seconds')}); try again in a few seconds",
            product=product,
            retry_after=RETRY_AFTER_S,
        )
        self.product = product
        self.content_hash = content_hash
        self.retry_after = RETRY_AFTER_S


def model_key(content_hash: str, product_code: str) -> str:
    """The engine's key of a product's model (``configurator.engine`` builds the same)."""
    return f"{content_hash}:{product_code}"


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class StoredModel:
    """What the store holds for one model key and backend."""

    record_id: int
    status: str
    compiled_backend: str | None
    artifact: bytes | None
    detail: str | None
    updated_at: datetime

    @property
    def abandoned(self) -> bool:
        if self.status != "preparing" or _job_marker(self.detail):
            return False
        return _now() - _aware(self.updated_at) > timedelta(seconds=PREPARING_STALE_S)


def _job_marker(detail: str | None) -> bool:
    """A marker the job engine owns (queued at publishing, or taken by a compile job)."""
    return detail is not None and (detail == QUEUED or detail.startswith(JOB_OWNER))


def _compile(catalog: Catalog, product: Product, content_hash: str, backend: str,
             node_budget: int | None, time_budget_s: float | None) -> Configurator:
    built = Configurator(
        product,
        catalog_key=content_hash,
        backend=backend,
        currency=catalog.currency,
        node_budget=node_budget,
        time_budget_s=time_budget_s,
    )
    # Compiled here too (stored with the model), not on the first click, within the model's budgets.
    built.priced_backend()
    return built


class ArtifactStore:
    """Compiled-model rows, read and written through sessions of ``session_factory``.

    Each call runs in its own short transaction: the use cases reach the
    store from inside a request without touching the request's transaction.
    """

    def __init__(self, session_factory: Callable[[], Session]) -> None:
        self.session_factory = session_factory

    def find(self, content_hash: str, product_code: str, backend: str) -> StoredModel | None:
        """The row of the current format; else an :data:`OUTDATED` one naming a row of another format
        (its artifact not read); else None."""
        key = model_key(content_hash, product_code)
        with self.session_factory() as session:
            row = _row(session, key, backend, with_artifact=True)
            if row is None:
                old = session.scalars(
                    select(CompiledModelRecord)
                    .where(
                        CompiledModelRecord.model_key == key,
                        CompiledModelRecord.backend == backend,
                        CompiledModelRecord.format_version != FORMAT_VERSION,
                        CompiledModelRecord.status == "ready",
                    )
                    .order_by(CompiledModelRecord.format_version.desc())
                    .limit(1)
                ).one_or_none()
                if old is None:
                    return None
                detail = f"artifact format {old.format_version}, this release reads format {FORMAT_VERSION}"
                return StoredModel(old.id, OUTDATED, old.compiled_backend, None, detail, old.updated_at)
            return StoredModel(row.id, row.status, row.compiled_backend, row.artifact, row.detail, row.updated_at)

    def save(self, catalog: Catalog, product: Product, content_hash: str, backend: str,
             built: Configurator) -> None:
        """Store ``built``'s compiled model (replacing a damaged or abandoned row)."""
        with self.session_factory() as session:
            _store_ready(session, content_hash, product, backend, built)
            session.commit()

    def save_artifact(self, content_hash: str, product_code: str, backend: str, data: bytes,
                      compiled_backend: str, seconds: float) -> None:
        """Store an artifact compiled elsewhere (the compile guard's child process)."""
        with self.session_factory() as session:
            store_artifact(session, content_hash, product_code, backend, data, compiled_backend, seconds)
            session.commit()

    def save_failure(self, content_hash: str, product: Product, backend: str, detail: str) -> None:
        with self.session_factory() as session:
            _store_failed(session, content_hash, product, backend, detail)
            session.commit()

    def load(self, stored: StoredModel, catalog: Catalog, product: Product, content_hash: str) -> Configurator:
        """The configurator of a ``ready`` row, built from its artifact (with the backend over the
        model with price auxiliaries from its priced part, when the product has them).

        :raise ArtifactInvalid: the artifact is damaged or not of this model, or its priced part is
            damaged or not of this product's priced model (names the record and the part).
        """
        assert stored.artifact is not None
        model = build_model(product, key=model_key(content_hash, product.code))
        what = f"record {stored.record_id} ({model.key})"
        solver = load(stored.artifact, model, what=what)
        built = Configurator(product, catalog_key=content_hash, currency=catalog.currency, solver=solver)
        priced_model = built.priced_part_model()
        if priced_model is not None:
            if has_priced(stored.artifact, what=what):
                built.use_priced_backend(load_priced(stored.artifact, priced_model, what=what))
            else:
                # Written by a tool that stored the backend alone (``dump(backend)``): usable, but its
                # first click compiles the priced backend. prepare and the compile jobs store both.
                log.warning("compiled model %s holds no priced part; the first click compiles it", what)
        elif has_priced(stored.artifact, what=what):
            raise ArtifactInvalid(f"{what} (priced part)", "the product's price has no auxiliaries to price")
        return built


def _row(session: Session, key: str, backend: str, *, with_artifact: bool = False) -> CompiledModelRecord | None:
    query = select(CompiledModelRecord).where(
        CompiledModelRecord.model_key == key,
        CompiledModelRecord.backend == backend,
        CompiledModelRecord.format_version == FORMAT_VERSION,
    )
    if with_artifact:
        query = query.options(undefer(CompiledModelRecord.artifact))
    return session.scalars(query, execution_options={"populate_existing": True}).one_or_none()


def _upsert(session: Session, content_hash: str, product: Product | str, backend: str) -> CompiledModelRecord:
    code = product if isinstance(product, str) else product.code
    key = model_key(content_hash, code)
    row = _row(session, key, backend)
    now = _now()
    if row is None:
        row = CompiledModelRecord(
            model_key=key, content_hash=content_hash, product_code=code, backend=backend,
            format_version=FORMAT_VERSION, status="preparing", created_at=now, updated_at=now,
        )
        session.add(row)
    row.updated_at = now
    return row


def _store_ready(session: Session, content_hash: str, product: Product, backend: str, built: Configurator) -> None:
    store_artifact(session, content_hash, product.code, backend, dump(built.backend, priced=built.priced_backend()),
                   built.backend.name, built.compile_seconds)


def store_artifact(session: Session, content_hash: str, product_code: str, backend: str, data: bytes,
                   compiled_backend: str, seconds: float) -> None:
    """Write (or replace) the ``ready`` row of a model key with ``data`` (flushed, not committed)."""
    row = _upsert(session, content_hash, product_code, backend)
    row.status = "ready"
    row.compiled_backend = compiled_backend
    row.artifact = data
    row.artifact_sha256 = hashlib.sha256(data).hexdigest()
    row.size_bytes = len(data)
    row.compile_seconds = seconds
    row.detail = None
    session.flush()


def stored_statuses(session: Session, content_hash: str, backend: str) -> dict[str, str]:
    """``{product code: status}`` of the rows of one content hash and backend (no artifact read)."""
    rows = session.execute(
        select(CompiledModelRecord.product_code, CompiledModelRecord.status).where(
            CompiledModelRecord.content_hash == content_hash,
            CompiledModelRecord.backend == backend,
            CompiledModelRecord.format_version == FORMAT_VERSION,
        )
    ).all()
    return {code: status for code, status in rows}


def mark_queued(session: Session, content_hash: str, product_codes: list[str], backend: str) -> None:
    """Write a :data:`QUEUED` "preparing" marker for each product without a ready artifact (in the
    caller's transaction: publishing commits it with the version)."""
    for code in product_codes:
        row = _upsert(session, content_hash, code, backend)
        if row.status != "ready":
            row.status = "preparing"
            row.detail = QUEUED
    session.flush()


def _store_failed(session: Session, content_hash: str, product: Product | str, backend: str, detail: str) -> None:
    mark_failed(session, _upsert(session, content_hash, product, backend), detail)


def mark_failed(session: Session, row: CompiledModelRecord, detail: str) -> None:
    """Record a model as over its budget, dropping any artifact (requests then answer "too large"
    with ``detail``)."""
    row.status = "failed"
    row.compiled_backend = None
    row.artifact = None
    row.artifact_sha256 = None
    row.size_bytes = None
    row.detail = detail
    row.updated_at = _now()
    session.flush()


@dataclass(frozen=True, slots=True)
class PreparedModel:
    """The outcome of preparing one product."""

    product: str
    status: str
    """``ready`` (compiled now), ``stored`` (a valid artifact was already there),
    ``failed`` (over the budget) or ``busy`` (another process is preparing it)."""
    backend: str | None
    seconds: float
    size_bytes: int | None
    detail: str | None = None


def prepare(
    session: Session,
    catalog: Catalog,
    content_hash: str,
    *,
    backend: str = "auto",
    node_budget: int | None = None,
    time_budget_s: float | None = None,
    force: bool = False,
    owner: str | None = None,
    compiled: Callable[[str], None] | None = None,
    capped: CompileBudget | None = None,
) -> list[PreparedModel]:
    """Compile every product of a catalog version and store its artifact.

    Meant to run off the request path (right after publishing, from a
    background job, or ``c2m model prepare``). It commits on ``session``: a
    "preparing" marker per product first (so requests answer
    :class:`ModelPreparing` instead of compiling too), then each artifact as
    soon as it is compiled. A product with a valid stored artifact is skipped
    unless ``force``; one with a fresh marker of another process is reported
    ``busy``. A model over the budget is stored as ``failed`` with the reason.

    With ``capped`` (the command line's compiles) each model compiles in a child process under
    that budget, its backend, nodes, time and address space (``RLIMIT_AS``,
    :func:`usecases.compile_guard.compile_in_children`), as a compile job's do, instead of in this
    process: ``capped`` replaces ``backend``, ``node_budget`` and ``time_budget_s``, and a model over
    it is stored ``failed`` naming the product, the model key and the limit.

    ``owner`` names a compile job (``job:<message id>``): its markers, and the :data:`QUEUED`
    markers publishing left for the job engine, are taken over instead of reported ``busy``, so a
    job redelivered after its worker died compiles what the dead one did not finish.
    ``compiled(product)`` is called before each compilation (counting, progress).
    """
    if capped is not None:
        backend = capped.backend
    if session.in_transaction():
        session.commit()
    todo, out = _take_markers(session, catalog, content_hash, backend, force=force, owner=owner)
    if capped is not None:
        return out + _prepare_in_children(session, catalog, content_hash, todo, capped, owner=owner,
                                          compiled=compiled)
    for product in todo:
        started = time.perf_counter()
        if compiled is not None:
            compiled(product.code)
        try:
            built = _compile(catalog, product, content_hash, backend, node_budget, time_budget_s)
        except BudgetExceeded as exc:
            _store_failed(session, content_hash, product, backend, str(exc))
            session.commit()
            out.append(PreparedModel(product.code, "failed", None, time.perf_counter() - started, None, str(exc)))
            continue
        except BaseException:
            # Leave no marker behind that would make requests wait for nothing.
            session.rollback()
            _forget_markers(session, content_hash, todo, backend, requeue=owner is not None)
            raise
        _store_ready(session, content_hash, product, backend, built)
        session.commit()
        row = _row(session, model_key(content_hash, product.code), backend)
        out.append(PreparedModel(product.code, "ready", built.backend.name, time.perf_counter() - started,
                                 row.size_bytes if row is not None else None))
    return out


def _take_markers(session: Session, catalog: Catalog, content_hash: str, backend: str, *, force: bool,
                  owner: str | None) -> tuple[list[Product], list[PreparedModel]]:
    """The marker phase of :func:`prepare` (committed): the products to compile, their markers
    taken, and the outcomes of the others."""
    todo: list[Product] = []
    out: list[PreparedModel] = []
    for product in catalog.products:
        row = _row(session, model_key(content_hash, product.code), backend)
        if row is not None and not force:
            if row.status == "ready":
                out.append(PreparedModel(product.code, "stored", row.compiled_backend, 0.0, row.size_bytes))
                continue
            ours = owner is not None and row.detail in (QUEUED, owner)
            if row.status == "preparing" and not ours and not StoredModel(
                row.id, row.status, None, None, row.detail, row.updated_at
            ).abandoned:
                out.append(PreparedModel(product.code, "busy", None, 0.0, None))
                continue
        marker = _upsert(session, content_hash, product, backend)
        marker.status = "preparing"
        marker.detail = owner
        todo.append(product)
    try:
        session.commit()
    except IntegrityError:  # another process inserted its markers first: it prepares them
        session.rollback()
        return _take_markers(session, catalog, content_hash, backend, force=False, owner=owner)
    return todo, out


def _prepare_in_children(
    session: Session,
    catalog: Catalog,
    content_hash: str,
    todo: list[Product],
    budget: CompileBudget,
    *,
    owner: str | None,
    compiled: Callable[[str], None] | None,
) -> list[PreparedModel]:
    """The compile phase of :func:`prepare` with ``capped``: each model in a capped child process."""
    from usecases.compile_guard import compile_in_children, too_large_detail

    out: list[PreparedModel] = []
    started = time.perf_counter()

    def starting(code: str) -> None:
        nonlocal started
        started = time.perf_counter()
        if compiled is not None:
            compiled(code)

    try:
        for done in compile_in_children(catalog, content_hash, [p.code for p in todo], budget,
                                        started=starting):
            seconds = time.perf_counter() - started
            if done.too_large is None:
                assert done.artifact is not None and done.backend is not None
                store_artifact(session, content_hash, done.product, budget.backend, done.artifact, done.backend,
                               done.seconds)
                session.commit()
                out.append(PreparedModel(done.product, "ready", done.backend, seconds, len(done.artifact)))
            else:
                detail = too_large_detail(done.too_large, model_key(content_hash, done.product))
                _store_failed(session, content_hash, done.product, budget.backend, detail)
                session.commit()
                out.append(PreparedModel(done.product, "failed", None, seconds, None, detail))
    except BaseException:
        # Leave no marker behind that would make requests wait for nothing (those stored are no
        # longer "preparing": they stay).
        session.rollback()
        _forget_markers(session, content_hash, todo, budget.backend, requeue=owner is not None)
        raise
    return out


def prepare_version(session: Session, code: str, number: int, *, force: bool = False,
                    owner: str | None = None, capped: CompileBudget | None = None) -> list[PreparedModel]:
    """:func:`prepare` for version ``number`` of catalog ``code``, with the application's
    backend and compile budgets: what publishing calls (directly, or from a background job,
    which passes its ``owner``); with ``capped`` (the command line), in capped child processes
    under that budget instead."""
    from usecases.catalogs import load_catalog, solver_settings

    loaded = load_catalog(session, code, number)
    backend, node_budget, time_budget_s = solver_settings()
    return prepare(
        session, loaded.catalog, loaded.content_hash, backend=backend,
        node_budget=node_budget, time_budget_s=time_budget_s, force=force, owner=owner, capped=capped,
    )


def _forget_markers(session: Session, content_hash: str, products: list[Product], backend: str,
                    *, requeue: bool = False) -> None:
    """Drop the markers of an interrupted preparation; a job's go back to :data:`QUEUED` (its retry
    takes them over, and requests keep waiting instead of compiling)."""
    for product in products:
        row = _row(session, model_key(content_hash, product.code), backend)
        if row is not None and row.status == "preparing":
            if requeue:
                row.detail = QUEUED
            else:
                session.delete(row)
    session.commit()


@dataclass(frozen=True, slots=True)
class CompiledModelInfo:
    record_id: int
    model_key: str
    product: str
    backend: str
    status: str
    compiled_backend: str | None
    size_bytes: int | None
    compile_seconds: float | None
    updated_at: datetime
    detail: str | None


def list_compiled(session: Session, content_hash: str | None = None) -> list[CompiledModelInfo]:
    """The stored compiled models (of one content hash when given), newest first."""
    query = select(CompiledModelRecord).order_by(CompiledModelRecord.updated_at.desc(), CompiledModelRecord.id)
    if content_hash is not None:
        query = query.where(CompiledModelRecord.content_hash == content_hash)
    return [
        CompiledModelInfo(r.id, r.model_key, r.product_code, r.backend, r.status, r.compiled_backend,
                          r.size_bytes, r.compile_seconds, r.updated_at, r.detail)
        for r in session.scalars(query)
    ]


def verify(stored: StoredModel, what: str) -> None:
    """Raise :class:`ArtifactInvalid` for a ``ready`` row without an artifact."""
    if stored.artifact is None:
        raise ArtifactInvalid(what, "the row is marked ready but holds no artifact")
